"""The live path, simulated: the loan front end's batches, the core-banking outcomes, label feedback.

The front end drops each batch of applications into the domain's inbox (inputs only, no
outcome). The outcome of a loan is known only to core banking, and only for loans that were
granted; :func:`record_outcomes` plays that feedback into the platform's label table. In this
simulation outcomes are revealed right after the decision (in reality: 12 months later).
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

__all__ = ["SERVED_BATCH_PREFIX", "batch_from_prediction_log", "inbox_dir", "latest_batch_id", "live_test_set_outcomes", "read_batch", "record_outcomes",
           "simulate_frontend_batch"]

OUTCOME = LABEL
#: Batches built from the prediction log (what ``POST /credit/decisions`` decided) start with this:
#: they are already decided, so only their inputs are monitored (no re-decision, no outcomes).
SERVED_BATCH_PREFIX = "served-"


def inbox_dir() -> Path:
    return get_settings().domain_dir("credit") / "inbox"


def _ledger_dir() -> Path:
    return get_settings().domain_dir("credit") / "core_banking"


def simulate_frontend_batch(months: int | Sequence[int], size: int, *, seed: int = 1_000,
                            duration_unit: Literal["seconds", "milliseconds"] = "seconds") -> str:
    """Write live applications of ``months`` to the inbox (and their outcomes to core banking)."""
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


def record_outcomes(batch_id: str, decisions: Iterable[Decision]) -> int:
    """Core banking reports the outcome of every granted loan of the batch into the label table."""
    ledger = pd.read_parquet(_ledger_dir() / f"{batch_id}.parquet").set_index("application_id")[OUTCOME]
    now = dt.datetime.now(dt.UTC)
    rows = [{"domain": "credit", "request_id": d.request_id, "subject_id": d.application_id, "name": OUTCOME,
             "value": float(ledger[d.application_id]), "observed_at": now, "created_at": now}
            for d in decisions if d.decision == "approve" and d.application_id in ledger.index]
    if rows:
        with db.session() as sess:
            sess.execute(sa.insert(Label), rows)
    return len(rows)


def live_test_set_outcomes(model_version: str | None = None, last: int | None = None) -> pd.DataFrame:
    """Labelled live-test-set decisions (the ``last`` most recent): probability of default, observed default."""
    query = (sa.select(Prediction.request_id, Prediction.model_version, Prediction.policy_version,
                       Prediction.output, Label.value)
             .join(Label, Label.request_id == Prediction.request_id)
             .where(Prediction.domain == "credit", Prediction.component == COMPONENT,
                    Prediction.live_test_set.is_(True), Label.name == OUTCOME))
    if model_version is not None:
        query = query.where(Prediction.model_version == str(model_version))
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
