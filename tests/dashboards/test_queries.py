"""The console's read side without Streamlit: the overview's first line and the prediction-log windows."""

from __future__ import annotations

import datetime as dt

from inloop.cards import Concern
from inloop.predictions import PredictionEntry, log_predictions
from inloop_console.queries import ConcernStatus, headline, prediction_page, traffic_window


def status(statement: str, state: str) -> ConcernStatus:
    return ConcernStatus("d", Concern(id="c-" + str(abs(hash(statement)) % 1000), statement=statement, raised_by="x",
                                      worst_case="x", user_story="x"), state)  # type: ignore[arg-type]


def test_headline_answers_the_stakeholders_question_first():
    assert headline([status("Aaa.", "holds"), status("Bbb.", "holds")]) == "All 2 concerns hold"
    assert headline([status("Aaa.", "holds"), status("Invoices stuck in review > 2 days.", "needs attention")]) == \
        "1 concern needs attention: Invoices stuck in review > 2 days"
    assert headline([status("Aaa.", "needs attention"), status("Bbb.", "needs attention"), status("Ccc.", "holds")]) == \
        "2 concerns need attention: Aaa; Bbb"
    assert headline([status("Aaa.", "holds"), status("Bbb.", "not yet checked")]) == \
        "All 1 checked concerns hold — 1 of 2 not yet checked"
    assert headline([]).startswith("No concerns are written down yet")


def test_traffic_window_counts_per_day_and_per_model_version_inside_the_window_only():
    now = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)
    entries = []
    for days_ago, version, live, n in ((0, "2", False, 5), (0, "2", True, 1), (1, "1", False, 3), (45, "0", False, 7)):
        for _ in range(n):
            entries.append(PredictionEntry(domain="shop", component="box", features={}, output={}, model_name="m",
                                           model_version=version, live_test_set=live,
                                           created_at=now - dt.timedelta(days=days_ago, hours=1)))
    entries.append(PredictionEntry(domain="other", component="box", features={}, output={}, created_at=now))
    log_predictions(entries)
    window = traffic_window("shop", 30, now=now)
    days, versions = window.per_day, window.per_version
    assert days == [{"day": "2026-11-27", "served": 3, "live_test_set": 0},
                    {"day": "2026-11-28", "served": 6, "live_test_set": 1}]
    assert [(v["version"], v["served"], v["days in service (in window)"]) for v in versions] == \
        [("2", 6, 0.0), ("1", 3, 1.0)]
    assert window.per_component == [{"component": "box", "served": 9, "live test share": 1 / 9,
                                     "mean latency (ms)": None}]


def test_prediction_pages_walk_the_log_newest_first_without_gaps():
    log_predictions(PredictionEntry(domain="shop", component="box", features={"i": i}, output={}) for i in range(7))
    seen, before = [], None
    while True:
        page = prediction_page("shop", before_id=before, limit=3)
        seen += [r["id"] for r in page.rows]
        if page.next_before_id is None:
            break
        before = page.next_before_id
    assert seen == [7, 6, 5, 4, 3, 2, 1]
