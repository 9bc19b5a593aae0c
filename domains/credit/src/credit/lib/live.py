"""The live path, simulated: the loan front end's batches, the core-banking outcomes, label feedback.

The front end drops each batch of applications into the domain's inbox (inputs only, no
outcome). The outcome of a loan is known only to core banking, only for loans that were granted,
and only the card's label delay (12 months) after the application: :func:`record_outcomes` hands
the granted loans to core banking's feed, and :func:`deliver_due_outcomes` reports into the
platform's label table those whose outcome is known by now (the simulated now when the world runs),
each observed at its due time. A replayed batch of past months gets its outcomes at once; a batch of
this month waits a year.
A front-end release that sends ``application_duration_seconds`` in milliseconds changes the
inbox only — the history the model was trained on keeps seconds, as in the fraud-model story.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import pandas as pd
import sqlalchemy as sa

from credit.lib.data import LABEL, generate_applications, month_start
from credit.lib.decision import COMPONENT, Decision
from inloop import db
from inloop.db.models import Label, Prediction
from inloop.settings import get_settings

__all__ = ["SERVED_BATCH_PREFIX", "batch_from_prediction_log", "claim_batch", "deliver_due_outcomes", "inbox_dir",
           "is_claimed", "latest_batch_id", "live_test_set_outcomes", "read_batch", "record_outcomes",
           "simulate_frontend_batch"]

OUTCOME = LABEL
#: Batches built from the prediction log (what ``POST /credit/decisions`` decided) start with this:
#: they are already decided, so only their inputs are monitored (no re-decision, no outcomes).
SERVED_BATCH_PREFIX = "served-"


def inbox_dir() -> Path:
    return get_settings().domain_dir("credit") / "inbox"


def _ledger_dir() -> Path:
    return get_settings().domain_dir("credit") / "core_banking"


def _claims_dir() -> Path:
    return inbox_dir() / ".monitored"


def claim_batch(batch_id: str) -> None:
    """Mark an inbox batch as taken by a monitoring run, so the inbox sensor does not monitor it again
    (the first run monitors a batch it simulated itself; deciding it twice would log it twice)."""
    _claims_dir().mkdir(parents=True, exist_ok=True)
    (_claims_dir() / batch_id).touch()


def is_claimed(batch_id: str) -> bool:
    return (_claims_dir() / batch_id).is_file()


def simulate_frontend_batch(months: int | Sequence[int], size: int, *, seed: int = 1_000,
                            duration_unit: Literal["seconds", "milliseconds"] = "seconds",
                            claimed: bool = False) -> str:
    """Write live applications of ``months`` to the inbox (and their outcomes to core banking).

    ``claimed``: the caller monitors the batch itself (it is claimed before it appears in the inbox)."""
    months = [months] if isinstance(months, int) else sorted(months)
    batch = generate_applications(size, seed=seed, months=months)
    span = f"{month_start(months[0]):%Y-%m}" + (f"_{month_start(months[-1]):%Y-%m}" if len(months) > 1 else "")
    batch_id = f"{span}-s{seed}-n{size}" + ("-ms" if duration_unit == "milliseconds" else "")
    inputs = batch.drop(columns=[LABEL])
    if duration_unit == "milliseconds":
        # Only the bank's own front end (web and app) changed its timer; partner shops send their own.
        own = inputs["channel"].astype(str).isin(["web", "app"])
        inputs.loc[own, "application_duration_seconds"] = inputs.loc[own, "application_duration_seconds"] * 1000
    for folder in (inbox_dir(), _ledger_dir()):
        folder.mkdir(parents=True, exist_ok=True)
    if claimed:
        claim_batch(batch_id)
    inputs.to_parquet(inbox_dir() / f"{batch_id}.parquet", index=False)
    batch[["application_id", LABEL]].to_parquet(_ledger_dir() / f"{batch_id}.parquet", index=False)
    return batch_id


def latest_batch_id() -> str | None:
    """The newest batch in the inbox, or None when it is empty."""
    files = sorted((p for p in inbox_dir().glob("*.parquet") if not p.stem.startswith(SERVED_BATCH_PREFIX)),
                   key=lambda p: (p.stat().st_mtime_ns, p.name))
    return files[-1].stem if files else None


def read_batch(batch_id: str) -> pd.DataFrame:
    path = inbox_dir() / f"{batch_id}.parquet"
    if not path.is_file():
        known = sorted(p.stem for p in inbox_dir().glob("*.parquet"))
        raise FileNotFoundError(f"no live batch {batch_id!r} in {inbox_dir()}; batches: {', '.join(known) or 'none'}")
    return pd.read_parquet(path)


def _pending_path(batch_id: str) -> Path:
    return _ledger_dir() / f"{batch_id}.pending.parquet"


def record_outcomes(batch_id: str, decisions: Iterable[Decision], *, delay_days: int,
                    now: dt.datetime | None = None) -> int:
    """Hand the batch's granted loans to core banking's feed: each outcome becomes known ``delay_days``
    (the card's label delay) after its application. Reports the outcomes known by ``now`` (default: the
    world's simulated now, or the wall clock) and returns how many labels that wrote."""
    ledger = pd.read_parquet(_ledger_dir() / f"{batch_id}.parquet").set_index("application_id")[OUTCOME]
    applied = read_batch(batch_id).set_index("application_id")["applied_at"]
    delay = pd.Timedelta(days=delay_days)
    rows = [{"request_id": d.request_id, "application_id": d.application_id,
             "value": float(ledger[d.application_id]),
             "due": pd.Timestamp(applied[d.application_id]).tz_convert("UTC") + delay}
            for d in decisions if d.decision == "approve" and d.application_id in ledger.index and d.request_id]
    if not rows:
        return 0
    pd.DataFrame(rows).to_parquet(_pending_path(batch_id), index=False)
    return deliver_due_outcomes(now, batch_ids=[batch_id])


def deliver_due_outcomes(now: dt.datetime | None = None, *, batch_ids: Iterable[str] | None = None) -> int:
    """Core banking's feed: every pending outcome (of ``batch_ids``, default all) due by ``now`` goes into
    the label table, observed at its due time; the rest keeps waiting. Returns how many were delivered."""
    from inloop.world import simulated_now

    now = now or simulated_now()
    delivered = 0
    if batch_ids is not None:
        paths = [p for p in (_pending_path(b) for b in batch_ids) if p.is_file()]
    else:
        paths = sorted(_ledger_dir().glob("*.pending.parquet")) if _ledger_dir().is_dir() else []
    for path in paths:
        pending = pd.read_parquet(path)
        due = pending["due"] <= pd.Timestamp(now)
        created = dt.datetime.now(dt.UTC)
        rows = [{"domain": "credit", "request_id": r.request_id, "subject_id": r.application_id, "name": OUTCOME,
                 "value": float(r.value), "observed_at": r.due.to_pydatetime(), "created_at": created}
                for r in pending[due].itertuples()]
        if rows:
            with db.session() as sess:
                sess.execute(sa.insert(Label), rows)
            delivered += len(rows)
        if due.all():
            path.unlink()
        elif due.any():
            pending[~due].to_parquet(path, index=False)
    return delivered


def live_test_set_outcomes(model_version: str | None = None, last: int | None = None,
                           observed_by: dt.datetime | None = None) -> pd.DataFrame:
    """Labelled live-test-set decisions (the ``last`` most recent): probability of default, observed default.

    ``observed_by``: only outcomes observed by then (a monitor passes the simulated now)."""
    query = (sa.select(Prediction.request_id, Prediction.model_version, Prediction.policy_version,
                       Prediction.output, Label.value)
             .join(Label, Label.request_id == Prediction.request_id)
             .where(Prediction.domain == "credit", Prediction.component == COMPONENT,
                    Prediction.live_test_set.is_(True), Label.name == OUTCOME))
    if model_version is not None:
        query = query.where(Prediction.model_version == str(model_version))
    if observed_by is not None:
        query = query.where(Label.observed_at <= observed_by)
    query = query.order_by(Prediction.id.desc())
    if last is not None:
        query = query.limit(last)
    with db.read_session() as sess:
        rows = sess.execute(query).all()
    return pd.DataFrame([{"request_id": r.request_id, "model_version": r.model_version,
                          "policy_version": r.policy_version,
                          "probability_of_default": float(r.output["probability_of_default"]),
                          "defaulted": int(r.value)} for r in rows],
                        columns=["request_id", "model_version", "policy_version", "probability_of_default",
                                 "defaulted"])


def batch_from_prediction_log(after_id: int, min_rows: int) -> tuple[str, int] | None:
    """The applications served since log entry ``after_id``, as an inbox batch, once there are ``min_rows``.

    Returns the batch id and the last log id it holds, or None while fewer have been served. The inputs
    are the ones logged at decision time, so monitoring sees what the live path received.
    """
    with db.read_session() as sess:
        rows = sess.execute(sa.select(Prediction.id, Prediction.features)
                            .where(Prediction.domain == "credit", Prediction.component == COMPONENT,
                                   Prediction.id > after_id).order_by(Prediction.id)).all()
    if len(rows) < min_rows:
        return None
    frame = pd.DataFrame([r.features for r in rows])
    frame["applied_at"] = pd.to_datetime(frame["applied_at"], utc=True, format="ISO8601")
    batch_id = f"{SERVED_BATCH_PREFIX}{rows[0].id}-{rows[-1].id}"
    inbox_dir().mkdir(parents=True, exist_ok=True)
    frame.to_parquet(inbox_dir() / f"{batch_id}.parquet", index=False)
    return batch_id, int(rows[-1].id)
