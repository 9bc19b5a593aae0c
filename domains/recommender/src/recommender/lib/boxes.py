"""What the page shows: boxes of items, each item with its provenance, and the assortment they come from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ASSORTMENT_INPUTS", "PAGES", "Assortment", "Box", "ShownItem", "age_text", "fits_page"]

#: The pages with boxes: the home page and the two gendered section pages.
PAGES = ("home", "men", "women")
#: The catalog columns the page service reads (the assortment keeps only these; see the card's feature_policy).
ASSORTMENT_INPUTS = ("item_id", "name", "category", "gender_target", "new_in", "added_at")


def fits_page(gender_target: object, page: str) -> bool:
    """Whether an article belongs on ``page``: its section or unisex; anything untagged fails closed."""
    if page == "home":
        return True
    return gender_target in (page, "unisex")


def age_text(seconds: float) -> str:
    """'just now', '3 hours ago', '2 days ago' — how the reason reads to a person."""
    minutes = seconds / 60
    if minutes < 60:
        return "just now" if minutes < 2 else f"{int(minutes)} minutes ago"
    hours = minutes / 60
    if hours < 24:
        return "1 hour ago" if hours < 2 else f"{int(hours)} hours ago"
    days = int(hours / 24)
    return "1 day ago" if days == 1 else f"{days} days ago"


@dataclass(frozen=True)
class ShownItem:
    """One article in a box, with why it is there."""

    item_id: int
    name: str
    category: str
    gender_target: str | None
    rank: int
    component: str
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        # Not dataclasses.asdict: its deep copies were half the page service's time.
        return {"item_id": self.item_id, "name": self.name, "category": self.category,
                "gender_target": self.gender_target, "rank": self.rank, "component": self.component,
                "reason": self.reason, "evidence": dict(self.evidence)}


@dataclass(frozen=True)
class Box:
    """A component's answer for one page view: its items and the version/config that produced them."""

    component: str
    items: tuple[ShownItem, ...]
    model_name: str
    model_version: str
    fallback: bool = False
    notes: dict[str, Any] = field(default_factory=dict)

    def item_ids(self) -> list[int]:
        return [i.item_id for i in self.items]


class Assortment:
    """The catalog, indexed for the page components (article id -> attributes, section pools)."""

    def __init__(self, catalog: pd.DataFrame) -> None:
        ordered = catalog[list(ASSORTMENT_INPUTS)].sort_values("item_id").reset_index(drop=True)
        if not np.array_equal(ordered["item_id"].to_numpy(), np.arange(len(ordered))):
            raise ValueError("catalog item ids must be 0..n-1 without gaps")
        self.size = len(ordered)
        self.gender = ordered["gender_target"].to_numpy(dtype=object)
        self.name = ordered["name"].to_numpy(dtype=object)
        self.category = ordered["category"].to_numpy(dtype=object)
        self.new_in = ordered["new_in"].to_numpy(dtype=bool)
        self.added_at = ordered["added_at"].astype("int64").to_numpy() // 10**9
        all_items = np.arange(self.size)
        self._pools = {page: all_items[[fits_page(g, page) for g in self.gender]] for page in PAGES}

    def for_page(self, page: str) -> np.ndarray:
        """Article ids that belong on ``page`` (the section's assortment plus unisex)."""
        if page not in self._pools:
            raise ValueError(f"unknown page {page!r}; pages are {', '.join(PAGES)}")
        return self._pools[page]

    def item(self, item_id: int, rank: int, component: str, reason: str, **evidence: Any) -> ShownItem:
        gender = self.gender[item_id]
        return ShownItem(int(item_id), str(self.name[item_id]), str(self.category[item_id]),
                         None if gender is None or (isinstance(gender, float) and np.isnan(gender)) else str(gender),
                         rank, component, reason, evidence)

    def arrived_by(self, at: dt.datetime) -> np.ndarray:
        return self.added_at <= int(pd.Timestamp(at).timestamp())
