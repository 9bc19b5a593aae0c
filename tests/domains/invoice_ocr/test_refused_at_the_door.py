"""Issue #15 item 9: what the intake will never take is refused at the door, said once, and listed.

A link, a hidden file or folder, a pipe, a partial download that never finished: each stays in the
inbox untouched, is recorded once with its reason and the action to take, raised as one grouped
alert (not one ERROR per file per scan), listed by ``status`` and reconciliation beside the gap
(never received as an invoice, never silently ignored), and cleared when it leaves the inbox.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from typer.testing import CliRunner

from inloop.alerts import list_alerts
from invoice_ocr.commands import app
from invoice_ocr.lib.intake import REFUSED_ALERT_KEY, STALE_PARTIAL_SECONDS, announce_refusals, take_inbox
from invoice_ocr.lib.monitoring import reconcile
from invoice_ocr.lib.workspace import Workspace


def _aged(path: Path, seconds: float) -> Path:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)
    return path


def _odd_inbox(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "ws").prepare()
    target = tmp_path / "elsewhere.pdf"
    target.write_bytes(b"%PDF-1.4 somewhere else")
    (ws.inbox / "link.pdf").symlink_to(target)
    (ws.inbox / "folder-link").symlink_to(tmp_path)
    (ws.inbox / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (ws.inbox / ".sync").mkdir()
    (ws.inbox / ".sync" / "state.pdf").write_bytes(b"%PDF-1.4 sync state")
    os.mkfifo(ws.inbox / "pipe.pdf")
    (ws.inbox / "half.pdf.part").write_bytes(b"%PDF-1.4 half")
    _aged(ws.inbox / "half.pdf.part", STALE_PARTIAL_SECONDS + 60)
    (ws.inbox / "fresh.pdf.part").write_bytes(b"%PDF-1.4 still coming")
    (ws.inbox / "invoice.pdf").write_bytes(b"%PDF-1.4 a real one")
    (ws.inbox / ".scanner-tmp-0002").write_bytes(b"a scan being written")
    _aged(ws.inbox / ".DS_Store", STALE_PARTIAL_SECONDS + 60)
    _aged(ws.inbox / "invoice.pdf", 30)
    return ws


def test_entries_the_intake_never_takes_are_refused_with_reason_and_action(tmp_path: Path) -> None:
    ws = _odd_inbox(tmp_path)
    scan = take_inbox(ws, settle_seconds=1)
    assert [r.original_name for r in scan.taken] == ["invoice.pdf"]
    assert scan.failed == {}  # nothing transient: no ERROR per file
    kinds = {name: r.kind for name, r in scan.refused.items()}
    assert kinds == {
        "link.pdf": "symlink",
        "folder-link": "folder_link",
        ".DS_Store": "hidden_file",
        ".sync": "hidden_folder",
        "pipe.pdf": "not_a_file",
        "half.pdf.part": "stale_partial",
    }
    # a download or a scanner's temp file in progress is waited for, not refused
    assert sorted(scan.still_writing) == [".scanner-tmp-0002", "fresh.pdf.part"]
    assert all(r.action and r.reason for r in scan.refused.values())
    assert sorted(scan.refused_new) == sorted(kinds)
    # untouched: the link still points where it did, the hidden folder's file is still there
    assert (ws.inbox / "link.pdf").is_symlink() and (ws.inbox / ".sync" / "state.pdf").exists()


def test_refused_entries_are_announced_once_in_one_grouped_alert_then_resolved(tmp_path: Path) -> None:
    ws = _odd_inbox(tmp_path)
    first = take_inbox(ws, settle_seconds=1)
    alert_id = announce_refusals(first)
    [alert] = list_alerts("invoice_ocr", status="open")
    assert alert.id == alert_id and alert.cause_key == REFUSED_ALERT_KEY
    assert alert.severity == "WARN" and alert.concern_id == "never-lose-an-invoice"
    assert "link.pdf" in alert.message and "copy the file itself" in alert.message
    assert set(alert.evidence["refused"]) == set(first.refused)

    for _ in range(5):  # the sensor scans again and again: no new alert, no new occurrence
        again = take_inbox(ws, settle_seconds=1)
        assert again.refused_new == [] and set(again.refused) == set(first.refused)
        assert announce_refusals(again) is None
    [alert] = list_alerts("invoice_ocr", status="open")
    assert alert.occurrences == 1

    (ws.inbox / "another-link.pdf").symlink_to(tmp_path / "elsewhere.pdf")
    grown = take_inbox(ws, settle_seconds=1)
    assert grown.refused_new == ["another-link.pdf"]
    announce_refusals(grown)
    [alert] = list_alerts("invoice_ocr", status="open")  # still one alert, counted once more
    assert alert.occurrences == 2 and "another-link.pdf" in alert.message

    for name in ("link.pdf", "another-link.pdf", "folder-link", ".DS_Store", "pipe.pdf", "half.pdf.part"):
        (ws.inbox / name).unlink()
    (ws.inbox / ".sync" / "state.pdf").unlink()
    (ws.inbox / ".sync").rmdir()
    clean = take_inbox(ws, settle_seconds=1)
    assert clean.refused == {}
    announce_refusals(clean)
    assert list_alerts("invoice_ocr", status="open") == []
    [resolved] = list_alerts("invoice_ocr", status="resolved")
    assert resolved.id == alert_id


def test_status_and_reconciliation_list_refused_entries_beside_the_gap(tmp_path: Path) -> None:
    ws = _odd_inbox(tmp_path)
    take_inbox(ws, settle_seconds=1)
    recon = reconcile(ws)
    assert recon.received == 1 and recon.gap == 0  # never received as invoices: not in the gap
    assert recon.refused_at_door == 6
    assert {r["name"] for r in recon.refused} >= {"link.pdf", "pipe.pdf"}

    result = CliRunner().invoke(app, ["status", "--root", str(ws.root)])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["refused_at_door"] == 6
    assert "refused at the door: link.pdf (symlink" in result.stderr
    assert "to do: copy the file itself into the inbox" in result.stderr


def test_the_inbox_sensor_raises_a_symlink_once_not_an_error_every_tick(
    inloop_env: Path, tmp_path: Path
) -> None:
    import dagster as dg

    from inloop.alerts import raise_alert
    from invoice_ocr.definitions import defs
    from invoice_ocr.defs.resources import resources
    from invoice_ocr.defs.sensors import invoice_inbox_sensor

    workspace = Workspace.default().prepare()
    # What the sensor raised before: an ERROR alert per link, counted at every scan; it is resolved now.
    raise_alert(
        domain="invoice_ocr",
        concern_id="never-lose-an-invoice",
        source="intake",
        cause_key="inbox:invoice_ocr:Rechnung.pdf",
        title="A file in the invoice inbox cannot be taken",
        message="a symbolic link",
        severity="ERROR",
    )
    (tmp_path / "target.pdf").write_bytes(b"%PDF-1.4 elsewhere")
    (workspace.inbox / "Rechnung.pdf").symlink_to(tmp_path / "target.pdf")
    with dg.instance_for_test() as instance:
        for _ in range(4):
            invoice_inbox_sensor(dg.build_sensor_context(instance=instance, definitions=defs, resources=resources()))
    alerts = list_alerts("invoice_ocr", status="open")
    assert [(a.severity, a.occurrences, a.status) for a in alerts] == [("WARN", 1, "open")]
    [old] = list_alerts("invoice_ocr", status="resolved")
    assert old.severity == "ERROR" and old.cause_key == "inbox:invoice_ocr:Rechnung.pdf"
    assert "Rechnung.pdf" in alerts[0].message and "refused at the door" in alerts[0].title
    assert (workspace.inbox / "Rechnung.pdf").is_symlink()
