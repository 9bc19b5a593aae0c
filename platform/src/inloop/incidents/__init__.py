"""Incidents: replay any logged prediction, bug reports that escalate, blameless post-mortems.

The structured path from a "WTF moment" to a fix: a bug report (with the request id) →
:func:`replay` of what the system saw → a post-mortem drafted with those facts, its five whys
and action points → the accepted action points exported as tickets.

Modules: :mod:`~inloop.incidents.replay`, :mod:`~inloop.incidents.bug_reports`,
:mod:`~inloop.incidents.postmortems` (model, file format, lint), :mod:`~inloop.incidents.drafts`,
:mod:`~inloop.incidents.views` (engineering view, stakeholder summary),
:mod:`~inloop.incidents.tickets`, :mod:`~inloop.incidents.index` (DB index), and
:mod:`~inloop.incidents.cli` (the Typer commands).
"""

from inloop.incidents.bug_reports import (
    BugReportError,
    BugReportRecord,
    FiledReport,
    GroupSummary,
    NewBugReport,
    close_report,
    file_report,
    get_report,
    link_to_postmortem,
    list_groups,
    list_reports,
    reopen_report,
    report_history,
    triage_report,
)
from inloop.incidents.drafts import DraftError, draft_from_alert, draft_from_bug, draft_path, write_draft
from inloop.incidents.index import list_postmortems, reindex
from inloop.incidents.postmortems import (
    Postmortem,
    PostmortemError,
    lint_postmortem,
    load_postmortem,
    parse_postmortem,
    render_postmortem,
)
from inloop.incidents.replay import Replay, ReplayNotSupportedError, Rerun, UnknownRequestError, replay
from inloop.incidents.tickets import NoAcceptedActionPointsError, tickets_csv, tickets_markdown
from inloop.incidents.views import render_engineering_view, render_stakeholder_summary

__all__ = [
    "BugReportError",
    "BugReportRecord",
    "DraftError",
    "FiledReport",
    "GroupSummary",
    "NewBugReport",
    "NoAcceptedActionPointsError",
    "Postmortem",
    "PostmortemError",
    "Replay",
    "ReplayNotSupportedError",
    "Rerun",
    "UnknownRequestError",
    "close_report",
    "draft_from_alert",
    "draft_from_bug",
    "draft_path",
    "file_report",
    "get_report",
    "link_to_postmortem",
    "lint_postmortem",
    "list_groups",
    "list_postmortems",
    "list_reports",
    "load_postmortem",
    "parse_postmortem",
    "reindex",
    "render_engineering_view",
    "render_postmortem",
    "render_stakeholder_summary",
    "reopen_report",
    "replay",
    "report_history",
    "tickets_csv",
    "tickets_markdown",
    "triage_report",
    "write_draft",
]
