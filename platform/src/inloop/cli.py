"""The ``inloop`` command line (Typer). ``inloop --help`` lists the commands."""

from __future__ import annotations

import importlib.metadata
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from inloop.cards import CardError, lint_card
from inloop.data_check import data_app
from inloop.data_quality_cli import data_quality_command
from inloop.domains import DomainPlugin, UnknownDomainError, discover_domains, get_domain
from inloop.incidents.cli import bug_app, postmortem_app, replay
from inloop.models_cli import bench_app, model_card, models_app
from inloop.privacy.cli import forget_command
from inloop.world_cli import exit_on_sigterm, incident_app, world_app

app = typer.Typer(
    name="inloop",
    help="inloop: the MLOps platform that keeps stakeholders in the loop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The platform database (migrations).", no_args_is_help=True)
demo_app = typer.Typer(help="Worst-case demos: executable stories that must stay true.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts raised by concern checks and failed runs.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(alerts_app, name="alerts")
app.add_typer(postmortem_app, name="postmortem")
app.add_typer(bug_app, name="bugs")
app.command("replay")(replay)
app.command("forget")(forget_command)
app.command("data-quality")(data_quality_command)
app.add_typer(data_app, name="data")
app.add_typer(models_app, name="models")
app.add_typer(bench_app, name="bench")
app.command("model-card")(model_card)
app.add_typer(incident_app, name="incident")
app.add_typer(world_app, name="world")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


@app.command()
def up(
    skip_first_run: Annotated[bool, typer.Option(help="Do not run the domains' pipelines on first start.")] = False,
) -> None:
    """Start Dagster (UI + daemon), the API and the console; first run creates demo data. Ctrl-C stops all."""
    from inloop.launcher import run_up

    raise typer.Exit(run_up(typer.echo, skip_first_run=skip_first_run))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: settings, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default: settings, 8000).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve the API (FastAPI under uvicorn): the domains' models, intake, bug reports, replay (SIGTERM stops it)."""
    import uvicorn

    from inloop.settings import get_settings

    exit_on_sigterm()  # also before uvicorn takes the signal over, and where it was inherited ignored

    settings = get_settings()
    uvicorn.run("inloop.api.app:create_app", factory=True, host=host or settings.api_host,
                port=port or settings.api_port, workers=workers, access_log=False)


@app.command("check-project")
def check_project(
    domain: Annotated[str | None, typer.Argument(help="Domain to lint (default: every installed domain).")] = None,
    strict: Annotated[bool, typer.Option(help="Fail on warnings too.")] = False,
) -> None:
    """Lint project cards: unanswered checklist items, concerns without metric/check, unknown checks or demos."""
    try:
        domains = [get_domain(domain)] if domain else list(discover_domains().values())
    except UnknownDomainError as exc:
        raise _fail(str(exc)) from None
    if not domains:
        raise _fail("no domains installed (entry point group inloop.domains is empty)")
    errors = warnings = 0
    for dom in domains:
        try:
            card = dom.card()
        except CardError as exc:
            typer.secho(str(exc), fg=typer.colors.RED)
            errors += 1
            continue
        try:
            checks = dom.check_names()
        except Exception as exc:  # broken definitions are a finding, not a crash
            typer.secho(f"{dom.card_path}: the domain's Dagster definitions do not load: {exc}", fg=typer.colors.RED)
            errors += 1
            continue
        findings = lint_card(card, checks=checks, demos=set(dom.demos()))
        n_err = sum(f.level == "error" for f in findings)
        n_warn = len(findings) - n_err
        errors += n_err
        warnings += n_warn
        status = "OK" if not n_err else "FAILED"
        color = typer.colors.GREEN if not n_err else typer.colors.RED
        typer.secho(f"{dom.name}: {status} ({len(card.concerns)} concerns, {n_err} errors, {n_warn} warnings)"
                    f" — {dom.card_path}", fg=color)
        for finding in findings:
            typer.echo(f"  {finding}")
    if errors or (strict and warnings):
        raise typer.Exit(1)


@app.command()
def readiness(
    domain: Annotated[str | None, typer.Argument(help="Domain to score (default: every domain).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
    repo: Annotated[Path | None, typer.Option(help="Repository to read (default: this checkout).")] = None,
    fail_under: Annotated[float | None, typer.Option(
        help="Exit 1 when a domain's final score is below this.")] = None,
    brief: Annotated[bool, typer.Option(help="Only the 28 rows, without the evidence under each.")] = False,
) -> None:
    """ML Test Score per domain: the 28 tests with their evidence, section scores, final score, what is missing."""
    from inloop.readiness.report import ReadinessError, domain_reports, render_text

    try:
        reports = domain_reports(domain, repo=repo)
    except ReadinessError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in reports], indent=2, default=str))
    else:
        typer.echo("\n\n".join(render_text(r, verbose=not brief) for r in reports))
    low = [r for r in reports if fail_under is not None and r.final < fail_under]
    if low:
        typer.secho("below --fail-under " + f"{fail_under:g}: " + ", ".join(f"{r.domain} {r.final:g}" for r in low),
                    fg=typer.colors.RED, err=True)
        raise typer.Exit(1)


@app.command("new-domain")
def new_domain(
    name: Annotated[str, typer.Argument(help="The domain's id, snake_case (e.g. churn): package, code location, "
                                             "API prefix.")],
    title: Annotated[str | None, typer.Option(help="One line a stakeholder understands (default: from the name).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the files it would write; write nothing.")] = False,
    no_sync: Annotated[bool, typer.Option("--no-sync", help="Do not run `uv lock` and `uv sync` afterwards.")] = False,
    repo: Annotated[Path | None, typer.Option(help="The workspace root (default: found from the current folder).")] = None,
) -> None:
    """Scaffold a working domain: package, project card, synthetic data, concern check, demo, API, tests."""
    from inloop import scaffold

    try:
        root = scaffold.find_repo_root(repo)
        result = scaffold.new_domain(name, repo_root=root, title=title, dry_run=dry_run, sync=not no_sync,
                                     echo=typer.echo)
    except (scaffold.DomainNameError, scaffold.ScaffoldError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(scaffold.report(result, dry_run=dry_run))


@app.command("remove-domain")
def remove_domain(
    name: Annotated[str, typer.Argument(help="The domain to take out of the workspace.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    no_sync: Annotated[bool, typer.Option("--no-sync", help="Do not run `uv lock` and `uv sync` afterwards.")] = False,
    repo: Annotated[Path | None, typer.Option(help="The workspace root (default: found from the current folder).")] = None,
) -> None:
    """Delete a domain's folders (domains/NAME, tests/domains/NAME) and its workspace entries; re-sync."""
    from inloop import scaffold

    try:
        root = scaffold.find_repo_root(repo)
        if not yes and not typer.confirm(f"Delete domains/{name} and tests/domains/{name} in {root}?"):
            raise typer.Exit(1)
        removed = scaffold.remove_domain(name, repo_root=root, sync=not no_sync, echo=typer.echo)
    except (scaffold.DomainNameError, scaffold.ScaffoldError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"Removed domain {name}: " + ", ".join(map(str, removed)))


@app.command()
def doctor() -> None:
    """Check the installation: versions, paths, database, MLflow, Dagster, domains; say how to fix what is missing."""
    from inloop.doctor import run_doctor

    raise typer.Exit(run_doctor(typer.echo))


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Create or upgrade the platform database schema (Alembic)."""
    from inloop import db
    from inloop.settings import get_settings, redact_url

    url = get_settings().platform_db_url
    typer.echo(f"{redact_url(url)}: at revision {db.upgrade(url, revision)}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the platform database and the latest one the code knows."""
    from inloop import db
    from inloop.settings import get_settings, redact_url

    url = get_settings().platform_db_url
    typer.echo(f"{redact_url(url)}: {db.current_revision(url) or 'blank'} (latest: {db.head_revision()})")


def _parse_demo_ref(ref: str) -> tuple[str, str]:
    domain, sep, demo_id = ref.partition(":")
    if not sep or not domain or not demo_id:
        raise _fail(f"name a demo as DOMAIN:DEMO_ID (e.g. credit:unit-change), got {ref!r}")
    return domain, demo_id


@demo_app.command("list")
def demo_list() -> None:
    """List every domain's worst-case demos."""
    for dom in discover_domains().values():
        for demo in dom.demos().values():
            typer.echo(f"{dom.name}:{demo.id:28} {demo.title}")


@demo_app.command("run")
def demo_run(
    ref: Annotated[str, typer.Argument(help="DOMAIN:DEMO_ID, e.g. invoice_ocr:corrupted-file")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the trace as JSON.")] = False,
) -> None:
    """Run a worst-case demo, printing each step; exit 0 only if every claim of its story held."""
    from inloop.demos import Step, run_demo

    domain, demo_id = _parse_demo_ref(ref)
    try:
        demos = get_domain(domain).demos()
    except UnknownDomainError as exc:
        raise _fail(str(exc)) from None
    if demo_id not in demos:
        raise _fail(f"{domain} has no demo {demo_id!r}; demos: {', '.join(sorted(demos)) or '(none)'}")
    demo = demos[demo_id]

    def show(step: Step) -> None:
        if as_json:
            return
        mark = {True: "HELD  ", False: "BROKEN", None: "      "}[step.ok]
        typer.echo(f"{step.at_s:7.2f}s {mark} [{step.kind}] {step.title}" + (f" — {step.detail}" if step.detail else ""))

    if not as_json:
        typer.echo(f"{domain}:{demo.id} — {demo.title}\n{demo.story}\n")
    result = run_demo(demo, on_step=show, domain=domain, source="cli")
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        if result.error:
            typer.echo(result.error, err=True)
        verdict = "the story held" if result.passed else f"the story did NOT hold ({len(result.failed_claims)} broken claims)"
        typer.echo(f"\n{demo.id}: {verdict} in {result.seconds:.1f} s")
    raise typer.Exit(0 if result.passed else 1)


@alerts_app.command("list")
def alerts_list(
    domain: Annotated[str | None, typer.Option(help="Only this domain.")] = None,
    status: Annotated[str | None, typer.Option(help="open or resolved.")] = None,
) -> None:
    """List alerts, newest first (repeats of one cause are one alert with a count)."""
    from inloop.alerts import list_alerts

    rows = list_alerts(domain=domain, status=status)
    if not rows:
        typer.echo("no alerts")
    for a in rows:
        typer.echo(f"#{a.id:<5} {a.status:8} {a.severity:5} {a.domain:12} x{a.occurrences:<4} "
                   f"{a.last_seen_at:%Y-%m-%d %H:%M} {a.title}")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"inloop {importlib.metadata.version('inloop')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """inloop: the MLOps platform that keeps stakeholders in the loop."""


def mount_domain_apps(target: typer.Typer, domains: Mapping[str, DomainPlugin] | None = None) -> list[str]:
    """Mount each domain's command line (its plugin's ``cli``) as ``inloop <domain> ...`` and under its aliases.

    Returns the domains mounted. A domain named like a platform command is refused with a
    ValueError, so a domain can never shadow ``inloop up`` or ``inloop models``.
    """
    domains = discover_domains() if domains is None else domains
    taken = {group.name for group in target.registered_groups}
    taken |= {command.name or command.callback.__name__.replace("_", "-")
              for command in target.registered_commands if command.callback is not None}
    mounted = []
    for name, domain in sorted(domains.items()):
        if domain.cli is None:
            continue
        if name in taken:
            raise ValueError(f"domain {name!r}: `inloop {name}` is already a command; rename the domain")
        sub_app = domain.cli()
        target.add_typer(sub_app, name=name)
        mounted.append(name)
        for alias in domain.cli_aliases:
            if alias in taken or alias in domains:
                raise ValueError(f"domain {name!r}: alias `inloop {alias}` is already a command; rename the alias")
            target.add_typer(sub_app, name=alias, help=f"The same as `inloop {name}`.")
    return mounted


def main() -> None:
    """Console-script entry point: the platform's commands plus each installed domain's sub-app."""
    try:
        try:
            mount_domain_apps(app)
        except (ImportError, TypeError, ValueError) as exc:
            # A broken domain must not take `inloop doctor` down with it: the platform commands still run.
            typer.secho(f"warning: domain commands not mounted: {exc}", fg=typer.colors.YELLOW, err=True)
        app()
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["app", "main", "mount_domain_apps"]
