"""The review policy on real OCR readings: tuned (trials in MLflow), compared with a regex baseline, gated, served.

Two synthetic invoices are read once by the real engine. Two more cases are the same readings with
what a poor scan does: one has a digit of the invoice number misread at OCR score 0.70 (no booking
rule but the confidence cut-off can catch it), one is read right but at score 0.88 on its total.
A cut-off at or below 0.70 books the misread; one above 0.88 sends the right invoice to a person.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from invoice_ocr.lib import policy as P
from invoice_ocr.lib.dataset import write_invoice
from invoice_ocr.lib.extract import extract_fields
from invoice_ocr.lib.invoices import AS_OF
from invoice_ocr.lib.ocr import OcrEngine
from invoice_ocr.lib.suppliers import generate_suppliers
from invoice_ocr.lib.workspace import Workspace

pytestmark = pytest.mark.slow  # real OCR of two pages (10-20 s each on a busy 2-core machine)

SUPPLIERS = generate_suppliers(40, seed=7)
MASTER = [s.to_dict() for s in SUPPLIERS]


def _with_line(case: P.EvalCase, field: str, *, text: str | None = None, score: float, name: str) -> P.EvalCase:
    """The case with the OCR line the field was read from changed (as a poorer scan would read it)."""
    source = extract_fields(list(case.lines), MASTER).fields[field].source
    lines = tuple(dataclasses.replace(ln, text=text(ln.text) if callable(text) else (text or ln.text), score=score)
                  if ln.text == source else ln for ln in case.lines)
    assert lines != case.lines, f"no OCR line {source!r} for {field}"
    return P.EvalCase(name, lines, case.truth)


def _misread(text: str) -> str:
    """One digit of the invoice number read wrong (3 -> 8, or any digit -> the next)."""
    for i, ch in enumerate(text):
        if ch.isdigit() and i > len(text) // 2:
            return text[:i] + str((int(ch) + 5) % 10) + text[i + 1:]
    raise AssertionError(f"no digit to misread in {text!r}")


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> list[P.EvalCase]:
    folder = tmp_path_factory.mktemp("evaluation")
    read = P.read_cases([write_invoice(i, SUPPLIERS, folder, seed=42).path for i in (1, 2)], OcrEngine())
    misread = _with_line(read[0], "invoice_number", text=_misread, score=0.70, name="misread-number")
    unsure = _with_line(read[1], "total", score=0.88, name="unsure-but-right")
    return [*read, misread, unsure]


@pytest.mark.rubric("model-3")
def test_tuning_logs_every_trial_to_mlflow_and_the_chosen_cutoff_is_served(cases, inloop_env: Path) -> None:  # type: ignore[no-untyped-def]
    from inloop.tracking import client

    result = P.tune(cases, MASTER, AS_OF, budget=6, seed=0)
    trials = result.trials.set_index("min_confidence")["value"]
    assert list(trials.index)[0] == 0.8  # the incumbent (the defaults) first
    assert len(trials) == 6 and {0.7, 0.9} <= set(trials.index)
    assert trials[0.7] < trials[0.8]  # a low cut-off books the misread invoice number
    assert trials[0.9] < trials[0.8]  # a high one sends the right, slightly unsure invoice to a person
    assert result.best_params["min_confidence"] == 0.8
    children = client().search_runs([client().get_run(result.run_id).info.experiment_id],
                                     filter_string=f"tags.`inloop.search` = '{result.run_id}'")
    assert len(children) == 6

    workspace = Workspace(inloop_env / "ws").prepare()
    record = P.adopt(workspace, P.ReviewPolicy(**result.best_params), cases, MASTER, AS_OF, min_slice=3,
                     search_run_id=result.run_id)
    served = P.load_policy(workspace)
    assert served == P.ReviewPolicy(0.8) and record["fingerprint"] == served.fingerprint()
    stored = json.loads((workspace.root / P.POLICY_FILE).read_text())
    assert stored["search_run_id"] == result.run_id
    assert len(stored["reference_profile"]["min_confidence"]) == len(cases)  # what live scans are compared with


@pytest.mark.rubric("model-5", "infra-4")
def test_a_policy_not_better_than_the_regex_baseline_or_below_the_card_is_refused(cases, inloop_env: Path) -> None:  # type: ignore[no-untyped-def]
    baseline = P.evaluate_baseline(cases, MASTER)
    pipeline = P.evaluate(cases, MASTER, P.ReviewPolicy(0.8), AS_OF)
    assert (pipeline.booked, pipeline.booked_wrong) == (3, 0)  # only the misread number went to a person
    assert pipeline.value > baseline.value
    assert all(g.passed for g in P.gate(pipeline, baseline, min_slice=3))

    workspace = Workspace(inloop_env / "ws").prepare()
    P.adopt(workspace, P.ReviewPolicy(0.8), cases, MASTER, AS_OF, min_slice=3)
    served_before = (workspace.root / P.POLICY_FILE).read_text()
    with pytest.raises(P.PolicyRefused) as refused:  # books the misread invoice number
        P.adopt(workspace, P.ReviewPolicy(0.5), cases, MASTER, AS_OF, min_slice=3)
    failed = {g.name for g in refused.value.gates if not g.passed}
    assert "booked_field_accuracy" in failed
    assert (workspace.root / P.POLICY_FILE).read_text() == served_before  # the served policy stays

    # A policy that books nothing can never be wrong, and is no better than the baseline's value either.
    nothing = P.evaluate(cases, MASTER, P.ReviewPolicy(1.0), AS_OF)
    gates = {g.name: g for g in P.gate(nothing, dataclasses.replace(baseline, booked=0, booked_wrong=0), min_slice=1)}
    assert not gates["better_than_baseline"].passed and not gates["stp_rate"].passed


@pytest.mark.rubric("model-6", "model-7")
def test_the_gate_names_the_supplier_group_a_policy_books_wrong_or_leaves_behind(cases) -> None:  # type: ignore[no-untyped-def]
    baseline = P.evaluate_baseline(cases, MASTER)
    misread, unsure = cases[2], cases[3]
    careless = P.evaluate(cases, MASTER, P.ReviewPolicy(0.5), AS_OF)
    assert careless.slices["layout"][misread.slice("layout")]["booked_wrong"] == 1
    gates = {g.name: g for g in P.gate(careless, baseline, min_slice=1)}
    assert not gates["slices_by_layout"].passed and misread.slice("layout") in gates["slices_by_layout"].detail

    strict = P.evaluate(cases, MASTER, P.ReviewPolicy(0.95), AS_OF)
    country = unsure.slice("country")
    behind = {g.name: g for g in P.gate(strict, baseline, min_slice=1)}
    # Every group with the unsure invoice alone falls behind; a group with other invoices may not.
    alone = [by for by in ("layout", "language", "country")
             if strict.slices[by][unsure.slice(by)]["invoices"] == 1]
    for by in alone:
        assert not behind[f"slices_by_{by}"].passed and unsure.slice(by) in behind[f"slices_by_{by}"].detail
    assert country in strict.slices["country"]
    # Groups below the minimum size are reported, not judged.
    assert all(g.passed for g in P.gate(strict, baseline, min_slice=50) if g.name.startswith("slices_by_"))


@pytest.mark.rubric("infra-7")
def test_the_served_policy_rolls_back_to_the_one_before_in_one_command(cases, inloop_env: Path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from invoice_ocr.commands import app

    workspace = Workspace(inloop_env / "ws").prepare()
    first = P.adopt(workspace, P.ReviewPolicy(0.75), cases, MASTER, AS_OF, min_slice=3)
    P.adopt(workspace, P.ReviewPolicy(0.85), cases, MASTER, AS_OF, min_slice=3)
    assert P.load_policy(workspace) == P.ReviewPolicy(0.85)

    root = ["--root", str(workspace.root)]
    back = CliRunner().invoke(app, ["rollback-policy", "--by", "anna", *root])
    assert back.exit_code == 0, back.output
    assert P.load_policy(workspace) == P.ReviewPolicy(0.75)
    assert first["fingerprint"] in back.output
    history = [json.loads(line) for line in (workspace.root / P.HISTORY_FILE).read_text().splitlines()]
    assert [(h["kind"], h["policy"]["min_confidence"]) for h in history] == [
        ("adopted", 0.75), ("adopted", 0.85), ("rollback", 0.75)]
    assert history[-1]["by"] == "anna"

    assert CliRunner().invoke(app, ["rollback-policy", "--by", "anna", *root]).exit_code == 0
    assert P.load_policy(workspace) == P.ReviewPolicy()  # nothing adopted before 0.75: the defaults
    nothing = CliRunner().invoke(app, ["rollback-policy", "--by", "anna", *root])
    assert nothing.exit_code == 1 and "no adopted review policy" in nothing.output
