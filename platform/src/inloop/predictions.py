"""The prediction log: every served prediction, with what the system saw and answered.

"Log your features": each entry records request id, time, domain, component (e.g.
``last_seen_box``), model name and version, policy/config version, the exact input features,
the output, and the live-test-set flag, so :mod:`inloop.incidents` can replay it later.

Ids: ``request_id`` is issued by the server and unique (the table's key for lookups); an id the
client sent (``X-Request-ID``) is kept beside it as ``client_request_id``, a correlation id that
may repeat. :func:`find_prediction` resolves either. :func:`store_predictions` writes a batch so
that one bad row never takes the others with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from inloop import db
from inloop.db.models import Prediction, utcnow

__all__ = ["REQUEST_ID_PATTERN", "PredictionEntry", "RefusedEntry", "StoreOutcome", "UnknownRequestError",
           "find_prediction", "get_prediction", "log_prediction", "log_predictions", "new_request_id",
           "part_request_id", "predictions_for_client_request", "store_predictions"]

#: Every id the server hands out matches this, and the lookup (``GET /predictions/{id}``) accepts it.
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)


class UnknownRequestError(LookupError):
    def __init__(self, request_id: str) -> None:
        super().__init__(f"no logged prediction with request id {request_id!r}")
        self.request_id = request_id


def new_request_id() -> str:
    """A server-issued request id: 32 hex characters, unique."""
    return uuid.uuid4().hex


def part_request_id(request_id: str, part: str) -> str:
    """The id of one part of a request (e.g. one box of a page): ``<request id>-<part>``.

    Always a valid, retrievable id: when the plain form would be longer than 64 characters or use
    other characters, the part is replaced by a short digest of it (stable for the same part).
    """
    candidate = f"{request_id}-{part}"
    if _REQUEST_ID.match(candidate):
        return candidate
    digest = hashlib.blake2b(part.encode(), digest_size=6).hexdigest()
    return f"{request_id[: 64 - len(digest) - 1]}-{digest}"


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
    client_request_id: str | None = None  # the client's X-Request-ID: a correlation id, may repeat

    def row(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id, "client_request_id": self.client_request_id,
            "created_at": self.created_at, "domain": self.domain,
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
                   request_id=row.request_id, created_at=row.created_at, client_request_id=row.client_request_id)


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


def find_prediction(request_id: str, db_url: str | None = None) -> PredictionEntry:
    """The entry for a server request id, else the newest entry the client tagged with that id.

    Raises :class:`UnknownRequestError` when neither matches.
    """
    with db.read_session(db_url) as sess:
        row = sess.scalars(sa.select(Prediction).where(Prediction.request_id == request_id)).one_or_none()
        if row is None:
            row = sess.scalars(sa.select(Prediction).where(Prediction.client_request_id == request_id)
                               .order_by(Prediction.created_at.desc(), Prediction.id.desc()).limit(1)).first()
    if row is None:
        raise UnknownRequestError(request_id)
    return PredictionEntry.of(row)


def predictions_for_client_request(client_request_id: str, *, limit: int = 100,
                                   db_url: str | None = None) -> list[PredictionEntry]:
    """Every entry the client tagged with ``client_request_id``, newest first (at most ``limit``)."""
    with db.read_session(db_url) as sess:
        rows = sess.scalars(sa.select(Prediction).where(Prediction.client_request_id == client_request_id)
                            .order_by(Prediction.created_at.desc(), Prediction.id.desc()).limit(limit)).all()
    return [PredictionEntry.of(r) for r in rows]


# Storing a batch so that one bad row never drops the others ----------------------------------

# The database is not answering (down, locked past the timeout, not migrated): no row is at fault,
# so the rows wait (spill) instead of being judged. Anything else is a refusal of a row's content.
_OUTAGE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError, OSError)


@dataclass(frozen=True)
class RefusedEntry:
    """An entry the database refused on its own (a single-row insert failed), and why."""

    entry: PredictionEntry
    reason: str


@dataclass
class StoreOutcome:
    """What :func:`store_predictions` did with a batch: every entry is in exactly one bucket."""

    written: int = 0
    already_stored: int = 0
    refused: list[RefusedEntry] = field(default_factory=list)
    unstored: list[PredictionEntry] = field(default_factory=list)  # the database was unavailable
    outage: str | None = None


def store_predictions(entries: Sequence[PredictionEntry], db_url: str | None = None) -> StoreOutcome:
    """Write ``entries``; a refused batch is split in halves down to the single row.

    Good rows are written, a row the database refuses by itself is returned in ``refused`` with the
    reason (for quarantine), and when the database is unavailable the rows not yet written are
    returned in ``unstored`` (for the spill). A row already stored with the same id, time, domain
    and component (a re-ingestion after a crash) counts as ``already_stored``, not as refused.
    """
    outcome = StoreOutcome()
    pending: list[list[PredictionEntry]] = [list(entries)] if entries else []
    while pending:
        chunk = pending.pop()
        try:
            outcome.written += log_predictions(chunk, db_url)
            continue
        except _OUTAGE as exc:
            outcome.unstored = [e for part in [chunk, *reversed(pending)] for e in part]
            outcome.outage = f"{type(exc).__name__}: {_first_line(exc)}"
            return outcome
        except Exception as exc:  # a row's content: find which by halving
            if len(chunk) > 1:
                middle = len(chunk) // 2
                pending += [chunk[middle:], chunk[:middle]]  # popped first half first: order kept
                continue
            (entry,) = chunk
            if isinstance(exc, sa_exc.IntegrityError) and _same_entry_stored(entry, db_url):
                outcome.already_stored += 1
            else:
                outcome.refused.append(RefusedEntry(entry, _refusal_reason(entry, exc, db_url)))
    return outcome


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:500]


def _stored_twin(entry: PredictionEntry, db_url: str | None) -> Prediction | None:
    with db.read_session(db_url) as sess:
        return sess.scalars(sa.select(Prediction).where(Prediction.request_id == entry.request_id)).one_or_none()


def _same_entry_stored(entry: PredictionEntry, db_url: str | None) -> bool:
    try:
        twin = _stored_twin(entry, db_url)
    except Exception:
        return False
    return (twin is not None and twin.domain == entry.domain and twin.component == entry.component
            and twin.created_at == entry.created_at.astimezone(dt.UTC))


def _refusal_reason(entry: PredictionEntry, exc: Exception, db_url: str | None) -> str:
    if isinstance(exc, sa_exc.IntegrityError):
        try:
            twin = _stored_twin(entry, db_url)
        except Exception:
            twin = None
        if twin is not None:
            return (f"request id {entry.request_id!r} is already logged for another prediction "
                    f"({twin.domain}/{twin.component} at {twin.created_at.isoformat()})")
    return f"{type(exc).__name__}: {_first_line(exc)}"
