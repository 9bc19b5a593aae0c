"""The incidents commands, mounted by ``inloop.cli``.

- ``postmortem_app`` (``inloop postmortem ...``): ``new --from-alert ID | --from-bug ID``, ``show FILE
  [--summary]``, ``tickets FILE [--format md|csv]``, ``list``, ``reindex``, ``check``, ``fmt``;
- ``bug_app`` (``inloop bugs ...``): ``report``, ``list``, ``groups``, ``show``, ``triage``, ``link``,
  ``close``, ``reopen``;
- :func:`replay` (``inloop replay REQUEST_ID [--against champion] [--json]``).

Exit codes: 0 done, 1 a finding (lint errors, an invalid file), 2 bad input (unknown id, bad flag).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["bug_app", "postmortem_app", "replay"]

postmortem_app = typer.Typer(help="Blameless post-mortems (files in domains/<d>/postmortems/).",
                             no_args_is_help=True)
bug_app = typer.Typer(help="Bug reports: WTF moments, grouped and escalated.", no_args_is_help=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


# replay ------------------------------------------------------------------------------------------


def replay(
    request_id: Annotated[str, typer.Argument(help="The request id from the prediction log.")],
    against: Annotated[str | None, typer.Option(help="Re-run on this model alias or version, e.g. champion.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Show what the system saw and answered for a request; --against re-runs it and shows the difference."""
    from inloop.incidents.replay import ReplayNotSupportedError, UnknownRequestError
    from inloop.incidents.replay import replay as replay_prediction

    try:
        result = replay_prediction(request_id, against)
    except UnknownRequestError as exc:
        raise _fail(str(exc)) from None
    except (ReplayNotSupportedError, LookupError, ValueError) as exc:
        raise _fail(str(exc), 1) from None
    typer.echo(json.dumps(result.as_dict(), indent=2, default=str) if as_json else result.describe())


# post-mortems ------------------------------------------------------------------------------------


def _load(path: Path):  # type: ignore[no-untyped-def]
    from inloop.incidents.postmortems import PostmortemError, load_postmortem

    try:
        return load_postmortem(path)
    except PostmortemError as exc:
        raise _fail(str(exc), 1) from None


@postmortem_app.command("new")
def postmortem_new(
    from_alert: Annotated[int | None, typer.Option(min=1, help="Draft from this alert id; every fact links to a "
                                                   "record (alert, check rows, request ids, reports).")] = None,
    from_bug: Annotated[int | None, typer.Option(help="Draft from this bug report id.")] = None,
    domain: Annotated[str | None, typer.Option(help="Expected domain (default: the alert's or report's).")] = None,
    author: Annotated[list[str] | None, typer.Option(help="Author (repeat for several).")] = None,
    out: Annotated[Path | None, typer.Option(help="File to write (default: domains/<d>/postmortems/<date>-<slug>.md).")] = None,
) -> None:
    """Draft a post-mortem with the facts, timeline and replays pre-filled; link the bug report to it."""
    from inloop.domains import UnknownDomainError
    from inloop.incidents.bug_reports import BugReportError, get_report, link_to_postmortem, triage_report
    from inloop.incidents.drafts import DraftError, draft_from_alert, draft_from_bug, draft_path, write_draft

    if (from_alert is None) == (from_bug is None):
        raise _fail("give exactly one of --from-alert ID or --from-bug ID")
    try:
        draft = draft_from_alert(from_alert, authors=author) if from_alert is not None \
            else draft_from_bug(from_bug, authors=author)  # type: ignore[arg-type]
        if domain is not None and domain != draft.domain:
            raise _fail(f"{'alert' if from_alert is not None else 'bug report'} belongs to domain "
                        f"{draft.domain!r}, not {domain!r}")
        path = write_draft(draft, out or draft_path(draft))
    except (DraftError, BugReportError, UnknownDomainError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"drafted {path}")
    if from_bug is not None:
        report = get_report(from_bug)
        actor = (author or ["inloop"])[0]
        if report.status == "new":
            triage_report(from_bug, actor=actor, note="post-mortem drafted")
        if report.status in ("new", "triaged"):
            link_to_postmortem(from_bug, path.stem, actor=actor)
            typer.echo(f"bug report #{from_bug} linked to {path.stem}")
        else:
            typer.echo(f"bug report #{from_bug} is {report.status}"
                       + (f" (post-mortem {report.postmortem_slug})" if report.postmortem_slug else "")
                       + "; not relinked")


@postmortem_app.command("show")
def postmortem_show(
    file: Annotated[Path, typer.Argument(help="The post-mortem file.")],
    summary: Annotated[bool, typer.Option(help="The short plain-language summary for stakeholders.")] = False,
) -> None:
    """Render a post-mortem: the full engineering view, or --summary for stakeholders."""
    from inloop.incidents.views import render_engineering_view, render_stakeholder_summary

    pm = _load(file)
    typer.echo(render_stakeholder_summary(pm) if summary else render_engineering_view(pm), nl=False)


@postmortem_app.command("tickets")
def postmortem_tickets(
    file: Annotated[Path, typer.Argument(help="The post-mortem file.")],
    format: Annotated[str, typer.Option("--format", help="md (ticket bodies) or csv (tracker import).")] = "md",
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Export the review's accepted action points as tickets."""
    from inloop.incidents.tickets import NoAcceptedActionPointsError, tickets_csv, tickets_markdown

    if format not in ("md", "csv"):
        raise _fail(f"--format must be md or csv, not {format!r}")
    pm = _load(file)
    try:
        text = (tickets_csv if format == "csv" else tickets_markdown)(pm, file)
    except NoAcceptedActionPointsError as exc:
        raise _fail(str(exc), 1) from None
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(pm.accepted_action_points())} ticket(s) to {out}")


@postmortem_app.command("check")
def postmortem_check(
    files: Annotated[list[Path] | None, typer.Argument(help="Files (default: every domain's post-mortems).")] = None,
) -> None:
    """Validate and lint post-mortems: fields, blaming language, TODOs past draft, canonical form."""
    from inloop.cards import Finding
    from inloop.domains import discover_domains
    from inloop.incidents.postmortems import (
        PostmortemError,
        lint_postmortem,
        load_postmortem,
        render_postmortem,
    )

    paths = files or [p for d in discover_domains().values() for p in sorted(d.postmortems_dir.glob("*.md"))]
    failed = False
    for path in paths:
        try:
            pm = load_postmortem(path)
        except PostmortemError as exc:
            typer.secho(str(exc), fg=typer.colors.RED)
            failed = True
            continue
        findings = lint_postmortem(pm)
        if render_postmortem(pm) != path.read_text(encoding="utf-8"):
            findings.append(Finding("warning", "(file)", "not in canonical form; `inloop postmortem fmt` rewrites it"))
        failed |= any(f.level == "error" for f in findings)
        typer.echo(f"{path}: {pm.status}, {sum(f.level == 'error' for f in findings)} errors, "
                   f"{sum(f.level == 'warning' for f in findings)} warnings")
        for finding in findings:
            typer.echo(f"  {finding}")
    raise typer.Exit(1 if failed else 0)


@postmortem_app.command("fmt")
def postmortem_fmt(files: Annotated[list[Path], typer.Argument(help="Files to rewrite in canonical form.")]) -> None:
    """Rewrite post-mortems in canonical form (so they round-trip byte-identically)."""
    from inloop.incidents.postmortems import render_postmortem

    for path in files:
        text = render_postmortem(_load(path))
        if text != path.read_text(encoding="utf-8"):
            path.write_text(text, encoding="utf-8")
            typer.echo(f"formatted {path}")


@postmortem_app.command("reindex")
def postmortem_reindex() -> None:
    """Rebuild the post-mortem and action-item index in the platform DB from the files."""
    from inloop.incidents.index import reindex

    report = reindex()
    for error in report.errors:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
    typer.echo(f"indexed {len(report.indexed)} post-mortem(s), {report.action_items} action point(s)"
               + (f"; {len(report.errors)} file(s) could not be read" if report.errors else ""))
    raise typer.Exit(0 if report.ok else 1)


@postmortem_app.command("list")
def postmortem_list(domain: Annotated[str | None, typer.Option(help="Only this domain.")] = None) -> None:
    """List indexed post-mortems (run `reindex` after editing files)."""
    from inloop.incidents.index import list_postmortems

    rows = list_postmortems(domain)
    if not rows:
        typer.echo("no post-mortems indexed (run: inloop postmortem reindex)")
    for row in rows:
        date = row.incident_date.isoformat() if row.incident_date else "----------"
        typer.echo(f"{date}  {row.domain:12} {row.status:10} open actions {row.open_action_items:2}  {row.title}")


# bug reports ---------------------------------------------------------------------------------------


def _bug_error(exc: Exception) -> typer.Exit:
    return _fail(str(exc))


@bug_app.command("report")
def bug_report(
    domain: Annotated[str, typer.Option(help="The domain it happened in.")],
    reporter: Annotated[str, typer.Option(help="Who saw it.")],
    text: Annotated[str, typer.Option(help="What you saw, in your words.")],
    screenshot: Annotated[Path | None, typer.Option(help="PNG, JPEG or WebP screenshot.")] = None,
    request_id: Annotated[str | None, typer.Option(help="Request id shown on the page / in the response.")] = None,
    page: Annotated[str | None, typer.Option()] = None,
    component: Annotated[str | None, typer.Option()] = None,
    segment: Annotated[str | None, typer.Option()] = None,
    failure_kind: Annotated[str | None, typer.Option()] = None,
    severity: Annotated[str, typer.Option(help="low, medium, high or critical.")] = "medium",
) -> None:
    """File a bug report (checked; grouped; escalates when the card's threshold is reached)."""
    from inloop.incidents.bug_reports import BugReportError, file_report

    data = None
    if screenshot is not None:
        try:
            data = screenshot.read_bytes()
        except OSError as exc:
            raise _fail(f"screenshot: cannot read {screenshot}: {exc.strerror}") from None
    try:
        filed = file_report({"domain": domain, "reporter": reporter, "text": text, "request_id": request_id,
                             "page": page, "component": component, "segment": segment,
                             "failure_kind": failure_kind, "severity": severity}, screenshot=data)
    except BugReportError as exc:
        raise _bug_error(exc) from None
    g = filed.group
    typer.echo(f"bug report #{filed.report.id} filed in group {g.group_key} "
               f"({g.open_in_window}/{g.threshold} in {g.window_days} days)")
    if filed.alert is not None:
        typer.echo(f"{'escalated: opened' if filed.alert.new else 'counted on'} alert #{filed.alert.id}")


@bug_app.command("list")
def bug_list(
    domain: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option(help="new, triaged, linked or closed.")] = None,
    group: Annotated[str | None, typer.Option(help="A group key.")] = None,
) -> None:
    """List bug reports, newest first."""
    from inloop.incidents.bug_reports import BugReportError, list_reports

    try:
        rows = list_reports(domain, status=status, group=group)
    except BugReportError as exc:
        raise _bug_error(exc) from None
    for r in rows:
        typer.echo(f"#{r.id:<5} {r.created_at:%Y-%m-%d %H:%M} {r.status:8} {r.severity:8} {r.group_key}  "
                   f"{' '.join(r.text.split())[:70]}")
    if not rows:
        typer.echo("no bug reports")


@bug_app.command("groups")
def bug_groups(domain: Annotated[str | None, typer.Option()] = None) -> None:
    """Groups of similar reports, with their count against the card's threshold."""
    from inloop.incidents.bug_reports import list_groups

    for g in list_groups(domain):
        flag = f"ESCALATED (alert #{g.alert_id})" if g.escalated else ("DUE FOR ESCALATION" if g.escalation_due else "")
        typer.echo(f"{g.open_in_window:3}/{g.threshold:<3} {g.group_key}  reports {g.report_ids} {flag}".rstrip())


@bug_app.command("show")
def bug_show(report_id: Annotated[int, typer.Argument()]) -> None:
    """One report with its status history."""
    from inloop.incidents.bug_reports import BugReportError, get_report, report_history

    try:
        r = get_report(report_id)
    except BugReportError as exc:
        raise _bug_error(exc) from None
    for key, value in dataclasses.asdict(r).items():
        typer.echo(f"{key:22} {value}")
    typer.echo("history:")
    for change in report_history(report_id):
        typer.echo(f"  {change.at:%Y-%m-%d %H:%M} {change.actor}: {change.from_status or '-'} -> "
                   f"{change.to_status} {change.note or ''}".rstrip())


@bug_app.command("triage")
def bug_triage(
    report_id: Annotated[int, typer.Argument()],
    actor: Annotated[str, typer.Option(help="Who triages.")],
    component: Annotated[str | None, typer.Option()] = None,
    segment: Annotated[str | None, typer.Option()] = None,
    failure_kind: Annotated[str | None, typer.Option()] = None,
    severity: Annotated[str | None, typer.Option()] = None,
    note: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Classify a report (component, segment, failure kind, severity) and mark it triaged."""
    from inloop.incidents.bug_reports import BugReportError, triage_report

    try:
        filed = triage_report(report_id, actor=actor, component=component, segment=segment,
                              failure_kind=failure_kind, severity=severity, note=note)
    except BugReportError as exc:
        raise _bug_error(exc) from None
    typer.echo(f"#{report_id} triaged into {filed.group.group_key} ({filed.group.open_in_window}/"
               f"{filed.group.threshold})" + (f"; alert #{filed.alert.id}" if filed.alert else ""))


@bug_app.command("link")
def bug_link(
    report_id: Annotated[int, typer.Argument()],
    postmortem: Annotated[str, typer.Option(help="The post-mortem's slug (file name without .md).")],
    actor: Annotated[str, typer.Option()],
) -> None:
    """Link a triaged report to the post-mortem that investigates it."""
    from inloop.incidents.bug_reports import BugReportError, link_to_postmortem

    try:
        link_to_postmortem(report_id, postmortem, actor=actor)
    except BugReportError as exc:
        raise _bug_error(exc) from None
    typer.echo(f"#{report_id} linked to {postmortem}")


@bug_app.command("close")
def bug_close(
    report_id: Annotated[int, typer.Argument()],
    resolution: Annotated[str, typer.Option(help="How it was resolved, or why it is not a bug.")],
    actor: Annotated[str, typer.Option()],
) -> None:
    """Close a report with its resolution."""
    from inloop.incidents.bug_reports import BugReportError, close_report

    try:
        close_report(report_id, resolution, actor=actor)
    except BugReportError as exc:
        raise _bug_error(exc) from None
    typer.echo(f"#{report_id} closed")


@bug_app.command("reopen")
def bug_reopen(
    report_id: Annotated[int, typer.Argument()],
    actor: Annotated[str, typer.Option()],
    note: Annotated[str, typer.Option(help="Why it is reopened.")],
) -> None:
    """Reopen a closed report (back to triaged)."""
    from inloop.incidents.bug_reports import BugReportError, reopen_report

    try:
        reopen_report(report_id, actor=actor, note=note)
    except BugReportError as exc:
        raise _bug_error(exc) from None
    typer.echo(f"#{report_id} reopened")
