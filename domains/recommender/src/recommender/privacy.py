"""Who the recommender can forget, and where it keeps them (the ``subject_eraser`` hook).

The subject is a shop account (``account_id``): the shop's systems know accounts, devices and
events, never which person held the device, so forgetting a shopper forgets their account —
both people of a shared household account. The prediction log names the account
``account:<id>``; the clickstream, the shopper table, the train/test split and the served page
views are keyed by ``account_id``. The ALS model keeps article factors only (an account's vector
is folded in from its history at serving time), so no model artifact holds a row per account.
"""

from __future__ import annotations

import re

from inloop.privacy import SubjectEraser

__all__ = ["ShopAccounts", "eraser"]


class ShopAccounts(SubjectEraser):
    subject = "shop account (account id)"
    key_columns = ("account_id",)
    id_pattern = re.compile(r"^[0-9]{1,10}$")

    def normalise(self, subject_id: str) -> str:
        return str(int(super().normalise(subject_id)))  # "0042" is account 42

    def log_subject_ids(self, subject_id: str) -> list[str]:
        return [f"account:{subject_id}"]

    def mentions(self, subject_id: str) -> list[re.Pattern[str]]:
        # A bare number in free text is not the account; "account 42", "user_id=42", "account:42" are.
        return [re.compile(rf"\b(?:account|user|customer|shopper)(?:[ _-]?id)?\s*[:#=]?\s*{subject_id}\b",
                           re.IGNORECASE)]

    def not_covered(self) -> list[str]:
        return ["a running API's page service knows the account until POST /models/reload (a new one leaves it out)"]


eraser = ShopAccounts("recommender")
