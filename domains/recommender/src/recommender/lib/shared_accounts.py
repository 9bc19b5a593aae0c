"""Shared-account detection: does an account's history mix two people's browsing?

A household shares one account on different devices (the family desktop, a phone with the
app). Its devices then tell different stories: one mostly browses the men's section, the
other the women's; or both browse the same section in clearly different sizes. A single
person on two devices tells the same story on both. The detector compares devices, so it
needs enough history on each of them; with too little it says "not detected", never guesses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recommender.lib.history import AccountHistory, HistoryStore
from recommender.lib.shop import APPAREL_SIZES

__all__ = ["SharedAccountVerdict", "detect_shared_account", "detect_shared_accounts", "label_detection"]

#: Interactions with gendered articles a device needs before its section mix is trusted.
MIN_GENDERED_EVENTS = 5
#: Difference in the share of women's articles between two devices that marks two profiles.
SECTION_GAP = 0.5
#: Apparel sizes (steps on XS..XXL) that two devices' carts must differ by.
SIZE_GAP = 2


@dataclass(frozen=True)
class SharedAccountVerdict:
    shared: bool
    reason: str
    per_device: dict[str, dict[str, float | int | str | None]] = field(default_factory=dict)


def detect_shared_account(history: AccountHistory, item_gender: np.ndarray) -> SharedAccountVerdict:
    """Judge one account from its history; ``item_gender`` maps article id to its gender target."""
    sizes = history.sizes_by_device()
    profiles: dict[str, dict[str, float | int | str | None]] = {}
    for device in np.unique(history.device):
        on_device = history.device == device
        targets = item_gender[history.item_id[on_device]]
        gendered = targets[(targets == "men") | (targets == "women")]
        size_steps = [APPAREL_SIZES.index(s) for s in sizes.get(str(device), []) if s in APPAREL_SIZES]
        profiles[str(device)] = {
            "gendered_events": len(gendered),
            "women_share": float(np.mean(gendered == "women")) if len(gendered) else None,
            "median_size": APPAREL_SIZES[sorted(size_steps)[len(size_steps) // 2]] if len(size_steps) >= 2 else None,
        }
    trusted = {d: p for d, p in profiles.items() if int(p["gendered_events"] or 0) >= MIN_GENDERED_EVENTS}
    if len(trusted) < 2:
        return SharedAccountVerdict(False, "fewer than two devices with enough history to compare", profiles)
    shares = {d: float(p["women_share"]) for d, p in trusted.items()}  # type: ignore[arg-type]
    (low_dev, low), (high_dev, high) = min(shares.items(), key=lambda kv: kv[1]), max(shares.items(),
                                                                                     key=lambda kv: kv[1])
    if high - low >= SECTION_GAP:
        return SharedAccountVerdict(
            True, f"{high_dev} browses {high:.0%} women's articles, {low_dev} {low:.0%}", profiles)
    sized = {d: p["median_size"] for d, p in trusted.items() if p["median_size"] is not None}
    if len(sized) >= 2:
        steps = {d: APPAREL_SIZES.index(str(s)) for d, s in sized.items()}
        small, large = min(steps, key=steps.__getitem__), max(steps, key=steps.__getitem__)
        if steps[large] - steps[small] >= SIZE_GAP:
            return SharedAccountVerdict(
                True, f"{small} buys size {sized[small]}, {large} size {sized[large]}", profiles)
    return SharedAccountVerdict(False, "all devices browse alike", profiles)


def detect_shared_accounts(events: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    """One verdict per account in ``events``: columns ``account_id``, ``shared_detected``, ``reason``."""
    item_gender = catalog.sort_values("item_id")["gender_target"].to_numpy(dtype=object)
    store = HistoryStore(events)
    rows = []
    for account_id in store.accounts():
        verdict = detect_shared_account(store.of(account_id), item_gender)
        rows.append({"account_id": account_id, "shared_detected": verdict.shared, "reason": verdict.reason})
    return pd.DataFrame(rows, columns=["account_id", "shared_detected", "reason"])


def label_detection(flags: pd.DataFrame, events: pd.DataFrame, shoppers: pd.DataFrame,
                    min_events: int = 5) -> pd.DataFrame:
    """Join the detector's verdicts with the synthetic ground truth (evaluation only).

    Adds ``shared`` (the account is a labelled household) and ``both_active`` (at least two of
    its people have ``min_events`` events in ``events``, so its history really mixes two profiles).
    """
    labels = shoppers.groupby("account_id")["shared_account"].first()
    active = events.groupby(["account_id", "person_id"]).size().ge(min_events).groupby("account_id").sum()
    return flags.assign(shared=flags["account_id"].map(labels).fillna(False).astype(bool),
                        both_active=flags["account_id"].map(active).fillna(0).ge(2))
