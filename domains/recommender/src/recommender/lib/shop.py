"""A synthetic fashion shop: catalog, shoppers (with shared household accounts) and their clickstream.

Everything is generated from a seed, so the same :class:`ShopSpec` always gives the same
frames. The shop is built to contain the situations the project card worries about:

* articles for men, women or both (``gender_target``), in categories such as bags that are
  mostly women's, with a size range and a "new in" flag for the last week's arrivals;
* shoppers who browse mostly their own section, sometimes unisex articles and rarely the other
  section (presents), each with a style taste that gives a collaborative model something to learn;
* about 5 % shared household accounts: two people, one account, each on their own device
  (one on the desktop, one in the app) — the labelled ground truth for shared-account detection;
* new accounts that signed up in the last two weeks and have little history;
* time-ordered sessions on desktop and app with views, add-to-cart and purchases.

``person_id`` and the household labels are ground truth for evaluation only: the shop's
systems see accounts, devices and events, never who was holding the device.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

__all__ = [
    "CATEGORIES",
    "GENDER_TARGETS",
    "SECTIONS",
    "STYLES",
    "Shop",
    "ShopSpec",
    "generate_catalog",
    "generate_events",
    "generate_shop",
    "generate_shoppers",
]

GENDER_TARGETS = ("men", "women", "unisex")
#: Gendered page sections; the home page is not gendered.
SECTIONS = ("men", "women")
DEVICES = ("desktop", "app")
EVENT_TYPES = ("view", "add_to_cart", "purchase")

STYLES = ("classic", "business", "casual", "streetwear", "sporty", "outdoor",
          "boho", "minimal", "romantic", "rock", "preppy", "festive")

APPAREL_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
SHOE_SIZES = tuple(str(s) for s in range(36, 47))
ONE_SIZE = ("one size",)


@dataclass(frozen=True)
class _Category:
    share_men: float
    share_women: float
    size_system: str  # apparel, shoes, one_size
    median_price: float


# Shares of men / women articles per category; the rest are unisex. Bags are mostly women's:
# the seed's story is a woman's bag on the men's home page.
CATEGORIES: dict[str, _Category] = {
    "shirts": _Category(0.60, 0.20, "apparel", 39.0),
    "t-shirts": _Category(0.40, 0.40, "apparel", 19.0),
    "trousers": _Category(0.50, 0.40, "apparel", 59.0),
    "dresses": _Category(0.00, 1.00, "apparel", 69.0),
    "blouses": _Category(0.00, 1.00, "apparel", 45.0),
    "knitwear": _Category(0.40, 0.40, "apparel", 55.0),
    "jackets": _Category(0.45, 0.45, "apparel", 119.0),
    "shoes": _Category(0.45, 0.45, "shoes", 89.0),
    "sneakers": _Category(0.35, 0.35, "shoes", 99.0),
    "bags": _Category(0.15, 0.70, "one_size", 79.0),
    "accessories": _Category(0.30, 0.40, "one_size", 25.0),
}


@dataclass(frozen=True)
class ShopSpec:
    """Sizes and knobs of the synthetic shop (all deterministic for a given ``seed``)."""

    seed: int = 7
    n_items: int = 1500
    n_accounts: int = 2000
    shared_account_share: float = 0.05
    new_account_share: float = 0.08
    new_in_share: float = 0.08
    days: int = 42
    sessions_per_person: float = 7.0
    end: dt.datetime = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

    def __post_init__(self) -> None:
        problems = []
        if self.n_items < len(CATEGORIES) * len(STYLES):
            problems.append(f"n_items must be at least {len(CATEGORIES) * len(STYLES)} (one per category and style)")
        if self.n_accounts < 20:
            problems.append("n_accounts must be at least 20")
        for name in ("shared_account_share", "new_account_share", "new_in_share"):
            if not 0.0 <= getattr(self, name) <= 0.5:
                problems.append(f"{name} must be between 0 and 0.5")
        if self.days < 14:
            problems.append("days must be at least 14 (two weeks of history plus a test week)")
        if self.sessions_per_person <= 0:
            problems.append("sessions_per_person must be positive")
        if self.end.tzinfo is None:
            problems.append("end must be a timezone-aware (UTC) datetime")
        if problems:
            raise ValueError("invalid shop spec: " + "; ".join(problems))

    @property
    def start(self) -> dt.datetime:
        return self.end - dt.timedelta(days=self.days)

    def scaled(self, scale: float) -> ShopSpec:
        """The same shop with ``scale`` times the articles and accounts (``INLOOP_DEMO_DATA_SCALE``)."""
        return replace(self, n_items=max(len(CATEGORIES) * len(STYLES), round(self.n_items * scale)),
                       n_accounts=max(20, round(self.n_accounts * scale)))

    def rng(self, part: str) -> np.random.Generator:
        """An independent random stream per part of the shop, so each part is reproducible alone."""
        return np.random.default_rng([self.seed, sum(ord(c) * 31**i for i, c in enumerate(part)) % 2**32])


@dataclass(frozen=True)
class Shop:
    """The generated shop: one frame per table."""

    spec: ShopSpec
    catalog: pd.DataFrame
    shoppers: pd.DataFrame
    events: pd.DataFrame


def generate_shop(spec: ShopSpec | None = None) -> Shop:
    """Catalog, shoppers and their events for ``spec`` (the default demo shop when omitted)."""
    spec = spec or ShopSpec()
    catalog = generate_catalog(spec)
    shoppers = generate_shoppers(spec)
    return Shop(spec, catalog, shoppers, generate_events(catalog, shoppers, spec))


def generate_catalog(spec: ShopSpec) -> pd.DataFrame:
    """One row per article: category, gender target, style, sizes, price, popularity, arrival, new-in flag."""
    rng = spec.rng("catalog")
    n = spec.n_items
    names = list(CATEGORIES)
    # Every (category, style) pair exists at least once; the rest is drawn by category weight.
    base = [(c, s) for c in names for s in STYLES]
    weights = np.array([3, 3, 3, 2, 2, 2, 2, 3, 2, 2, 2], dtype=float)
    extra_cat = rng.choice(len(names), size=n - len(base), p=weights / weights.sum())
    extra_style = rng.integers(0, len(STYLES), size=n - len(base))
    pairs = base + [(names[c], STYLES[s]) for c, s in zip(extra_cat, extra_style, strict=True)]
    order = rng.permutation(n)
    categories = [pairs[i][0] for i in order]
    styles = [pairs[i][1] for i in order]

    genders, sizes, prices = [], [], []
    for category in categories:
        spec_c = CATEGORIES[category]
        u = rng.random()
        genders.append("men" if u < spec_c.share_men else "women" if u < spec_c.share_men + spec_c.share_women
                       else "unisex")
        if spec_c.size_system == "one_size":
            sizes.append(list(ONE_SIZE))
        else:
            pool = APPAREL_SIZES if spec_c.size_system == "apparel" else SHOE_SIZES
            available = [s for s in pool if rng.random() < 0.8]
            sizes.append(available or [pool[len(pool) // 2]])
        prices.append(round(float(spec_c.median_price * rng.lognormal(0.0, 0.35)), 2) - 0.01)

    # New arrivals of the last week are the "new in" assortment; everything else arrived before
    # the history starts. New articles get a popularity boost (they are promoted on launch).
    new_in = rng.random(n) < spec.new_in_share
    arrival_offset = rng.uniform(0, 7 * 86400, size=n)
    added_at = [
        spec.end - dt.timedelta(seconds=float(o)) if is_new else spec.start - dt.timedelta(days=int(d))
        for o, is_new, d in zip(arrival_offset, new_in, rng.integers(1, 365, size=n), strict=True)
    ]
    popularity = rng.lognormal(0.0, 1.0, size=n) * np.where(new_in, 2.0, 1.0)

    catalog = pd.DataFrame({
        "item_id": np.arange(n, dtype=np.int64),
        "name": [f"{_label(g)} {c.rstrip('s') if c != 'accessories' else 'accessory'} · {s}"
                 for g, c, s in zip(genders, categories, styles, strict=True)],
        "category": categories,
        "gender_target": genders,
        "style": styles,
        "sizes": sizes,
        "price": np.array(prices),
        "popularity": popularity,
        "added_at": pd.to_datetime(added_at, utc=True),
        "new_in": new_in,
    })
    return catalog


def _label(gender: str) -> str:
    return {"men": "Men's", "women": "Women's", "unisex": "Unisex"}[gender]


def generate_shoppers(spec: ShopSpec) -> pd.DataFrame:
    """One row per person; a shared household account has two rows with the same ``account_id``.

    Columns: ``person_id``, ``account_id``, ``section`` (the section the person shops),
    ``own_section_share`` / ``unisex_share`` (how their browsing splits), ``apparel_size``,
    ``shoe_size``, ``style_taste`` (weights over :data:`STYLES`), ``devices``, ``activity``,
    ``signed_up_at``, and the labels ``shared_account`` and ``new_account``.
    """
    rng = spec.rng("shoppers")
    n_accounts = spec.n_accounts
    n_shared = round(n_accounts * spec.shared_account_share)
    shared = np.zeros(n_accounts, dtype=bool)
    shared[rng.choice(n_accounts, size=n_shared, replace=False)] = True
    new = rng.random(n_accounts) < spec.new_account_share

    rows = []
    for account_id in range(n_accounts):
        signed_up = (spec.end - dt.timedelta(seconds=float(rng.uniform(0, 14 * 86400))) if new[account_id]
                     else spec.start - dt.timedelta(days=int(rng.integers(1, 1500))))
        if shared[account_id]:
            # A household: mostly a couple, sometimes two people shopping the same section
            # (parent and grown-up child) who differ in size and taste. One uses the family
            # desktop, the other the app on their phone.
            first = "men" if rng.random() < 0.5 else "women"
            second = ("women" if first == "men" else "men") if rng.random() < 0.8 else first
            people = [(first, ("desktop",)), (second, ("app",))]
        else:
            section = "women" if rng.random() < 0.55 else "men"
            devices = [("desktop",), ("app",), ("desktop", "app")][rng.choice(3, p=[0.3, 0.4, 0.3])]
            people = [(section, devices)]
        for section, devices in people:
            own = float(rng.uniform(0.75, 0.95))
            unisex = float(rng.uniform(0.6, 0.95)) * (1.0 - own)
            taste = rng.dirichlet(np.full(len(STYLES), 0.25))
            rows.append({
                "account_id": account_id,
                "section": section,
                "own_section_share": own,
                "unisex_share": unisex,
                "apparel_size": APPAREL_SIZES[int(np.clip(rng.normal(2.5 if section == "men" else 1.6, 1.0), 0, 5))],
                "shoe_size": str(int(np.clip(round(rng.normal(43 if section == "men" else 38.5, 1.5)), 36, 46))),
                "style_taste": taste.tolist(),
                "devices": list(devices),
                "activity": float(rng.lognormal(0.0, 0.5)) * (0.35 if new[account_id] else 1.0),
                "signed_up_at": signed_up,
                "shared_account": bool(shared[account_id]),
                "new_account": bool(new[account_id]),
            })
    shoppers = pd.DataFrame(rows)
    shoppers.insert(0, "person_id", np.arange(len(shoppers), dtype=np.int64))
    shoppers["signed_up_at"] = pd.to_datetime(shoppers["signed_up_at"], utc=True)
    return shoppers


def generate_events(catalog: pd.DataFrame, shoppers: pd.DataFrame, spec: ShopSpec) -> pd.DataFrame:
    """The clickstream: sessions of views, add-to-cart and purchases, ordered by time.

    Each session has a mission (a section and a style, drawn from the person's habits); the
    articles viewed follow it most of the time, weighted by popularity, which is what makes
    co-occurrence and collaborative filtering informative. An article is only viewed after it
    arrived; add-to-cart and purchase need the person's size to be available.
    """
    rng = spec.rng("events")
    item_section = catalog["gender_target"].to_numpy()
    item_style = catalog["style"].map({s: i for i, s in enumerate(STYLES)}).to_numpy()
    popularity = catalog["popularity"].to_numpy(dtype=float)
    added_at = catalog["added_at"].astype("int64").to_numpy() // 10**9
    item_sizes = catalog["sizes"].tolist()

    pools: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    for section in GENDER_TARGETS:
        for style in range(-1, len(STYLES)):
            mask = (item_section == section) & ((item_style == style) if style >= 0 else True)
            ids = np.flatnonzero(mask)
            if len(ids):
                weights = popularity[ids]
                pools[(section, style)] = (ids, np.cumsum(weights) / weights.sum())

    start_s = int(spec.start.timestamp())
    end_s = int(spec.end.timestamp())
    columns: dict[str, list] = {k: [] for k in ("ts", "account_id", "person_id", "device", "session_id",
                                                "item_id", "event_type", "size")}
    session_id = 0
    for person in shoppers.itertuples(index=False):
        first = max(start_s, int(person.signed_up_at.timestamp()))
        if first >= end_s:
            continue
        span_days = (end_s - first) / 86400
        n_sessions = rng.poisson(spec.sessions_per_person * person.activity * span_days / spec.days)
        if person.new_account:
            n_sessions = max(1, n_sessions)
        other = "women" if person.section == "men" else "men"
        section_p = np.array([person.own_section_share, person.unisex_share,
                              1.0 - person.own_section_share - person.unisex_share])
        taste = np.asarray(person.style_taste)
        for t0 in np.sort(rng.uniform(first, end_s, size=n_sessions)):
            device = person.devices[rng.integers(len(person.devices))]
            section = (person.section, "unisex", other)[rng.choice(3, p=section_p / section_p.sum())]
            style = int(rng.choice(len(STYLES), p=taste))
            t = float(t0)
            carted = []
            for _ in range(1 + rng.poisson(4)):
                key = (section, style) if rng.random() < 0.75 and (section, style) in pools else (section, -1)
                ids, cdf = pools[key]
                item = int(ids[min(np.searchsorted(cdf, rng.random()), len(ids) - 1)])
                if added_at[item] > t or t >= end_s:
                    continue  # not in the shop yet (or the session ran past the end): no view
                _event(columns, t, person, device, session_id, item, "view", None)
                size = _wanted_size(CATEGORIES[catalog.at[item, "category"]].size_system, person)
                if size in item_sizes[item] and rng.random() < 0.12 and t + 20 < end_s:
                    _event(columns, t + 20, person, device, session_id, item, "add_to_cart", size)
                    carted.append((item, size))
                t += float(rng.uniform(30, 150))
            for item, size in carted:
                if rng.random() < 0.35 and t < end_s:
                    _event(columns, t, person, device, session_id, item, "purchase", size)
            session_id += 1

    events = pd.DataFrame(columns)
    events["ts"] = pd.to_datetime(np.array(events["ts"], dtype=float) * 1e9, utc=True).floor("s")
    events = events.sort_values(["ts", "session_id"], kind="stable").reset_index(drop=True)
    events.insert(0, "event_id", np.arange(len(events), dtype=np.int64))
    for column in ("account_id", "person_id", "session_id", "item_id"):
        events[column] = events[column].astype(np.int64)
    return events


def _wanted_size(size_system: str, person) -> str:  # type: ignore[no-untyped-def]
    if size_system == "one_size":
        return ONE_SIZE[0]
    return person.apparel_size if size_system == "apparel" else person.shoe_size


def _event(columns: dict[str, list], t: float, person, device: str, session_id: int, item: int,  # type: ignore[no-untyped-def]
           event_type: str, size: str | None) -> None:
    columns["ts"].append(t)
    columns["account_id"].append(person.account_id)
    columns["person_id"].append(person.person_id)
    columns["device"].append(device)
    columns["session_id"].append(session_id)
    columns["item_id"].append(item)
    columns["event_type"].append(event_type)
    columns["size"].append(size)
