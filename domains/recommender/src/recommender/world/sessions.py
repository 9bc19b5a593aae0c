"""A simulated day of the shop: sessions through the real ``GET /recommender/pages/{page}``, the clicks and
purchases that follow within the session on ``POST /labels``, and the day's catalog delivery."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import httpx
import numpy as np
import pandas as pd

from inloop.world import SIMULATED_REQUEST_PREFIX, SimulatedDay, WorldApi
from recommender.lib.shop import CATEGORIES, STYLES, ShopSpec, generate_catalog, generate_shoppers
from recommender.live import write_delivery
from recommender.world.incidents import apply_to_delivery
from recommender.world.rates import RATES, SEED, Rates

__all__ = ["Session", "arrive", "deliver_catalog", "sessions_for_day"]


@dataclass(frozen=True)
class Session:
    """One person on one device: the pages they open, and whether they click (and buy) after each."""

    session_id: str
    account_id: int
    device: str
    pages: tuple[str, ...]
    clicks: tuple[bool, ...]
    purchases: tuple[bool, ...]
    shared_account: bool  # ground truth the world knows and the shop does not


@lru_cache(maxsize=4)
def _shoppers(scale: float) -> pd.DataFrame:
    """The shop's people, as the API's shop has them (the same seeded spec at the same scale)."""
    return generate_shoppers(ShopSpec().scaled(scale))


def sessions_for_day(day: SimulatedDay, active: set[str] | frozenset[str] = frozenset(), *,
                     scale: float = 1.0, rates: Rates = RATES) -> list[Session]:
    """The day's sessions, seeded by the day; ``shared-account-surge`` brings mostly shared households."""
    rng = np.random.default_rng(SEED + day.index)
    people = _shoppers(scale)
    households = people[people["shared_account"]]
    singles = people[~people["shared_account"]]
    shared_share = rates.surge_shared_share if "shared-account-surge" in active else None
    # Ordinary traffic: anyone, so households come at their share of the people (5 % of accounts).
    others = people if shared_share is None else singles
    out = []
    for n in range(rates.sessions):
        if shared_share is not None and len(households) and rng.random() < shared_share:
            person = households.iloc[int(rng.integers(len(households)))]
        else:
            person = others.iloc[int(rng.integers(len(others)))]
        devices = list(person["devices"])
        views = int(rng.integers(1, rates.max_views_per_session + 1))
        # The home page first, then mostly the person's own section.
        pages = ("home", *(str(person["section"]) if rng.random() < 0.8 else "home" for _ in range(views - 1)))
        clicks = tuple(bool(c) for c in rng.random(views) < rates.click_share)
        buys = tuple(c and bool(b) for c, b in zip(clicks, rng.random(views) < rates.purchase_share, strict=True))
        out.append(Session(f"d{day.index}-s{n}", int(person["account_id"]), devices[int(rng.integers(len(devices)))],
                           pages, clicks, buys, bool(person["shared_account"])))
    return out


def deliver_catalog(day: SimulatedDay, active: set[str] | frozenset[str] = frozenset(), *,
                    rates: Rates = RATES) -> str:
    """The merchandising team's delivery of the day's new articles into the catalog feed; returns its id."""
    spec = ShopSpec(seed=SEED + day.index, n_items=len(CATEGORIES) * len(STYLES))
    articles = generate_catalog(spec).head(rates.new_articles).copy()
    articles["item_id"] = 1_000_000 + day.index * 1000 + np.arange(len(articles))
    articles["added_at"] = pd.Timestamp(day.start)
    articles["new_in"] = True
    delivery = apply_to_delivery(articles, set(active), rates.untagged_share)
    return write_delivery(f"world-day-{day.index:05d}", delivery)


def _label(client: httpx.Client, token: str, body: dict[str, object]) -> None:
    """Record a click or purchase on the box's logged request; the log is written just off the request path."""
    for _ in range(100):
        resp = client.post("/labels", json=body, headers={"Authorization": f"Bearer {token}"})
        if resp.status_code == 201:
            return
        if resp.status_code != 404 or "no logged prediction" not in resp.text:
            raise RuntimeError(f"label refused: {resp.status_code} {resp.text[:200]}")
        time.sleep(0.1)  # the page view's entry is not in the log yet
    raise RuntimeError(f"label for {body['request_id']} refused: its page view never reached the prediction log")


def arrive(day: SimulatedDay, api: WorldApi, active: set[str], *, scale: float | None = None,
           rates: Rates = RATES) -> int:
    """The day in the shop: the catalog delivery, then every session's page views, clicks and purchases.

    Returns how many page views were served. A page refused for another reason than an account the shop
    no longer knows (erased: 404) is raised, not dropped.
    """
    if scale is None:
        from inloop.settings import get_settings

        scale = get_settings().demo_data_scale
    deliver_catalog(day, active, rates=rates)
    rng = np.random.default_rng(SEED + 1_000_000 + day.index)
    served = 0
    labels: list[dict[str, object]] = []
    with httpx.Client(base_url=api.base_url, timeout=30) as client:
        for session in sessions_for_day(day, active, scale=scale, rates=rates):
            for n, page in enumerate(session.pages):
                resp = client.get(
                    f"/recommender/pages/{page}",
                    params={"user_id": session.account_id, "device": session.device},
                    headers={"Authorization": f"Bearer {api.token}",
                             # marks the traffic as simulated in the prediction log (client_request_id)
                             "X-Request-ID": f"{SIMULATED_REQUEST_PREFIX}{session.session_id}-v{n}"},
                )
                if resp.status_code == 404:
                    break  # an erased account: the shop does not know it any more
                if resp.status_code != 200:
                    raise RuntimeError(f"page {page} for account {session.account_id} refused: "
                                       f"{resp.status_code} {resp.text[:200]}")
                served += 1
                if not session.clicks[n]:
                    continue
                boxes = [b for b in resp.json()["boxes"] if b["items"]]
                if not boxes:
                    continue
                box = boxes[int(rng.integers(len(boxes)))]
                item = box["items"][int(rng.integers(len(box["items"])))]["item_id"]
                subject = f"account:{session.account_id}"
                labels.append({"domain": "recommender", "name": "click", "value": float(item),
                               "request_id": box["request_id"], "subject_id": subject})
                if session.purchases[n]:
                    labels.append({"domain": "recommender", "name": "purchase", "value": float(item),
                                   "request_id": box["request_id"], "subject_id": subject})
        # Within the day's sessions, after their page views: once their log entries can be named.
        for body in labels:
            _label(client, api.token, body)
    return served
