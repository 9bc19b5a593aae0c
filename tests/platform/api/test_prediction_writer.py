"""The batched prediction-log writer: fast submit, drained on close, spilled (not lost) when the DB is down."""

from __future__ import annotations

import sqlalchemy as sa

from inloop import db
from inloop.api.prediction_writer import PredictionWriter
from inloop.db.models import Prediction
from inloop.predictions import PredictionEntry


def _entries(n: int) -> list[PredictionEntry]:
    return [PredictionEntry(domain="credit", component="decision", features={"i": i}, output={"p": i / n})
            for i in range(n)]


def _count(url: str | None = None) -> int:
    with db.read_session(url) as sess:
        return sess.scalar(sa.select(sa.func.count()).select_from(Prediction))


def test_every_submitted_entry_is_written_by_close() -> None:
    db.upgrade()
    writer = PredictionWriter(max_batch=64).start()
    ids = [writer.submit(e) for e in _entries(1000)]
    writer.close()
    assert writer.written == 1000 and _count() == 1000
    with db.read_session() as sess:
        stored = set(sess.scalars(sa.select(Prediction.request_id)))
    assert stored == set(ids)


def test_flush_waits_for_pending_entries() -> None:
    db.upgrade()
    writer = PredictionWriter().start()
    for e in _entries(50):
        writer.submit(e)
    assert writer.flush(10)
    assert _count() == 50
    writer.close()


def test_a_database_outage_spills_to_disk_and_the_next_start_reingests(inloop_env, tmp_path) -> None:
    good_url = f"sqlite:///{tmp_path / 'good.db'}"
    db.upgrade(good_url)
    # A real outage: nothing listens on port 1, every connection is refused.
    down = PredictionWriter(db_url="postgresql+psycopg://inloop@127.0.0.1:1/inloop").start()
    entries = _entries(20)
    for e in entries:
        down.submit(e)
    down.close()
    assert down.spilled == 20 and down.written == 0
    spill_files = list((inloop_env / "spill").glob("predictions-*.jsonl"))
    assert spill_files and sum(len(p.read_text().splitlines()) for p in spill_files) == 20
    recovered = PredictionWriter(db_url=good_url).start()
    recovered.close()
    assert _count(good_url) == 20
    assert not list((inloop_env / "spill").glob("predictions-*.jsonl"))
