"""The batched prediction-log writer: fast submit, drained on close, spilled (not lost) when the DB is down."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
import sqlalchemy as sa

from inloop import db
from inloop.alerts import list_alerts
from inloop.api.prediction_writer import PredictionWriter
from inloop.db.models import Prediction
from inloop.predictions import (
    REQUEST_ID_PATTERN,
    PredictionEntry,
    log_prediction,
    new_request_id,
    part_request_id,
    store_predictions,
)


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


# One bad row never drops the others (issue #15 item 1) ------------------------------------------


def _spill_line(entry: PredictionEntry) -> str:
    row = dataclasses.asdict(entry)
    row["created_at"] = entry.created_at.isoformat()
    return json.dumps(row)


def _quarantined(spill_dir) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(line) for p in sorted(spill_dir.glob("quarantined-*.jsonl"))
            for line in p.read_text().splitlines()]


def test_a_spill_file_with_bad_rows_ingests_the_others_and_quarantines_the_bad_with_an_alert(inloop_env) -> None:
    db.upgrade()
    taken = log_prediction(domain="credit", component="loan_decision", features={}, output={"decision": "approve"})
    good = _entries(6)
    clash = PredictionEntry(domain="credit", component="loan_decision", features={"i": 99}, output={},
                            request_id=taken)  # an id the log already holds, for another prediction
    spill = inloop_env / "spill"
    spill.mkdir(parents=True)
    lines = [_spill_line(e) for e in good[:3]] + [_spill_line(clash), "{not json"] + [_spill_line(e) for e in good[3:]]
    (spill / "predictions-1.jsonl").write_text("\n".join(lines) + "\n")

    writer = PredictionWriter()
    assert writer.recover_spill() == 6
    with db.read_session() as sess:
        stored = set(sess.scalars(sa.select(Prediction.request_id)))
    assert stored == {taken} | {e.request_id for e in good}
    assert not (spill / "predictions-1.jsonl").exists(), "a spill file is not re-read forever"
    quarantined = _quarantined(spill)
    assert len(quarantined) == 2 and writer.quarantined == 2
    by_id = {q.get("request_id"): q for q in quarantined}
    assert "already logged for another prediction" in by_id[taken]["quarantine"]["reason"]
    assert by_id[taken]["features"] == {"i": 99}  # the refused entry is kept whole, with its reason
    raw = by_id[None]
    assert raw["raw_line"] == "{not json" and "line 5" in raw["quarantine"]["reason"]
    alerts = {a.domain: a for a in list_alerts(status="open") if a.source == "prediction_log"}
    assert set(alerts) == {"credit", "platform"}
    assert alerts["credit"].evidence["quarantined_request_ids"] == [taken]
    assert "quarantined" in alerts["credit"].title
    # The next start finds nothing left to re-ingest, and raises nothing new.
    assert PredictionWriter().recover_spill() == 0 and len(_quarantined(spill)) == 2


def test_a_live_batch_with_one_refused_row_writes_the_others(inloop_env) -> None:
    db.upgrade()
    taken = log_prediction(domain="recommender", component="last_seen_box", features={}, output={})
    entries = _entries(30)
    entries[17] = dataclasses.replace(entries[17], request_id=taken, domain="recommender")
    writer = PredictionWriter(max_batch=64, max_wait_s=0.5).start()
    for e in entries:
        writer.submit(e)
    writer.close()
    assert writer.written == 29 and writer.spilled == 0 and writer.quarantined == 1
    with db.read_session() as sess:
        stored = set(sess.scalars(sa.select(Prediction.request_id)))
    assert stored == {taken} | {e.request_id for i, e in enumerate(entries) if i != 17}
    (refused,) = _quarantined(inloop_env / "spill")
    assert refused["request_id"] == taken and refused["quarantine"]["from"] == "live"
    assert [a.domain for a in list_alerts(status="open") if a.source == "prediction_log"] == ["recommender"]


def test_a_spill_file_read_again_after_a_crash_is_not_quarantined(inloop_env) -> None:
    db.upgrade()
    entries = _entries(5)
    spill = inloop_env / "spill"
    spill.mkdir(parents=True)
    text = "\n".join(_spill_line(e) for e in entries) + "\n"
    (spill / "predictions-1.jsonl").write_text(text)
    assert PredictionWriter().recover_spill() == 5
    # A crash between the insert and the unlink: the same file is found again at the next start.
    (spill / "predictions-2.jsonl").write_text(text)
    writer = PredictionWriter()
    assert writer.recover_spill() == 0 and writer.quarantined == 0
    assert not list(spill.glob("*.jsonl")) and _count() == 5


def test_spill_files_keep_only_what_still_waits_for_the_database(inloop_env) -> None:
    spill = inloop_env / "spill"
    spill.mkdir(parents=True)
    entries = _entries(4)
    (spill / "predictions-1.jsonl").write_text("\n".join([_spill_line(e) for e in entries] + ["[1, 2]"]) + "\n")
    down = PredictionWriter(db_url="postgresql+psycopg://inloop@127.0.0.1:1/inloop")
    assert down.recover_spill() == 0
    kept = (spill / "predictions-1.jsonl").read_text().splitlines()
    assert [json.loads(line)["request_id"] for line in kept] == [e.request_id for e in entries]
    assert [q["raw_line"] for q in _quarantined(spill)] == ["[1, 2]"]  # not an entry: never retried


def test_store_predictions_splits_a_refused_batch_down_to_the_row(db_url: str) -> None:
    db.upgrade(db_url)
    taken = log_prediction(domain="credit", component="loan_decision", features={}, output={}, db_url=db_url)
    entries = _entries(40)
    for i in (3, 31):
        entries[i] = dataclasses.replace(entries[i], request_id=taken)
    outcome = store_predictions(entries, db_url)
    assert outcome.written == 38 and not outcome.unstored and outcome.already_stored == 0
    assert [r.entry.features for r in outcome.refused] == [{"i": 3}, {"i": 31}]  # in submission order
    with db.read_session(db_url) as sess:
        assert sess.scalar(sa.select(sa.func.count()).select_from(Prediction)) == 39


@pytest.mark.parametrize("part", ["recommendations_box", "x" * 40, "ünïcode box"])
def test_a_part_request_id_is_always_retrievable(part: str) -> None:
    rid = part_request_id(new_request_id(), part)
    assert re.fullmatch(REQUEST_ID_PATTERN[1:-1], rid) and len(rid) <= 64
    assert part_request_id(rid.split("-")[0], part) == rid  # stable


def test_a_quarantined_entry_is_found_and_removed_by_erasure(inloop_env) -> None:
    from inloop.privacy.erasure import locate

    db.upgrade()
    taken = log_prediction(domain="credit", component="loan_decision", features={}, output={})
    writer = PredictionWriter().start()
    writer.submit(PredictionEntry(domain="credit", component="loan_decision", features={"application_id": "app-4711"},
                                  output={}, subject_id="app-4711", request_id=taken))
    writer.close()
    assert writer.quarantined == 1
    found = {s.store: s.remaining for s in locate("credit", "app-4711")}
    assert found["prediction log spill files"] == 1  # a quarantine file is a spill file to erasure
