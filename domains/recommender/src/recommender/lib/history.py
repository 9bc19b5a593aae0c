"""Account histories: the clickstream as the page service and the models see it.

The shop's systems know accounts, devices and events — never which person held the device —
so everything here is keyed by ``account_id``. :func:`time_split` cuts the clickstream into a
training window and the following test week, the way the model will be used: trained on the
past, judged on what customers did next.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["EVENT_WEIGHTS", "HISTORY_INPUTS", "AccountHistory", "HistoryStore", "TimeSplit", "interaction_matrix", "time_split"]

#: How much an event says about interest: a purchase more than a cart, a cart more than a view.
EVENT_WEIGHTS = {"view": 1.0, "add_to_cart": 3.0, "purchase": 5.0}
#: The clickstream columns the page service reads (and nothing else: the store keeps only these). Held
#: against the card's feature_policy (``recommender.lib.feature_inputs``); ``person_id`` is not among them.
HISTORY_INPUTS = ("account_id", "ts", "item_id", "device", "event_type", "size")


@dataclass(frozen=True)
class TimeSplit:
    """Events before ``cutoff`` train the model; the week from ``cutoff`` on tests it."""

    train: pd.DataFrame
    test: pd.DataFrame
    cutoff: pd.Timestamp


def time_split(events: pd.DataFrame, test_days: int = 7) -> TimeSplit:
    """Split the clickstream at ``test_days`` before its end (time-based: no future leaks into training)."""
    if events.empty:
        raise ValueError("cannot split an empty clickstream")
    if test_days < 1:
        raise ValueError("test_days must be at least 1")
    end = events["ts"].max().ceil("D")
    cutoff = end - pd.Timedelta(days=test_days)
    if events["ts"].min() >= cutoff:
        raise ValueError(f"the clickstream is shorter than the {test_days}-day test window: nothing to train on")
    before = events["ts"] < cutoff
    return TimeSplit(events[before].reset_index(drop=True), events[~before].reset_index(drop=True), cutoff)


def interaction_matrix(events: pd.DataFrame, n_accounts: int, n_items: int) -> sp.csr_matrix:
    """Accounts x articles, each cell the summed event weights (views 1, carts 3, purchases 5)."""
    weights = events["event_type"].map(EVENT_WEIGHTS).to_numpy(dtype=np.float32)
    matrix = sp.coo_matrix((weights, (events["account_id"].to_numpy(), events["item_id"].to_numpy())),
                           shape=(n_accounts, n_items), dtype=np.float32).tocsr()
    matrix.sum_duplicates()
    return matrix


@dataclass(frozen=True)
class AccountHistory:
    """One account's events up to a moment, oldest first (parallel arrays)."""

    account_id: int
    ts: np.ndarray  # seconds since the epoch
    item_id: np.ndarray
    device: np.ndarray
    event_type: np.ndarray
    size: np.ndarray  # the size chosen for carts and purchases, None for views

    def __len__(self) -> int:
        return len(self.ts)

    def on_device(self, device: str) -> AccountHistory:
        keep = self.device == device
        return AccountHistory(self.account_id, self.ts[keep], self.item_id[keep], self.device[keep],
                              self.event_type[keep], self.size[keep])

    def sizes_by_device(self) -> dict[str, list[str]]:
        """Sizes chosen in carts and purchases, per device."""
        out: dict[str, list[str]] = {}
        for device, size in zip(self.device, self.size, strict=True):
            if size is not None:
                out.setdefault(str(device), []).append(str(size))
        return out

    def weighted_items(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct articles and their summed event weights (the model's view of the account)."""
        return self._weighted

    @cached_property
    def _weighted(self) -> tuple[np.ndarray, np.ndarray]:  # every box of a page view asks for it
        if not len(self):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        weights = np.array([EVENT_WEIGHTS[e] for e in self.event_type], dtype=np.float32)
        items, inverse = np.unique(self.item_id, return_inverse=True)
        return items, np.bincount(inverse, weights=weights).astype(np.float32)

    def records(self) -> list[dict[str, object]]:
        """Every event as a plain record: the exact input the prediction log keeps, so a box can be re-run."""
        return [{"ts": dt.datetime.fromtimestamp(int(t), dt.UTC).isoformat(), "item_id": int(i), "device": str(d),
                 "event_type": str(e), "size": s}
                for t, i, d, e, s in zip(self.ts, self.item_id, self.device, self.event_type, self.size, strict=True)]


class HistoryStore:
    """Every account's clickstream, indexed for "history as of time t" look-ups."""

    def __init__(self, events: pd.DataFrame) -> None:
        ordered = events[list(HISTORY_INPUTS)].sort_values(["account_id", "ts"], kind="stable")
        self._ts = ordered["ts"].astype("int64").to_numpy() // 10**9
        self._item = ordered["item_id"].to_numpy(dtype=np.int64)
        self._device = ordered["device"].to_numpy(dtype=object)
        self._event = ordered["event_type"].to_numpy(dtype=object)
        self._size = ordered["size"].astype(object).where(ordered["size"].notna(), None).to_numpy(dtype=object)
        accounts = ordered["account_id"].to_numpy()
        ids, starts = np.unique(accounts, return_index=True)
        ends = np.append(starts[1:], len(accounts))
        self._ranges = {int(a): (int(s), int(e)) for a, s, e in zip(ids, starts, ends, strict=True)}

    def accounts(self) -> list[int]:
        return list(self._ranges)

    def of(self, account_id: int, before: dt.datetime | pd.Timestamp | None = None) -> AccountHistory:
        """The account's events strictly before ``before`` (all of them when None)."""
        start, end = self._ranges.get(int(account_id), (0, 0))
        if before is not None and end > start:
            limit = int(pd.Timestamp(before).timestamp())
            end = start + int(np.searchsorted(self._ts[start:end], limit, side="left"))
        window = slice(start, end)
        return AccountHistory(int(account_id), self._ts[window], self._item[window], self._device[window],
                              self._event[window], self._size[window])
