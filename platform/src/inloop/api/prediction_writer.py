"""Prediction logging off the hot path: a background writer that batches entries.

A request hands its :class:`~inloop.predictions.PredictionEntry` to :meth:`PredictionWriter.submit`
(a queue put, microseconds) and answers; a thread writes batches in one transaction each. On a
clean stop :meth:`close` drains the queue. A served prediction is never silently lost:

* a batch the database refuses because of one row is split down to that row
  (:func:`~inloop.predictions.store_predictions`): the other rows are written;
* a row the database refuses on its own is *quarantined*: appended with its reason to
  ``<data dir>/spill/quarantined-*.jsonl`` and announced by an alert (never retried blindly);
* rows that could not be written because the database is unavailable (after retries) are
  appended to ``<data dir>/spill/predictions-*.jsonl`` and re-ingested at the next start, row by
  row in the same way: a spill line that is not an entry, or that the database refuses, is
  quarantined; only rows still waiting for the database stay in the spill file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import queue
import re
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from inloop.predictions import REQUEST_ID_PATTERN, PredictionEntry, RefusedEntry, store_predictions
from inloop.settings import get_settings

__all__ = ["PredictionWriter"]

log = logging.getLogger("inloop.api.predictions")
_STOP = object()


class PredictionWriter:
    def __init__(self, *, max_batch: int = 500, max_wait_s: float = 0.05, db_url: str | None = None) -> None:
        self._queue: queue.Queue[object] = queue.Queue()
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._db_url = db_url
        self._thread: threading.Thread | None = None
        self.written = 0
        self.spilled = 0
        self.quarantined = 0

    @property
    def spill_dir(self) -> Path:
        return get_settings().data_dir / "spill"

    def start(self) -> PredictionWriter:
        self.recover_spill()
        self._thread = threading.Thread(target=self._run, name="prediction-writer", daemon=True)
        self._thread.start()
        return self

    def submit(self, entry: PredictionEntry) -> str:
        if self._thread is None:
            raise RuntimeError("prediction writer not started")
        self._queue.put(entry)
        return entry.request_id

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything submitted so far is written (or spilled)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.005)
        return False

    def close(self, timeout_s: float = 30.0) -> None:
        """Drain the queue and stop the thread (called on shutdown)."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout_s)
        self._thread = None

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[PredictionEntry] = []
            item = self._queue.get()
            if item is _STOP:
                self._queue.task_done()
                break
            batch.append(item)  # type: ignore[arg-type]
            deadline = time.monotonic() + self._max_wait_s
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is _STOP:
                    self._queue.task_done()
                    stopping = True
                    # Everything queued before the stop marker is in `batch` or still queued.
                    while True:
                        try:
                            rest = self._queue.get_nowait()
                        except queue.Empty:
                            break
                        if rest is not _STOP:
                            batch.append(rest)  # type: ignore[arg-type]
                        self._queue.task_done()
                    break
                batch.append(item)  # type: ignore[arg-type]
            self._write(batch)
            for _ in batch:
                self._queue.task_done()

    def _write(self, batch: list[PredictionEntry]) -> None:
        for attempt in range(3):
            outcome = store_predictions(batch, self._db_url)
            self.written += outcome.written
            self._quarantine(outcome.refused, origin="live")
            if not outcome.unstored:
                return
            # Only the rows the unavailable database did not take are tried again.
            batch = outcome.unstored
            log.warning("prediction log write failed (attempt %d): %s", attempt + 1, outcome.outage)
            time.sleep(0.2 * (attempt + 1))
        self._spill(batch)

    def _spill(self, batch: Sequence[PredictionEntry]) -> Path:
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self.spill_dir / f"predictions-{time.time_ns()}.jsonl"
        with open(path, "a", encoding="utf-8") as handle:
            for entry in batch:
                handle.write(json.dumps(_spill_record(entry), default=str) + "\n")
        self.spilled += len(batch)
        log.error("prediction log unavailable: %d entries spilled to %s (re-ingested at next start)", len(batch), path)
        return path

    def _quarantine(self, refused: Sequence[Quarantined | RefusedEntry], *, origin: str) -> None:
        """Keep refused rows with their reason beside the spill, and raise one alert per domain."""
        if not refused:
            return
        items = [Quarantined.of(r) if isinstance(r, RefusedEntry) else r for r in refused]
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self.spill_dir / f"quarantined-{time.time_ns()}.jsonl"
        at = dt.datetime.now(dt.UTC).isoformat()
        with open(path, "a", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps({**item.record, "quarantine": {"reason": item.reason, "at": at,
                                                                       "from": origin}}, default=str) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.quarantined += len(items)
        by_domain: dict[str, list[Quarantined]] = defaultdict(list)
        for item in items:
            by_domain[item.domain].append(item)
        for domain, group in by_domain.items():
            log.error("prediction log: %d %s entries refused and quarantined in %s: %s", len(group), domain, path,
                      group[0].reason)
            self._alert(domain, group, path)

    def _alert(self, domain: str, group: list[Quarantined], path: Path) -> None:
        from inloop.alerts import raise_alert

        reasons = sorted({q.reason for q in group})
        try:
            raise_alert(
                domain=domain, source="prediction_log", cause_key=f"prediction-log-quarantine:{domain}",
                title=f"Prediction-log entries quarantined in {domain}: the database refused them"[:300],
                message=(f"{len(group)} served prediction(s) could not be stored and were kept in {path} with "
                         f"the reason (first: {reasons[0]}). Nothing else of their batch was lost. Fix each line "
                         "(or the database), remove its \"quarantine\" key and move it to a "
                         "spill/predictions-*.jsonl file: the next start re-ingests it.")[:4000],
                severity="ERROR", routes=("console", "log"),
                evidence={"path": str(path), "count": len(group), "reasons": reasons[:10],
                          "quarantined_request_ids": [q.request_id for q in group[:20] if q.request_id]},
                db_url=self._db_url,
            )
        except Exception as exc:  # the file holds the rows; the alert is the announcement
            log.error("could not raise the prediction-log quarantine alert: %s", exc)

    def recover_spill(self) -> int:
        """Re-ingest spilled entries from an earlier outage, row by row; returns how many were written.

        A line that is not an entry, or that the database refuses, is quarantined with its reason;
        rows still waiting for an unavailable database stay in the spill file for the next start.
        """
        if not self.spill_dir.exists():
            return 0
        total = 0
        for path in sorted(self.spill_dir.glob("predictions-*.jsonl")):
            entries: list[PredictionEntry] = []
            unreadable: list[Quarantined] = []
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    entries.append(_entry_of_spill_line(line))
                except ValueError as exc:
                    unreadable.append(Quarantined.of_line(line, f"{path.name} line {number}: {exc}"))
            outcome = store_predictions(entries, self._db_url)
            total += outcome.written
            self._quarantine([*unreadable, *outcome.refused], origin=path.name)
            if outcome.unstored:
                log.error("could not re-ingest %d entries of %s yet: %s", len(outcome.unstored), path,
                          outcome.outage)
                if len(outcome.unstored) < len(entries) or unreadable:
                    _rewrite(path, outcome.unstored)  # keep only what still waits for the database
                continue
            path.unlink()
        if total:
            log.warning("re-ingested %d spilled prediction-log entries", total)
        return total


_SPILL_ID = re.compile(REQUEST_ID_PATTERN)


@dataclass(frozen=True)
class Quarantined:
    """A refused spill line or entry: what is kept (entry fields, or the raw line) and why."""

    record: dict[str, Any]
    reason: str

    @property
    def domain(self) -> str:
        domain = self.record.get("domain")
        return domain if isinstance(domain, str) and domain else "platform"

    @property
    def request_id(self) -> str | None:
        value = self.record.get("request_id")
        return value if isinstance(value, str) else None

    @classmethod
    def of(cls, refused: RefusedEntry) -> Quarantined:
        return cls(_spill_record(refused.entry), refused.reason)

    @classmethod
    def of_line(cls, line: str, reason: str) -> Quarantined:
        try:
            parsed = json.loads(line)
        except ValueError:
            parsed = None
        # Entry fields stay top level when they can (erasure finds a person's lines by domain and subject).
        return cls(parsed if isinstance(parsed, dict) else {"raw_line": line}, reason)


def _spill_record(entry: PredictionEntry) -> dict[str, Any]:
    row = asdict(entry)
    row["created_at"] = entry.created_at.isoformat()
    return row


def _entry_of_spill_line(line: str) -> PredictionEntry:
    """A spilled entry, read back; ValueError says what is wrong with the line."""
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    if not isinstance(row.get("request_id"), str) or not _SPILL_ID.match(row["request_id"]):
        raise ValueError(f"request_id {row.get('request_id')!r} is not a valid request id")
    try:
        created = dt.datetime.fromisoformat(row["created_at"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"created_at is not an ISO-8601 time ({exc})") from None
    if created.tzinfo is None:
        raise ValueError("created_at has no time zone")
    try:
        entry = PredictionEntry(**{**row, "created_at": created})
    except TypeError as exc:
        raise ValueError(f"not a prediction-log entry ({exc})") from None
    if not isinstance(entry.features, dict) or not isinstance(entry.output, dict):
        raise ValueError("features and output must be JSON objects")
    return entry


def _rewrite(path: Path, entries: Sequence[PredictionEntry]) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for entry in entries:
            handle.write(json.dumps(_spill_record(entry), default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
