"""Page-view traffic: the test week's visits as page requests, replayed through the page service.

Each session of the test week starts with a page view a second before its first event: the
person lands on their own section's page most of the time, otherwise on the home page. Replaying
the *same* requests through two configurations is how the off-context rate is compared before
and after the context filter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from inloop.predictions import PredictionEntry, log_predictions
from recommender.lib.page import PageService, PageView

__all__ = ["PageRequest", "replay_traffic", "page_requests_from_sessions"]


@dataclass(frozen=True)
class PageRequest:
    account_id: int
    page: str
    device: str
    at: dt.datetime
    person_id: int  # ground truth for evaluation and demos; the page service never sees it


def page_requests_from_sessions(events: pd.DataFrame, shoppers: pd.DataFrame, *, limit: int | None = None,
                       section_page_share: float = 0.6, seed: int = 7) -> list[PageRequest]:
    """One page request per session in ``events`` (up to ``limit``, a seeded sample), in time order."""
    starts = events.groupby("session_id", sort=False).first().reset_index()
    if limit is not None and len(starts) > limit:
        starts = starts.sample(n=limit, random_state=seed)
    starts = starts.sort_values("ts", kind="stable")
    section = shoppers.set_index("person_id")["section"]
    rng = np.random.default_rng(seed)
    on_section = rng.random(len(starts)) < section_page_share
    return [
        PageRequest(int(row.account_id), str(section[row.person_id]) if own else "home", str(row.device),
                    (row.ts - pd.Timedelta(seconds=1)).to_pydatetime(), int(row.person_id))
        for row, own in zip(starts.itertuples(index=False), on_section, strict=True)
    ]


def replay_traffic(service: PageService, requests: list[PageRequest], *, log: bool = True) -> list[PageView]:
    """Render every request; with ``log`` write all their box entries to the prediction log in one batch."""
    views: list[PageView] = []
    entries: list[PredictionEntry] = []
    for request in requests:
        view, view_entries = service.render(request.account_id, request.page, request.device, request.at, log=False)
        views.append(view)
        entries += view_entries
    if log:
        log_predictions(entries)
    return views
