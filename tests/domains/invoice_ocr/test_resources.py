"""invoice_ocr's outside systems are resources: a test swaps the workspace in a real Dagster run and in the API."""

from __future__ import annotations

import io
from pathlib import Path

import dagster as dg
from fastapi.testclient import TestClient
from PIL import Image

from inloop.api.app import create_app
from invoice_ocr.api import invoice_workspace
from invoice_ocr.definitions import defs
from invoice_ocr.defs.assets import supplier_master, synthetic_invoices
from invoice_ocr.defs.resources import INVOICE_WORKSPACE, InvoiceWorkspace, resources
from invoice_ocr.lib.ledger import Ledger
from invoice_ocr.lib.workspace import Workspace


def test_the_code_location_binds_the_workspace_beside_the_platform_resources() -> None:
    assert set(defs.resources or {}) >= {INVOICE_WORKSPACE, "data_directory", "platform_database", "model_tracking"}
    assert isinstance((defs.resources or {})[INVOICE_WORKSPACE], InvoiceWorkspace)


def test_a_materialisation_writes_into_the_workspace_it_is_given(tmp_path: Path) -> None:
    other = tmp_path / "another-installation"
    result = dg.materialize(
        [supplier_master, synthetic_invoices],
        run_config={"ops": {"invoice_ocr__synthetic_invoices": {"config": {"count": 2, "seed": 3}}}},
        resources=resources(InvoiceWorkspace(root=str(other))),
    )
    assert result.success
    swapped = Workspace(other)
    assert swapped.supplier_master_path.is_file()
    assert len(list((swapped.synthetic_dir / "seed-3").glob("*.json"))) == 2  # ground truth beside each scan
    assert len([p for p in swapped.inbox.iterdir() if p.is_file()]) == 2  # delivered as the scanner would
    default = Workspace.default()  # where the settings point: untouched
    assert not default.supplier_master_path.exists() and not default.synthetic_dir.exists()


def test_unset_the_workspace_follows_the_settings_when_the_run_starts(inloop_env: Path) -> None:
    result = dg.materialize([supplier_master], resources=resources())
    assert result.success
    assert (inloop_env / "domains" / "invoice_ocr" / "supplier_master.json").is_file()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (60, 80), 255).save(buf, format="PNG")
    return buf.getvalue()


def test_the_api_takes_the_workspace_as_a_dependency_that_a_test_overrides(tmp_path: Path) -> None:
    other = Workspace(tmp_path / "api-installation")
    app = create_app()
    app.dependency_overrides[invoice_workspace] = lambda: other
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {client.app.state.api_token}"
        sent = client.post("/invoices", files={"file": ("scan.png", _png(), "image/png")})
        assert sent.status_code == 201, sent.text
        shown = client.get(f"/invoices/{sent.json()['invoice_id']}")
        assert shown.status_code == 200 and shown.json()["original_name"] == "scan.png"
    with Ledger(other.ledger_path) as ledger:
        assert [s["original_name"] for s in ledger.submissions()] == ["scan.png"]
    assert not Workspace.default().ledger_path.exists()  # nothing went to the settings' workspace
