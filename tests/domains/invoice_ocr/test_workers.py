"""Concurrent workers on SQLite: every invoice claimed exactly once, a dead worker's lease taken over,
booking idempotent under a race, and workers that stop cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from invoice_ocr.lib.erp import Booking, invoice_key
from invoice_ocr.lib.ledger import TransitionError, worker_id
from invoice_ocr.lib.workspace import Workspace

_CLAIMER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from invoice_ocr.lib.workspace import Workspace
    ws, out, go = Workspace(Path(sys.argv[1])), Path(sys.argv[2]), Path(sys.argv[3])
    while not go.exists():  # both start claiming together
        time.sleep(0.01)
    claimed = []
    with ws.ledger() as ledger:
        while (entry := ledger.claim_next(lease_seconds=600)) is not None:
            claimed.append(entry.id)
            ledger.transition(entry.id, "needs_review", expected_from=("processing",), held_by=entry.claimed_by,
                              reason="race test", reason_kind="race_test")
    out.write_text(json.dumps(claimed))
""")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws").prepare()


def _register(ws: Workspace, n: int) -> list[int]:
    with ws.ledger() as ledger:
        return [ledger.register(f"{i:064x}", f"inv-{i}.pdf", "inbox", 10)[0] for i in range(n)]


@pytest.mark.slow
def test_two_workers_racing_claim_every_invoice_exactly_once(workspace: Workspace, tmp_path: Path) -> None:
    ids = _register(workspace, 60)
    go = tmp_path / "go"
    outs = [tmp_path / f"claimed-{i}.json" for i in range(2)]
    procs = [subprocess.Popen([sys.executable, "-c", _CLAIMER, str(workspace.root), str(out), str(go)])
             for out in outs]
    go.touch()
    for proc in procs:
        assert proc.wait(timeout=300) == 0
    first, second = (json.loads(out.read_text()) for out in outs)
    assert sorted(first + second) == ids, "every invoice claimed, none twice"
    assert not set(first) & set(second)
    with workspace.ledger() as ledger:
        for invoice_id in ids:
            states = [(e["from_state"], e["to_state"]) for e in ledger.events(invoice_id)]
            assert states == [(None, "received"), ("received", "processing"), ("processing", "needs_review")]
    print(f"\nclaims per worker: {len(first)} and {len(second)}")


def test_an_expired_lease_is_taken_over_and_the_old_holder_can_no_longer_finish(workspace: Workspace) -> None:
    [invoice_id] = _register(workspace, 1)
    with workspace.ledger() as ledger:
        entry = ledger.claim_next(lease_seconds=600)
        assert entry is not None and entry.id == invoice_id
        # A worker on another machine: only its lease can expire it. While it beats, nobody takes over.
        ledger._conn.execute("UPDATE invoices SET claimed_by = 'elsewhere:4242' WHERE id = ?", (invoice_id,))
        assert ledger.claim_next() is None
        assert ledger.renew_leases({invoice_id}) == set(), "only the holder renews its lease"
        ledger._conn.execute("UPDATE invoices SET lease_until = ? WHERE id = ?", (time.time() - 1, invoice_id))
        taken = ledger.claim_next(lease_seconds=600)
        assert taken is not None and taken.id == invoice_id and taken.attempts == 2
        assert taken.claimed_by == worker_id()
        assert "resumed after worker elsewhere:4242 died" in ledger.events(invoice_id)[-1]["detail"]
        assert ledger.renew_leases({invoice_id}, 600) == {invoice_id}
        with pytest.raises(TransitionError, match="no longer held by elsewhere:4242"):
            ledger.transition(invoice_id, "booked", expected_from=("processing",), held_by="elsewhere:4242")
        assert ledger.get(invoice_id).state == "processing"


def test_a_worker_reclaims_its_own_claims_after_losing_track_of_them(workspace: Workspace) -> None:
    _register(workspace, 2)
    with workspace.ledger() as ledger:
        first, second = ledger.claim_next(), ledger.claim_next()
        assert first is not None and second is not None
        assert ledger.claim_next() is None, "its own fresh claims are in its batch: not claimed again"
        assert ledger.release_claims() == 2
        again = ledger.claim_next()
        assert again is not None and again.id == first.id and again.attempts == 2


def _booking(ledger_id: int) -> Booking:
    return Booking(invoice_key("S0001", "RE-7"), ledger_id, "S0001", "RE-7", "2026-10-01",
                   "DE89370400440532013000", "EUR", "100.00", "19.00", "119.00", "machine")


def test_booking_the_same_invoice_from_eight_threads_at_once_creates_one_booking(workspace: Workspace) -> None:
    results = []
    barrier = threading.Barrier(8)

    def book(ledger_id: int) -> None:
        erp = workspace.erp()
        barrier.wait()
        results.append(erp.book(_booking(ledger_id)))

    threads = [threading.Thread(target=book, args=(i,)) for i in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == 8 and sum(r.created for r in results) == 1
    winner = next(r for r in results if r.created)
    assert {(r.erp_id, r.ledger_invoice_id) for r in results} == {(winner.erp_id, winner.ledger_invoice_id)}
    assert len(workspace.erp().bookings()) == 1 and workspace.erp().duplicate_keys() == {}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigterm_stops_a_pool_of_workers_cleanly(workspace: Workspace) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "invoice_ocr", "work", "--root", str(workspace.root),
                             "--workers", "2", "--poll-seconds", "0.2"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True,
                            # as in this sandbox's background jobs: SIGTERM inherited ignored
                            preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN))
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(4)]  # two started, two ready (their handlers installed)
    assert sum("started" in line for line in lines) == 2 and sum("ready" in line for line in lines) == 2, lines
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out
    assert "workers done: started 2, replaced 0" in out and "killed at stop 0" in out
    assert out.count("worker done:") == 2, out
