"""Offline recall@10 against the box's logged click-through, per model version (ML Test Score model-2).

Offline, every registered ALS version was judged on recall@10 of the held-out week (MLflow metric
``model_recall_at_10``, the promotion gate's figure). Online, every "recommended for you" box the page
service served is in the prediction log with the model version that filled it; linked to the session that
followed the page view (same account, first event one second after it — :func:`recommender.lib.online.box_clicks`
links page views the same way), an item the shopper then viewed, carted or bought is a click.

The card's ``offline-online-agreement`` concern states how many clicks per impression one point of offline
recall@10 has brought (``relation.scale``) and the largest shortfall of live click-through below that
(its threshold): a version that looked good offline but is clicked less raises an alert. The relation is the
platform's (:mod:`inloop.offline_online`), as credit's offline vs live-test-set AUC.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import sqlalchemy as sa

from inloop.cards import Concern
from inloop.offline_online import MetricPair, Relation, relation
from inloop.readiness import rubric
from recommender.lib.recommendations import COMPONENT as RECOMMENDATIONS

__all__ = ["OFFLINE_METRIC", "logged_box_click_through", "relation_from_log"]

#: The offline figure the promotion gate reads, as logged with every trained model's MLflow run.
OFFLINE_METRIC = "model_recall_at_10"
#: A version's live click-through is judged once its box was shown this many times (linked to a session).
MIN_IMPRESSIONS = 200


def _logged_boxes(db_url: str | None, last: int) -> list[tuple[str, int, pd.Timestamp, list[int]]]:
    from inloop import db
    from inloop.db.models import Prediction

    query = (sa.select(Prediction.model_version, Prediction.features, Prediction.output)
             .where(Prediction.domain == "recommender", Prediction.component == RECOMMENDATIONS)
             .order_by(Prediction.id.desc()).limit(last))
    out = []
    with db.read_session(db_url) as sess:
        for version, features, output in sess.execute(query):
            try:
                at = pd.Timestamp(features["at"])
                items = [int(i["item_id"]) for i in (output or {}).get("items", [])]
                out.append((str(version), int(features["account_id"]), at, items))
            except (KeyError, TypeError, ValueError):
                continue  # an entry written by another shape of the page service: not judged
    return out


def logged_box_click_through(events: pd.DataFrame, *, db_url: str | None = None, last: int = 20_000) -> pd.DataFrame:
    """Per model version: the recommendations boxes in the prediction log (the newest ``last``), linked to the
    session that followed each page view; impressions, clicks and click-through (clicks per impression)."""
    columns = ["model_version", "page_views", "unlinked", "impressions", "clicks", "ctr"]
    boxes = _logged_boxes(db_url, last)
    if not boxes or events.empty:
        return pd.DataFrame(columns=columns)
    starts = events.groupby("session_id").agg(account_id=("account_id", "first"), ts=("ts", "min"))
    session_of = {(int(r.account_id), pd.Timestamp(r.ts)): int(sid) for sid, r in starts.iterrows()}
    items_of = events.groupby("session_id")["item_id"].agg(lambda s: set(s.astype(int).tolist()))
    per: dict[str, dict[str, int]] = {}
    for version, account_id, at, items in boxes:
        row = per.setdefault(version, {"page_views": 0, "unlinked": 0, "impressions": 0, "clicks": 0})
        session = session_of.get((account_id, at + pd.Timedelta(seconds=1)))
        if session is None:
            row["unlinked"] += 1
            continue
        engaged = items_of[session]
        row["page_views"] += 1
        row["impressions"] += len(items)
        row["clicks"] += sum(1 for i in items if i in engaged)
    table = pd.DataFrame([{"model_version": v, **r} for v, r in sorted(per.items())], columns=columns[:-1])
    table["ctr"] = table["clicks"] / table["impressions"].where(table["impressions"] > 0)
    return table[columns]


@rubric("model-2", how="automated", what="offline recall@10 vs the box's logged click-through per model version "
        "from the prediction log, judged on the card's scale and tolerance; the concern check alerts past it")
def relation_from_log(events: pd.DataFrame, concern: Concern, offline: Callable[[list[str]], dict[str, float]] | dict[str, float],
                      *, db_url: str | None = None, min_impressions: int = MIN_IMPRESSIONS) -> Relation | None:
    """Every served version with an offline recall@10: its live click-through against ``scale`` x recall.

    ``offline`` gives each logged version's offline recall@10: a mapping (label -> recall), or a function of
    the logged labels (the pipeline's reads MLflow: :func:`recommender.defs.offline_online.offline_recall_by_version`).
    """
    if concern.relation is None or concern.threshold is None:
        raise ValueError(f"concern {concern.id!r} states no offline/online relation (relation: and a threshold)")
    live = logged_box_click_through(events, db_url=db_url)
    if live.empty:
        return None
    if callable(offline):
        offline = offline(live["model_version"].tolist())
    pairs = []
    for row in live.itertuples(index=False):
        if row.model_version not in offline:
            continue
        judged = row.impressions >= min_impressions
        details: dict[str, Any] = {"page_views": int(row.page_views), "unlinked": int(row.unlinked),
                                   "clicks": int(row.clicks)}
        pairs.append(MetricPair(str(row.model_version), round(offline[row.model_version], 5),
                                round(float(row.ctr), 5) if judged else None, int(row.impressions),
                                metric="ctr", scale=concern.relation.scale, details=details))
    return relation(pairs, concern.threshold.value) if pairs else None
