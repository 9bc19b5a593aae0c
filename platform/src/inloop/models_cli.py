"""CLI for served models and performance: ``inloop models ...``, ``inloop model-card``, ``inloop bench [compare]``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["bench_app", "model_card", "models_app"]

models_app = typer.Typer(help="Served models: canary status, promotion of the challenger, rollback.",
                         no_args_is_help=True)
bench_app = typer.Typer(help="Measure the platform's costs (no sub-command), compare results (compare), or run the "
                             "quick fixed regression watch (watch).",
                        invoke_without_command=True)


#: Where the committed bench results live (relative to the repository root, where `make bench` runs).
COMMITTED_RESULTS = Path("bench/results")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _spec(domain: str):  # type: ignore[no-untyped-def]
    from inloop.domains import UnknownDomainError
    from inloop.serving import served_model

    try:
        return served_model(domain)
    except (UnknownDomainError, LookupError, TypeError) as exc:
        raise _fail(str(exc)) from None


@models_app.command("status")
def models_status(
    domain: Annotated[str, typer.Argument(help="Domain, e.g. credit.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the canary report as JSON.")] = False,
) -> None:
    """Champion and challenger, and the canary's figures (latency, scores, agreement, live quality)."""
    from inloop.canary import canary_gates, canary_report

    report = canary_report(domain, _spec(domain))
    if as_json:
        typer.echo(json.dumps({"report": report.to_dict(),
                               "gates": [g.__dict__ for g in canary_gates(report)]}, indent=2, default=str))
        return
    typer.echo(f"{report.model_name}: champion v{report.champion or '-'}, challenger v{report.challenger or '-'}")
    for s in report.stats:
        typer.echo(f"  {s.role:10} v{s.version}: {s.requests} requests, p50 {s.latency_p50_ms} ms, "
                   f"p95 {s.latency_p95_ms} ms, score mean {s.score_mean} (p10 {s.score_p10}, p90 {s.score_p90}), "
                   f"decisions {s.decisions}, live AUC {s.live_auc} on {s.labelled} outcomes")
    if report.challenger:
        typer.echo(f"  agreement with the champion: {report.agreement} on {report.compared} canary requests")
        for g in canary_gates(report):
            typer.echo(f"  {'ok    ' if g.passed else 'FAILED'} {g.name}: {g.detail}")


@models_app.command("promote")
def models_promote(
    domain: Annotated[str, typer.Argument(help="Domain, e.g. credit.")],
    reviewer: Annotated[str, typer.Option(help="Who reviewed this promotion (recorded with it and shown on the "
                                               "model card); required.")],
    reload: Annotated[bool, typer.Option(help="Ask the running API to reload its models afterwards.")] = True,
) -> None:
    """Promote the challenger to champion, only if its canary metrics hold; exit 1 when refused.

    A promotion is a reviewed change (ML Test Score model-1): ``--reviewer`` names the person who
    reviewed it; it is stored on the version and in the audit event, and the model card shows it.
    """
    from inloop.canary import promote_challenger, reload_running_api

    if not reviewer.strip():
        raise _fail("--reviewer must name the person who reviewed this promotion (it is recorded with it)")
    decision, report = promote_challenger(domain, _spec(domain), reviewer=reviewer.strip())
    for g in decision.gates:
        typer.echo(f"  {'ok    ' if g.passed else 'FAILED'} {g.name}: {g.detail}")
    if report.challenger is None:
        raise _fail(f"{report.model_name} has no challenger to promote (champion v{report.champion or '-'})", 1)
    typer.echo(decision.reason)
    if not decision.promoted:
        raise typer.Exit(1)
    if reload:
        typer.echo(reload_running_api())


@models_app.command("rollback")
def models_rollback(
    domain: Annotated[str, typer.Argument(help="Domain, e.g. credit.")],
    to: Annotated[str | None, typer.Option("--to", help="Version to serve (default: the previous champion).")] = None,
    reload: Annotated[bool, typer.Option(help="Ask the running API to reload its models afterwards.")] = True,
) -> None:
    """Point the champion back at the previous (or a named) version; logged as an alert and MLflow tags."""
    from mlflow.exceptions import MlflowException

    from inloop.canary import reload_running_api, rollback

    if to is not None and not to.isdigit():
        raise _fail(f"--to takes a registered version number, got {to!r}")
    try:
        event = rollback(domain, to, spec=_spec(domain))
    except (ValueError, MlflowException) as exc:
        raise _fail(str(exc).splitlines()[0]) from None
    typer.echo(f"{event.model_name}: champion v{event.from_version} -> v{event.to_version} (alert #{event.alert_id})")
    if reload:
        typer.echo(reload_running_api())


def model_card(
    domain: Annotated[str, typer.Argument(help="Domain, e.g. credit.")],
    version: Annotated[str | None, typer.Option(help="Model version (default: the champion).")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the Markdown here.")] = None,
) -> None:
    """The champion's model card (Mitchell et al. 2019) as Markdown, from the project card, MLflow and slices."""
    from inloop.model_card import build_model_card, render_model_card

    _spec(domain)
    try:
        text = render_model_card(build_model_card(domain, version))
    except LookupError as exc:
        raise _fail(str(exc)) from None
    if output is None:
        typer.echo(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        typer.echo(f"written: {output}")


@bench_app.callback()
def bench(
    ctx: typer.Context,
    quick: Annotated[bool, typer.Option(help="Small sizes and few repeats (a few minutes).")] = False,
    only: Annotated[list[str] | None, typer.Option(help="Run only these measurements (repeatable).")] = None,
    out: Annotated[Path, typer.Option(help="Where results go.")] = Path("bench/results"),
) -> None:
    """Measure the platform's costs as ratios against the bare work; write JSON, Markdown and plots; then
    compare with the last committed results."""
    if ctx.invoked_subcommand is not None:
        return
    from inloop.bench.compare import compare_results
    from inloop.bench.runner import run_bench

    try:
        paths = run_bench(quick=quick, only=only, out_dir=out, echo=typer.echo)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo("\n" + paths["md"].read_text())
    typer.echo("written: " + ", ".join(str(p) for p in paths.values()))
    # Against the committed results in the repository, wherever this run wrote its own.
    typer.echo(compare_results(paths["json"], baseline_dir=COMMITTED_RESULTS).report())


@bench_app.command("watch")
def bench_watch(
    out: Annotated[Path, typer.Option(help="Where the watch result goes (a temporary folder in CI).")] = Path(
        "bench/results"),
    baseline_dir: Annotated[Path, typer.Option(help="The committed results to compare with.")] = COMMITTED_RESULTS,
    tolerance: Annotated[float | None, typer.Option(min=0, help="Relative slow-down allowed (default 0.5).")] = None,
) -> None:
    """The quick fixed benchmark (under two minutes): compared with the last committed watch result; exit 1
    (and an alert) if a figure regressed past the tolerance. CI runs it, and a nightly schedule."""
    from inloop.bench.watch import WATCH_TOLERANCE, watch

    try:
        paths, comparison = watch(out, baseline_dir=baseline_dir,
                                  tolerance=WATCH_TOLERANCE if tolerance is None else tolerance, echo=typer.echo)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo("\n" + paths["md"].read_text())
    typer.echo(comparison.report())
    if comparison.regressions:
        raise typer.Exit(1)


@bench_app.command("compare")
def bench_compare(
    new: Annotated[Path | None, typer.Argument(help="A bench result JSON (default: the newest in bench/results).")] = None,
    baseline: Annotated[Path | None, typer.Option(help="Compare with this result (default: the last committed "
                                                       "result of the same mode, per figure).")] = None,
    tolerance: Annotated[float | None, typer.Option(min=0, help="Relative slow-down allowed (default: settings).")] = None,
) -> None:
    """Compare a bench result with the last committed one; exit 1 (and alert) if a figure regressed."""
    from inloop.bench.compare import compare_results

    if new is None:
        found = sorted(COMMITTED_RESULTS.glob("*.json"))
        if not found:
            raise _fail("no bench results in bench/results; run `inloop bench` or name a file")
        new = found[-1]
    try:
        comparison = compare_results(new, baseline, tolerance=tolerance)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(comparison.report())
    if comparison.regressions:
        raise typer.Exit(1)
