"""What the live shop sends and what the page route served, as batches the monitoring checks judge.

* The catalog feed: merchandising delivers new articles as files into ``<data_dir>/recommender/catalog_feed``;
  each delivery is checked on arrival (every article needs its gender target) before it can reach a box.
* Served page views: every page ``GET /recommender/pages/{page}`` rendered is in the prediction log (one
  entry per box); :func:`served_page_views` reads a range of it back as one row per page view, and
  :func:`shared_account_traffic` judges how much of that traffic came from accounts shared by two people.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from inloop import db
from inloop.checks import Measurement
from inloop.db.models import Prediction
from inloop.settings import get_settings
from recommender.lib.last_seen import COMPONENT as LAST_SEEN
from recommender.lib.page import DOMAIN

__all__ = ["SERVED_BATCH_MIN", "catalog_feed_dir", "deliveries", "read_delivery", "served_batch_since",
           "served_page_views", "shared_account_traffic", "write_delivery"]

#: Page views a served batch holds before it is judged: enough sessions (about 75) that the share of shared
#: accounts in ordinary traffic stays well below the concern's limit, so the check does not flap.
SERVED_BATCH_MIN = 150


def catalog_feed_dir() -> Path:
    return get_settings().data_dir / "recommender" / "catalog_feed"


def write_delivery(delivery_id: str, articles: pd.DataFrame) -> str:
    """Drop a catalog delivery into the feed (written aside, then moved: a reader never sees half a file)."""
    folder = catalog_feed_dir()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{delivery_id}.parquet.tmp"
    articles.to_parquet(tmp, index=False)
    tmp.replace(folder / f"{delivery_id}.parquet")
    return delivery_id


def deliveries() -> list[str]:
    """Every delivery in the feed, oldest name first."""
    folder = catalog_feed_dir()
    return sorted(p.stem for p in folder.glob("*.parquet")) if folder.is_dir() else []


def read_delivery(delivery_id: str) -> pd.DataFrame:
    path = catalog_feed_dir() / f"{delivery_id}.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"no catalog delivery {delivery_id!r} in {catalog_feed_dir()}")
    return pd.read_parquet(path)


def served_batch_since(after_id: int, min_views: int = SERVED_BATCH_MIN) -> int | None:
    """The log id that closes a batch of ``min_views`` page views served after log entry ``after_id``, or None."""
    with db.read_session() as sess:
        ids = sess.scalars(sa.select(Prediction.id).where(
            Prediction.domain == DOMAIN, Prediction.component == LAST_SEEN, Prediction.id > after_id)
            .order_by(Prediction.id).limit(min_views)).all()
    return int(ids[-1]) if len(ids) >= min_views else None


def served_page_views(after_id: int, through_id: int) -> pd.DataFrame:
    """One row per page view served in the log range: who, where, the shared-account verdict at serving
    time, and what the last-seen box showed from which device."""
    with db.read_session() as sess:
        rows = sess.execute(sa.select(Prediction.id, Prediction.request_id, Prediction.client_request_id,
                                      Prediction.features, Prediction.output)
                            .where(Prediction.domain == DOMAIN, Prediction.component == LAST_SEEN,
                                   Prediction.id > after_id, Prediction.id <= through_id)
                            .order_by(Prediction.id)).all()
    out = []
    for r in rows:
        by_device: dict[str, list[object]] = {}
        for item in r.output.get("items", []):
            by_device.setdefault(str(item.get("evidence", {}).get("device")), []).append(item.get("gender_target"))
        out.append({
            "log_id": int(r.id), "request_id": r.request_id, "client_request_id": r.client_request_id,
            "account_id": r.features.get("account_id"), "page": r.features.get("page"),
            "device": r.features.get("device"),
            "shared_account_detected": bool(r.features.get("shared_account_detected")),
            "last_seen_items": sum(len(v) for v in by_device.values()),
            "last_seen_devices": sorted(by_device), "last_seen_sections": by_device,
        })
    return pd.DataFrame(out, columns=["log_id", "request_id", "client_request_id", "account_id", "page", "device",
                                      "shared_account_detected", "last_seen_items", "last_seen_devices",
                                      "last_seen_sections"])


def _mixes_two_people(sections: dict[str, list[object]]) -> bool:
    """A last-seen box whose devices tell opposite stories (one men's articles, the other women's)."""
    leaning = set()
    for targets in sections.values():
        gendered = [t for t in targets if t in ("men", "women")]
        if gendered:
            share = sum(t == "women" for t in gendered) / len(gendered)
            leaning.add("women" if share > 0.5 else "men" if share < 0.5 else "both")
    return {"men", "women"} <= leaning


def shared_account_traffic(views: pd.DataFrame) -> Measurement:
    """Share of served page views on accounts the detector flagged as shared by two people.

    The page was built and judged for about 5 % of accounts being shared (about one page view in ten, a
    household being two people), of which the detector misses one in four; far more than that means far
    more last-seen boxes that can show one person's browsing to the other. Boxes that visibly mix two people's sections across devices are counted beside it.
    """
    if views.empty:
        return Measurement(None, "no page views in the batch: nothing to judge")
    flagged = int(views["shared_account_detected"].sum())
    mixed = views[views["last_seen_sections"].map(_mixes_two_people)]
    share = flagged / len(views)
    return Measurement(
        value=share,
        summary=(f"{flagged} of {len(views)} page views served were on accounts shared by two people ({share:.1%}); "
                 f"{len(mixed)} last-seen boxes mixed two devices' opposite sections"),
        details={"page_views": len(views), "shared_account_views": flagged,
                 "simulated_views": int(views["client_request_id"].fillna("").str.startswith("world-").sum()),
                 "mixed_last_seen_boxes": len(mixed),
                 "mixed_examples": mixed["request_id"].head(5).tolist(),
                 "log_range": [int(views["log_id"].min()), int(views["log_id"].max())]},
    )
