"""The "last seen" box: the account's recent history, merged across desktop and app.

This is the box of the seed's story. As launched it replayed everything the account looked at
in the last 90 days on any device, on any page. The post-mortem's fixes are its parameters:
``lookback_days`` (only what people still remember), ``context_page`` (only articles that
belong on the page) and ``only_device`` (on an account detected as shared, only what was seen
on this device).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from recommender.lib.boxes import Assortment, Box, age_text, fits_page
from recommender.lib.history import AccountHistory

__all__ = ["COMPONENT", "last_seen_box"]

COMPONENT = "last_seen_box"
_VERBS = {"view": "viewed", "add_to_cart": "added to cart", "purchase": "bought"}


def last_seen_box(history: AccountHistory, assortment: Assortment, *, now: dt.datetime, size: int,
                  lookback_days: int, context_page: str | None = None, only_device: str | None = None,
                  version: str = "rules") -> Box:
    """The ``size`` most recently seen distinct articles, newest first, each with when and where it was seen."""
    source = history.on_device(only_device) if only_device else history
    now_s = pd.Timestamp(now).timestamp()
    oldest = now_s - lookback_days * 86400
    seen: set[int] = set()
    hidden_off_context: list[int] = []
    items = []
    for idx in range(len(source) - 1, -1, -1):
        ts = float(source.ts[idx])
        if ts < oldest or len(items) == size:
            break
        item = int(source.item_id[idx])
        if item in seen:
            continue
        seen.add(item)
        if context_page is not None and not fits_page(assortment.gender[item], context_page):
            hidden_off_context.append(item)
            continue
        device = str(source.device[idx])
        reason = f"{_VERBS[str(source.event_type[idx])]} on {device} {age_text(now_s - ts)}"
        items.append(assortment.item(item, len(items) + 1, COMPONENT, reason, device=device,
                                     event_type=str(source.event_type[idx]),
                                     seen_at=dt.datetime.fromtimestamp(int(ts), dt.UTC).isoformat(),
                                     age_days=round((now_s - ts) / 86400, 2)))
    return Box(COMPONENT, tuple(items), "last_seen_rules", version,
               notes={"lookback_days": lookback_days, "context_page": context_page, "only_device": only_device,
                      "hidden_off_context": hidden_off_context})
