"""``inloop incident start|stop|list|report`` and ``inloop world run``: the simulated world's command line."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

__all__ = ["exit_on_sigterm", "incident_app", "world_app"]


def exit_on_sigterm() -> None:
    """Make SIGTERM end this process cleanly (exit 0), even where it was started with SIGTERM ignored.

    A process inherits an ignored signal from its parent (some supervisors and sandboxes start
    background jobs so), and Python keeps it ignored: ``kill PID`` would then do nothing.
    """

    def _stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)

incident_app = typer.Typer(
    help="Break the simulated world (never the platform) and see how fast the platform notices.",
    no_args_is_help=True,
)
world_app = typer.Typer(
    help="The simulated world: traffic through the real entry points on a fast clock.", no_args_is_help=True
)


@incident_app.command("start")
def start(ref: Annotated[str, typer.Argument(help="DOMAIN:KIND, e.g. credit:unit-change")]) -> None:
    """Inject an incident into the world; the running platform is not told."""
    from inloop.world import WorldError, start_incident

    try:
        record = start_incident(ref)
    except WorldError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{ref} started at {record['started_at']} (simulated {record['simulated_started_at']})")


@incident_app.command("stop")
def stop(ref: Annotated[str, typer.Argument(help="DOMAIN:KIND")]) -> None:
    """End a running incident: the world behaves as before."""
    from inloop.world import WorldError, stop_incident

    try:
        record = stop_incident(ref)
    except WorldError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{ref} stopped at {record['stopped_at']}")


@incident_app.command("list")
def list_incidents() -> None:
    """Every incident injected, with time to detect (first failing check), to alert and to recover."""
    from inloop.world import describe, incident_kinds, incident_times, world_clock

    times = incident_times()
    if not times:
        typer.echo("no incident injected yet; kinds: " + ", ".join(sorted(incident_kinds())))
        return
    clock = world_clock()
    for row in (describe(t, clock) for t in times):
        typer.echo("  ".join(f"{k}: {v}" for k, v in row.items()))


@incident_app.command("report")
def report(ref: Annotated[str | None, typer.Argument(help="DOMAIN:KIND (default: every incident injected)")] = None) -> None:
    """Per incident: times to detect, alert, recover, and the card's outage-impact ladder against what was observed."""
    from inloop.domains import get_domain
    from inloop.world import incident_kinds, incident_times, render_incident_report, world_clock

    kinds = incident_kinds()
    if ref is not None and ref not in kinds:
        known = ", ".join(sorted(kinds)) or "none"
        typer.echo(f"error: no incident {ref!r}; known: {known}", err=True)
        raise typer.Exit(2)
    times = [t for t in incident_times() if ref is None or t.ref == ref]
    if not times:
        typer.echo("no incident injected yet" + ("" if ref else "; kinds: " + ", ".join(sorted(kinds))))
        return
    clock = world_clock()
    for t in times:
        domain = t.ref.partition(":")[0]
        ladder = get_domain(domain).card().outage_impact.buckets()
        kind = kinds.get(t.ref)
        typer.echo(render_incident_report(t, clock, ladder, kind.concerns if kind else ()))
        typer.echo("")


@world_app.command("run")
def run(
    days: Annotated[int | None, typer.Option(min=1, help="Stop after this many simulated days.")] = None,
    api_url: Annotated[str | None, typer.Option(help="The API (default: this checkout's).")] = None,
) -> None:
    """Send each domain's simulated arrivals, one simulated day per INLOOP_WORLD_DAY_SECONDS (SIGTERM stops it)."""
    from inloop.settings import get_settings
    from inloop.world import run_world

    exit_on_sigterm()
    settings = get_settings()
    if not settings.world:
        typer.echo("the simulated world is off (INLOOP_WORLD=off): nothing to run")
        return
    url = api_url or f"http://127.0.0.1:{settings.api_port}"
    sent = run_world(base_url=url, token=settings.resolved_api_token(), days=days, echo=typer.echo)
    typer.echo(f"{sent} arrivals sent")
