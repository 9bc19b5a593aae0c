"""Two renderings of a post-mortem: the full engineering view and the stakeholder summary.

Engineers read every fact, the whole five-whys chain and each action point. A business
stakeholder reads four short answers: what happened, what it meant for the business, what we
changed, and whether it is resolved (plus any question that is theirs to answer).
"""

from __future__ import annotations

import json

from inloop.incidents.postmortems import Postmortem

__all__ = ["render_engineering_view", "render_stakeholder_summary"]

_BUCKETS = {"none": "not comparable to an outage: single cases or one segment", "1min": "about a minute", "10min": "about ten minutes",
            "1h": "about an hour", "24h": "a day or more"}
_VERDICT = {"confirmed": "confirmed", "rejected": "ruled out", "open": "still open"}


def _cell(text: str | None) -> str:
    return "-" if not text else " ".join(text.split()).replace("|", "\\|")


def render_engineering_view(pm: Postmortem) -> str:
    """The whole post-mortem as readable Markdown (the console's engineering tab, ``show FILE``)."""
    out = [f"# {pm.title}", "",
           f"*{pm.domain} · {pm.date.isoformat()} · status: {pm.status} · authors: {', '.join(pm.authors)}*", "",
           "## Summary", "", pm.summary.strip(), "",
           "## Impact", "", pm.impact.business.strip(), "",
           f"- Affected: {pm.impact.affected.strip()}",
           f"- Duration: {pm.impact.duration.strip()}",
           f"- Outage-matrix bucket: {pm.impact.outage_bucket} ({_BUCKETS[pm.impact.outage_bucket]})", "",
           "## Detection", "",
           f"{pm.detection.kind.replace('_', ' ')}"
           + (f" ({pm.detection.reference})" if pm.detection.reference else "")
           + (f" at {pm.detection.detected_at} UTC" if pm.detection.detected_at else "")
           + f": {pm.detection.description.strip()}", ""]
    out += ["## Facts", ""]
    for fact in pm.facts:
        parts = [f"- **{fact.id}** ({fact.kind.replace('_', ' ')}) {fact.description.strip()}"]
        parts += [f"`{fact.ref}`"] if fact.ref else []
        parts += ["**(evidence pending)**"] if fact.status == "pending" else []
        out.append(" ".join(parts))
        if fact.data:
            out += ["", "  ```json", *("  " + line for line in json.dumps(fact.data, indent=2, ensure_ascii=False,
                                                                            default=str).splitlines()), "  ```"]
    if not pm.facts:
        out.append("(none yet)")
    out += ["", "## Timeline (UTC)", ""]
    out += [f"- {entry.at} — {entry.event.strip()}" for entry in pm.timeline] or ["(none yet)"]
    out += ["", "## Five whys", ""]
    for i, step in enumerate(pm.five_whys, 1):
        out += [f"{i}. **{step.question.strip()}**",
                f"   - Hypothesis: {step.hypothesis.strip()}",
                f"   - How checked: {step.how_checked.strip()}",
                f"   - Evidence: {step.evidence.strip()}",
                f"   - Verdict: {_VERDICT[step.verdict]}"]
    if not pm.five_whys:
        out.append("(not started)")
    out += ["", "## Root cause", "", pm.root_cause.strip(), "",
            "## Trigger", "", pm.trigger.strip(), "",
            "## Resolution", "", pm.resolution.strip(), "",
            "## Action points", ""]
    accepted = set(pm.review.accepted_action_points)
    if pm.action_points:
        out += ["| id | type | action | owner | priority | status | accepted | ticket |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        out += [f"| {a.id} | {a.type} | {_cell(a.description)} | {_cell(a.owner)} | {a.priority} | "
                f"{a.status.replace('_', ' ')} | {'yes' if a.id in accepted else 'no'} | {_cell(a.ticket)} |"
                for a in pm.action_points]
    else:
        out.append("(none yet)")
    if pm.open_questions:
        out += ["", "## Open questions", ""]
        out += [f"- **{q.question.strip()}** (for {q.asked_of.strip()}): "
                f"{q.answer.strip() if q.answer else 'not answered yet'}" for q in pm.open_questions]
    out += ["", "## Lessons", ""]
    for label, items in (("Went well", pm.lessons.went_well), ("Went wrong", pm.lessons.went_wrong),
                         ("Got lucky", pm.lessons.got_lucky)):
        out += [f"**{label}**", ""] + ([f"- {item.strip()}" for item in items] or ["- (nothing noted)"]) + [""]
    review = pm.review
    out += ["## Review", ""]
    if review.reviewer:
        out.append(f"Reviewed by {review.reviewer}"
                   + (f" on {review.reviewed_on.isoformat()}" if review.reviewed_on else "")
                   + f"; accepted action points: {', '.join(review.accepted_action_points) or 'none'}.")
        if review.notes:
            out += ["", review.notes.strip()]
    else:
        out.append("Not reviewed yet.")
    if pm.details.strip():
        out += ["", pm.details.strip()]
    return "\n".join(out).rstrip() + "\n"


def render_stakeholder_summary(pm: Postmortem) -> str:
    """A short, plain-language summary: what happened, impact, what we changed, is it resolved."""
    changed = [pm.resolution.strip()]
    done = [a for a in pm.action_points if a.status == "done"]
    planned = [a for a in pm.accepted_action_points() if a.status in ("open", "in_progress")]
    changed += [f"Done: {a.description.strip()}" for a in done]
    changed += [f"Planned: {a.description.strip()}" for a in planned]
    if pm.is_resolved():
        resolved = "Yes. The cause is fixed and every agreed follow-up is done."
    elif pm.status in ("draft", "in_review"):
        resolved = "Not yet: the investigation is still being written up and reviewed."
    elif planned:
        resolved = (f"Not fully: {len(planned)} agreed follow-up{'s are' if len(planned) != 1 else ' is'} "
                    "still open.")
    else:
        resolved = "Not fully: the review has not agreed on follow-ups yet."
    out = [f"# {pm.title}", "", f"*{pm.date.isoformat()} · {pm.domain}*", "",
           "**What happened.** " + pm.summary.strip(), "",
           "**Impact.** " + pm.impact.business.strip() + f" Affected: {pm.impact.affected.strip()}"
           + ("" if pm.impact.affected.strip().endswith(".") else "."), "",
           "**What we changed.**", "", *[f"- {line}" for line in changed], "",
           "**Is it resolved?** " + resolved]
    unanswered = [q for q in pm.open_questions if not q.answer]
    if unanswered:
        out += ["", "**Open questions for you.**", "",
                *[f"- {q.question.strip()} (for {q.asked_of.strip()})" for q in unanswered]]
    return "\n".join(out) + "\n"
