"""Prediction logging off the hot path: a background writer that batches entries.

A request hands its :class:`~inloop.predictions.PredictionEntry` to :meth:`PredictionWriter.submit`
(a queue put, microseconds) and answers; a thread writes batches in one transaction each. On a
clean stop :meth:`close` drains the queue. If the database refuses a batch after retries, the
batch is appended to a spill file in the data directory (JSON lines) and re-ingested at the next
start, so a served prediction is never silently lost.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import asdict
from pathlib import Path

from inloop.predictions import PredictionEntry, log_predictions
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
            try:
                self.written += log_predictions(batch, self._db_url)
                return
            except Exception as exc:  # the DB is down or locked too long: retry, then spill
                log.warning("prediction log write failed (attempt %d): %s", attempt + 1, exc)
                time.sleep(0.2 * (attempt + 1))
        self._spill(batch)

    def _spill(self, batch: list[PredictionEntry]) -> None:
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self.spill_dir / f"predictions-{int(time.time() * 1000)}.jsonl"
        with open(path, "a", encoding="utf-8") as handle:
            for entry in batch:
                row = asdict(entry)
                row["created_at"] = entry.created_at.isoformat()
                handle.write(json.dumps(row, default=str) + "\n")
        self.spilled += len(batch)
        log.error("prediction log unavailable: %d entries spilled to %s (re-ingested at next start)", len(batch), path)

    def recover_spill(self) -> int:
        """Re-ingest spilled entries from an earlier outage; returns how many."""
        import datetime as dt

        if not self.spill_dir.exists():
            return 0
        total = 0
        for path in sorted(self.spill_dir.glob("predictions-*.jsonl")):
            entries = []
            for line in path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                row["created_at"] = dt.datetime.fromisoformat(row["created_at"])
                entries.append(PredictionEntry(**row))
            try:
                total += log_predictions(entries, self._db_url)
            except Exception as exc:
                log.error("could not re-ingest %s yet: %s", path, exc)
                continue
            path.unlink()
        if total:
            log.warning("re-ingested %d spilled prediction-log entries", total)
        return total
