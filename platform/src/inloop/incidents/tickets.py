"""Accepted action points as tickets: Markdown bodies to paste, or CSV to import into a tracker.

"You write the action points, someone from the team reviews it ... then you make them into
tickets and actually implement them." Only the action points the review accepted are exported.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from inloop.incidents.postmortems import ActionPoint, Postmortem

__all__ = ["CSV_COLUMNS", "NoAcceptedActionPointsError", "tickets_csv", "tickets_markdown"]

CSV_COLUMNS = ("title", "description", "type", "priority", "owner", "status", "labels", "postmortem",
               "action_point", "existing_ticket")


class NoAcceptedActionPointsError(ValueError):
    """Nothing to export: the review has not accepted any action point yet."""


def _accepted(pm: Postmortem) -> list[ActionPoint]:
    accepted = pm.accepted_action_points()
    if not accepted:
        reason = "it has not been reviewed" if not pm.review.reviewer else "the review accepted none"
        raise NoAcceptedActionPointsError(
            f"{pm.title!r} has no accepted action points to export ({reason}); list the accepted ids in "
            "review.accepted_action_points")
    return accepted


def _title(pm: Postmortem, action: ActionPoint) -> str:
    first_line = action.description.strip().splitlines()[0]
    short = first_line if len(first_line) <= 90 else first_line[:87].rstrip() + "..."
    return f"[{pm.domain}] {short}"


def _body(pm: Postmortem, action: ActionPoint, source: str) -> str:
    return "\n".join([
        action.description.strip(),
        "",
        f"Why: from the post-mortem \u201c{pm.title}\u201d ({pm.date.isoformat()}), action point {action.id}.",
        f"Root cause: {' '.join(pm.root_cause.split())}",
        f"Type: {action.type} · priority: {action.priority} · owner: {action.owner}",
        f"Post-mortem: {source}",
    ])


def tickets_markdown(pm: Postmortem, source: Path | str) -> str:
    """One Markdown section per accepted action point, ready to paste as a ticket body."""
    out = [f"# Tickets from \u201c{pm.title}\u201d", ""]
    for action in _accepted(pm):
        out += [f"## {_title(pm, action)}", "",
                f"- Action point: {action.id} ({action.type})",
                f"- Priority: {action.priority}",
                f"- Owner: {action.owner}",
                f"- Status: {action.status.replace('_', ' ')}"]
        if action.ticket:
            out.append(f"- Existing ticket: {action.ticket}")
        out += ["", _body(pm, action, str(source)), ""]
    return "\n".join(out)


def tickets_csv(pm: Postmortem, source: Path | str) -> str:
    """The accepted action points as CSV (header row + one row each) for a tracker's importer."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for action in _accepted(pm):
        writer.writerow([_title(pm, action), _body(pm, action, str(source)), action.type, action.priority,
                         action.owner, action.status, f"postmortem,{pm.domain},{action.type}", str(source),
                         action.id, action.ticket or ""])
    return buffer.getvalue()
