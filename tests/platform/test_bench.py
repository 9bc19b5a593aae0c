"""``inloop bench --quick`` end to end: every measurement runs and lands in the report (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXPECTED_GROUPS = {
    "prediction log",
    "Serving overhead (POST /credit/decisions)",
    "Invoice throughput (intake -> OCR -> validation -> booking)",
    "Monitoring scale (GX schema suite + Evidently PSI drift, credit)",
    "End to end",
    "console",
}


@pytest.mark.slow
def test_quick_bench_writes_every_figure_group(tmp_path: Path) -> None:
    out = tmp_path / "results"
    inloop = Path(sys.executable).with_name("inloop")
    proc = subprocess.run([str(inloop), "bench", "--quick", "--out", str(out)], capture_output=True, text=True,
                          timeout=900, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    (json_path,) = out.glob("*-quick.json")
    report = json.loads(json_path.read_text())
    assert report["meta"]["mode"] == "quick"
    assert {"prediction_log", "credit", "invoice_ocr", "end_to_end", "console"} <= set(report["meta"]["measurements"])
    figures = report["figures"]
    assert {f["group"] for f in figures} >= EXPECTED_GROUPS
    for f in figures:
        assert f["runs"] >= 1 and f["min"] <= f["median"] <= f["max"], f
        if f["goal"] is not None and f["met"] is not None:
            assert isinstance(f["met"], bool)
    # The logging-on server really logged what it served; every service of `inloop up` answered.
    (logged,) = [f for f in figures if f["name"].startswith("prediction log rows written")]
    assert logged["met"] is True, logged
    (answering,) = [f for f in figures if f["name"] == "services answering after inloop up"]
    assert answering["met"] is True, answering
    # Scaling curves become plots; the Markdown table names every group.
    assert any(p.suffix == ".png" for p in out.iterdir())
    markdown = json_path.with_suffix(".md").read_text()
    for group in EXPECTED_GROUPS:
        assert f"## {group}" in markdown
