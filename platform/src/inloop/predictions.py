"""The prediction log: every served prediction, with what the system saw and answered.

"Log your features": each entry records request id, time, domain, component (e.g.
``last_seen_box``), model name and version, policy/config version, the exact input features,
the output, and the live-test-set flag, so :mod:`inloop.incidents` can replay it later.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from inloop import db
from inloop.db.models import Prediction, utcnow

__all__ = ["PredictionEntry", "UnknownRequestError", "get_prediction", "log_prediction", "log_predictions",
           "new_request_id"]


class UnknownRequestError(LookupError):
    def __init__(self, request_id: str) -> None:
        super().__init__(f"no logged prediction with request id {request_id!r}")
        self.request_id = request_id


def new_request_id() -> str:
    return uuid.uuid4().hex


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become None (they are flagged by the numerical-stability checks)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _clean(value.item())
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _clean_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`_clean` for a features/output record, with a fast path for the usual flat record.

    Most records hold only str keys and str/int/bool/None/finite-float values; those are copied
    as they are, which keeps the logging path cheap. Anything else takes the general path.
    """
    for key, value in record.items():
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            if type(key) is str:
                continue
        elif kind is float and math.isfinite(value) and type(key) is str:
            continue
        return _clean(record)
    return dict(record)


@dataclass
class PredictionEntry:
    """One prediction to log (also what a replay reads back)."""

    domain: str
    component: str
    features: dict[str, Any]
    output: dict[str, Any]
    model_name: str | None = None
    model_version: str | None = None
    policy_version: str | None = None
    subject_id: str | None = None
    live_test_set: bool = False
    latency_ms: float | None = None
    request_id: str = field(default_factory=new_request_id)
    created_at: dt.datetime = field(default_factory=utcnow)

    def row(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id, "created_at": self.created_at, "domain": self.domain,
            "component": self.component, "model_name": self.model_name, "model_version": self.model_version,
            "policy_version": self.policy_version, "subject_id": self.subject_id,
            "features": _clean_record(self.features), "output": _clean_record(self.output),
            "live_test_set": bool(self.live_test_set), "latency_ms": self.latency_ms,
        }

    @classmethod
    def of(cls, row: Prediction) -> PredictionEntry:
        return cls(domain=row.domain, component=row.component, features=dict(row.features), output=dict(row.output),
                   model_name=row.model_name, model_version=row.model_version, policy_version=row.policy_version,
                   subject_id=row.subject_id, live_test_set=row.live_test_set, latency_ms=row.latency_ms,
                   request_id=row.request_id, created_at=row.created_at)


def log_predictions(entries: Iterable[PredictionEntry], db_url: str | None = None) -> int:
    """Write many entries in one transaction (the batched path); returns how many."""
    rows = [e.row() for e in entries]
    if not rows:
        return 0
    with db.session(db_url) as sess:
        # Core executemany on the table (not the ORM bulk path): same rows, a third of the overhead.
        sess.execute(sa.insert(Prediction.__table__), rows)
    return len(rows)


def log_prediction(*, domain: str, component: str, features: dict[str, Any], output: dict[str, Any],
                   model_name: str | None = None, model_version: str | None = None,
                   policy_version: str | None = None, subject_id: str | None = None,
                   live_test_set: bool = False, latency_ms: float | None = None,
                   request_id: str | None = None, db_url: str | None = None) -> str:
    """Write one entry synchronously; returns its request id."""
    entry = PredictionEntry(domain=domain, component=component, features=features, output=output,
                            model_name=model_name, model_version=model_version, policy_version=policy_version,
                            subject_id=subject_id, live_test_set=live_test_set, latency_ms=latency_ms,
                            request_id=request_id or new_request_id())
    log_predictions([entry], db_url)
    return entry.request_id


def get_prediction(request_id: str, db_url: str | None = None) -> PredictionEntry:
    """The logged entry for ``request_id``; raises :class:`UnknownRequestError`."""
    with db.read_session(db_url) as sess:
        row = sess.scalars(sa.select(Prediction).where(Prediction.request_id == request_id)).one_or_none()
    if row is None:
        raise UnknownRequestError(request_id)
    return PredictionEntry.of(row)
