"""Core banking in the simulated world: it learns a granted loan's outcome the card's label delay after the
application (365 days) and only then reports it, through the real ``POST /labels``.

Booked loans wait in the world's folder (``world/credit-core-banking/<due date>.json``) until the simulated
clock passes their due time; each label is sent with ``observed_at`` = that due time. Nothing of this is in
the platform: a bank with a real delinquency feed deletes the world and posts its own labels.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from inloop.settings import get_settings
from inloop.world import WorldApi

__all__ = ["BookedLoan", "book", "deliver_due", "label_feedback", "pending"]


@dataclass(frozen=True)
class BookedLoan:
    request_id: str  # the prediction the outcome belongs to (the decision's server-issued request id)
    application_id: str
    defaulted: int
    due: str  # ISO time the outcome becomes known (simulated)


def label_feedback() -> tuple[str, int]:
    """The label's name and delay in days, from the credit card (one truth)."""
    from credit.defs.card import credit_card

    labels = credit_card().labels
    if labels is None:
        raise ValueError("the credit card has no `labels:` section (label name and delay_days)")
    return labels.name, labels.delay_days


def _dir() -> Path:
    return get_settings().data_dir / "world" / "credit-core-banking"


def _write(path: Path, loans: list[BookedLoan]) -> None:
    if not loans:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([asdict(loan) for loan in loans]))
    tmp.replace(path)


def _read(path: Path) -> list[BookedLoan]:
    return [BookedLoan(**row) for row in json.loads(path.read_text())]


def book(decided: Iterable[tuple[str, str, int, dt.datetime]], delay_days: int) -> int:
    """Book granted loans ``(request_id, application_id, defaulted, applied_at)``: each outcome is due
    ``delay_days`` after its application. Returns how many were booked."""
    by_day: dict[str, list[BookedLoan]] = {}
    for request_id, application_id, defaulted, applied_at in decided:
        due = applied_at.astimezone(dt.UTC) + dt.timedelta(days=delay_days)
        by_day.setdefault(f"{due:%Y-%m-%d}", []).append(
            BookedLoan(request_id, application_id, int(defaulted), due.isoformat()))
    _dir().mkdir(parents=True, exist_ok=True)
    for day, loans in by_day.items():
        path = _dir() / f"{day}.json"
        _write(path, (_read(path) if path.is_file() else []) + loans)
    return sum(len(v) for v in by_day.values())


def pending() -> list[BookedLoan]:
    """Every booked loan whose outcome has not been reported yet."""
    return [loan for path in sorted(_dir().glob("*.json")) for loan in _read(path)] if _dir().is_dir() else []


def deliver_due(now: dt.datetime, api: WorldApi, concurrent: int = 4) -> int:
    """Report every outcome due by ``now`` (simulated) through ``POST /labels``, a few at once; returns how
    many landed. A refused label stays booked and the refusals are raised (never dropped)."""
    if not _dir().is_dir():
        return 0
    name, _ = label_feedback()
    delivered, refused = 0, []
    with httpx.Client(base_url=api.base_url, timeout=30) as client:

        def send(loan: BookedLoan) -> httpx.Response:
            return client.post("/labels", headers={"Authorization": f"Bearer {api.token}"}, json={
                "domain": "credit", "name": name, "value": float(loan.defaulted),
                "request_id": loan.request_id, "subject_id": loan.application_id, "observed_at": loan.due})

        for path in sorted(_dir().glob("*.json")):
            if path.stem > f"{now.astimezone(dt.UTC):%Y-%m-%d}":
                break  # files are named by due date: none later is due
            loans = _read(path)
            due = [loan for loan in loans if dt.datetime.fromisoformat(loan.due) <= now]
            keep = [loan for loan in loans if dt.datetime.fromisoformat(loan.due) > now]
            with ThreadPoolExecutor(concurrent) as pool:
                answers = list(pool.map(send, due))
            for loan, resp in zip(due, answers, strict=True):
                if resp.status_code == 201:
                    delivered += 1
                else:
                    keep.append(loan)
                    refused.append(f"{loan.request_id}: {resp.status_code} {resp.text[:200]}")
            _write(path, keep)
    if refused:
        raise RuntimeError(f"{len(refused)} outcomes refused by POST /labels, e.g. {refused[0]}")
    return delivered
