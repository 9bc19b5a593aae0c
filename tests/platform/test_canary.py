"""The canary's figures and gates from the prediction log and labels, on a real MLflow registry."""

from __future__ import annotations

import random

import pytest

from inloop import tracking
from inloop.canary import (
    CanaryReport,
    VersionStats,
    canary_gates,
    canary_report,
    challenger_version,
    routes_to_challenger,
    stage_candidate,
)
from inloop.predictions import PredictionEntry, log_predictions
from inloop.serving import ServedModel


def _spec(name: str) -> ServedModel:
    return ServedModel(domain=f"shop_{name}", model_name=name, component="box", score_key="score",
                       decision_key="decision", label_name="bought")


def _register_two_versions(name: str) -> None:
    import mlflow

    mlc = tracking.client()
    mlc.create_registered_model(name)
    gates = [tracking.GateResult("beats_baseline", True, "ok")]
    for expected in ("champion", "challenger"):
        with tracking.start_run(f"shop_{name}", "train") as run:
            mlflow.log_metric("auc", 0.7)
        version = mlc.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id).version
        assert stage_candidate(f"shop_{name}", name, version, gates).stage == expected


def _traffic(name: str, n: int, *, challenger_is_good: bool, challenger_latency_ms: float | None = 2.0) -> None:
    """``n`` logged requests, every fourth on the canary; latencies are recorded figures, never measured."""
    from inloop.db import session
    from inloop.db.models import Label

    rng = random.Random(3)
    entries, labels = [], []
    for i in range(n):
        subject = f"s{i}"
        bought = float((i // 4) % 2)
        champion_score = 0.8 if bought else 0.2  # the champion ranks perfectly
        on_canary = i % 4 == 0
        score = (champion_score if challenger_is_good else rng.random()) if on_canary else champion_score
        output = {"score": score, "decision": "show" if score > 0.5 else "hide",
                  "canary": {"role": "challenger" if on_canary else "champion", "champion_version": "1"}}
        if on_canary:
            output["canary"].update(champion_decision="show" if champion_score > 0.5 else "hide",
                                    champion_score=champion_score)
        entries.append(PredictionEntry(domain=f"shop_{name}", component="box", features={"i": i}, output=output,
                                       model_name=name, model_version="2" if on_canary else "1",
                                       subject_id=subject,
                                       latency_ms=challenger_latency_ms if on_canary else 1.5))
        labels.append(Label(domain=f"shop_{name}", subject_id=subject, name="bought", value=bought))
    log_predictions(entries)
    with session() as sess:
        sess.add_all(labels)


def test_routing_is_sticky_and_follows_the_share(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [f"applicant-{i}" for i in range(20_000)]
    share = sum(routes_to_challenger(i, 0.05) for i in ids) / len(ids)
    assert 0.04 < share < 0.06
    assert [routes_to_challenger(i, 0.05) for i in ids[:500]] == [routes_to_challenger(i, 0.05) for i in ids[:500]]
    assert not any(routes_to_challenger(i, 0.0) for i in ids[:500])
    monkeypatch.setenv("INLOOP_CANARY_SHARE", "0")
    from inloop.settings import reset_settings

    reset_settings()
    assert not any(routes_to_challenger(i) for i in ids[:500])


@pytest.mark.rubric("infra-6")
def test_the_canary_holds_back_a_challenger_that_ranks_worse_on_live_labels_and_passes_an_equal_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INLOOP_CANARY_MIN_AGREEMENT", "0.3")
    from inloop.settings import reset_settings

    reset_settings()
    _register_two_versions("worse")
    _traffic("worse", 400, challenger_is_good=False)
    report = canary_report("shop_worse", _spec("worse"))
    mine, theirs = report.of("challenger"), report.of("champion")
    assert (mine.requests, theirs.requests) == (100, 300)
    assert (mine.latency_p95_ms, theirs.latency_p95_ms) == (2.0, 1.5)
    assert theirs.live_auc == 1.0 and mine.live_auc is not None and mine.live_auc < 0.8
    assert report.compared == 100 and 0.3 < report.agreement < 0.8
    gates = {g.name: g for g in canary_gates(report)}
    assert gates["canary_traffic"].passed and gates["canary_latency"].passed and gates["canary_agreement"].passed
    assert not gates["canary_live_quality"].passed and "live AUC" in gates["canary_live_quality"].detail
    assert challenger_version("worse") == "2"

    _register_two_versions("equal")
    _traffic("equal", 200, challenger_is_good=True)
    report = canary_report("shop_equal", _spec("equal"))
    assert report.agreement == 1.0 and report.mean_abs_score_diff == 0.0 and report.of("challenger").live_auc == 1.0
    assert all(g.passed for g in canary_gates(report)), canary_gates(report)

    # A newer gated candidate takes over the canary; the one it replaces says so.
    import mlflow

    mlc = tracking.client()
    with tracking.start_run("shop_equal", "train") as run:
        mlflow.log_metric("auc", 0.72)
    v3 = mlc.create_model_version("equal", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id).version
    assert stage_candidate("shop_equal", "equal", v3, [tracking.GateResult("g", True, "ok")]).stage == "challenger"
    assert challenger_version("equal") == "3" and tracking.champion_version("equal") == "1"
    assert mlc.get_model_version("equal", "2").tags["inloop.promotion"] == "superseded by v3"


@pytest.mark.rubric("infra-6")
def test_the_latency_gate_refuses_a_slow_challenger_from_recorded_latencies() -> None:
    """The gate's logic, fed logged latencies (champion p95 1.5 ms): the verdict never depends on this machine."""
    from inloop.canary import promote_challenger

    _register_two_versions("slow")
    _traffic("slow", 200, challenger_is_good=True, challenger_latency_ms=4.5)  # 3x the champion, limit 2x
    report = canary_report("shop_slow", _spec("slow"))
    assert (report.of("challenger").latency_p95_ms, report.of("champion").latency_p95_ms) == (4.5, 1.5)
    gates = {g.name: g for g in canary_gates(report)}
    assert not gates["canary_latency"].passed
    assert gates["canary_latency"].detail == "p95 4.50 ms vs champion 1.50 ms (ratio 3.00, at most 2.0)"
    assert all(g.passed for name, g in gates.items() if name != "canary_latency"), gates  # latency alone refuses

    decision, _ = promote_challenger("shop_slow", _spec("slow"))
    assert not decision.promoted and [g.name for g in decision.failed_gates] == ["canary_latency"]
    tags = tracking.client().get_model_version("slow", "2").tags
    assert "canary_latency" in tags["inloop.promotion_refused_by"] and tags["inloop.promotion"] == "challenger"
    assert (tracking.champion_version("slow"), challenger_version("slow")) == ("1", "2")


def _recorded(challenger_p95_ms: float | None, champion_p95_ms: float | None) -> CanaryReport:
    """A canary report as the prediction log would give it, with these p95 latencies (ms)."""
    return CanaryReport("shop_recorded", "recorded", "1", "2", None,
                        (VersionStats("2", "challenger", 100, challenger_p95_ms, challenger_p95_ms),
                         VersionStats("1", "champion", 300, champion_p95_ms, champion_p95_ms)),
                        compared=100, agreement=1.0, mean_abs_score_diff=0.0)


@pytest.mark.parametrize(("challenger_ms", "champion_ms", "passes", "detail"), [
    (3.0, 1.5, True, "p95 3.00 ms vs champion 1.50 ms (ratio 2.00, at most 2.0)"),  # exactly the limit
    (3.01, 1.5, False, "p95 3.01 ms vs champion 1.50 ms (ratio 2.01, at most 2.0)"),
    (0.4, 1.5, True, "p95 0.40 ms vs champion 1.50 ms (ratio 0.27, at most 2.0)"),
    (None, 1.5, False, "the challenger logged no latencies"),
    (2.0, None, True, "no champion latency to compare"),
])
def test_the_latency_gate_judges_recorded_p95_against_the_configured_ratio(
        challenger_ms: float | None, champion_ms: float | None, passes: bool, detail: str) -> None:
    gates = {g.name: g for g in canary_gates(_recorded(challenger_ms, champion_ms))}
    assert (gates["canary_latency"].passed, gates["canary_latency"].detail) == (passes, detail)


def test_a_stricter_latency_ratio_from_the_settings_refuses_what_the_default_allows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from inloop.settings import reset_settings

    assert {g.name: g for g in canary_gates(_recorded(2.4, 1.5))}["canary_latency"].passed
    monkeypatch.setenv("INLOOP_CANARY_MAX_LATENCY_RATIO", "1.5")
    reset_settings()
    gate = {g.name: g for g in canary_gates(_recorded(2.4, 1.5))}["canary_latency"]
    assert not gate.passed and gate.detail.endswith("(ratio 1.60, at most 1.5)")


@pytest.mark.rubric("model-1")
def test_a_promotion_records_its_reviewer_and_one_without_a_reviewer_is_recorded_unreviewed() -> None:
    """Review is recorded (ML Test Score model-1): on the version, in the audit event and on the model card."""
    from typer.testing import CliRunner

    from inloop.alerts import list_alerts
    from inloop.canary import REVIEWED_BY, promote_challenger
    from inloop.cli import app
    from inloop.model_card import review_of

    _register_two_versions("reviewed")
    _traffic("reviewed", 200, challenger_is_good=True)
    decision, _ = promote_challenger("shop_reviewed", _spec("reviewed"), reviewer="  Dana Weber ")
    assert decision.promoted and tracking.champion_version("reviewed") == "2"
    tags = tracking.client().get_model_version("reviewed", "2").tags
    assert (tags[REVIEWED_BY], tags["inloop.review"]) == ("Dana Weber", "reviewed")
    assert review_of(tags) == "reviewed by Dana Weber (inloop models promote --reviewer)"
    (event,) = [a for a in list_alerts(domain="shop_reviewed") if "promoted to champion" in a.title]
    assert "(reviewed by Dana Weber)" in event.title and event.evidence["reviewer"] == "Dana Weber"

    _register_two_versions("unnamed")
    _traffic("unnamed", 200, challenger_is_good=True)
    decision, _ = promote_challenger("shop_unnamed", _spec("unnamed"))
    tags = tracking.client().get_model_version("unnamed", "2").tags
    assert decision.promoted and (tags[REVIEWED_BY], tags["inloop.review"]) == ("", "unreviewed")
    assert review_of(tags) == "unreviewed: promoted without a named reviewer"
    assert review_of({}).startswith("unreviewed: promoted by the training pipeline's gates")

    # the command refuses a promotion nobody reviewed, before it touches anything
    missing = CliRunner().invoke(app, ["models", "promote", "credit", "--no-reload"])
    assert missing.exit_code == 2 and "--reviewer" in missing.output
    blank = CliRunner().invoke(app, ["models", "promote", "credit", "--reviewer", " ", "--no-reload"])
    assert blank.exit_code != 0 and "--reviewer must name the person" in blank.output
