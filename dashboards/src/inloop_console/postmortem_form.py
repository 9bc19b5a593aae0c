"""Turning the console's post-mortem editor fields into a validated post-mortem file (no Streamlit here).

The editor shows a fixed number of rows for the five whys, action points and new facts; a row
whose main text is blank is simply not a row. Validation is the platform's own
(:class:`inloop.incidents.Postmortem`), so the console can never write a file that
``inloop postmortem lint`` would refuse to read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from inloop.incidents import Postmortem, PostmortemError, parse_postmortem, render_postmortem
from inloop.incidents.postmortems import slugify

__all__ = ["EditorProblem", "build_postmortem", "save_postmortem"]


class EditorProblem(ValueError):
    """The edited post-mortem is not valid; ``problems`` lists (field, what is wrong)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f}: {p}" for f, p in problems))


def _rows(rows: Sequence[Mapping[str, Any]], required: str) -> list[dict[str, Any]]:
    return [{k: (v.strip() if isinstance(v, str) else v) for k, v in r.items()}
            for r in rows if str(r.get(required) or "").strip()]


def build_postmortem(fields: Mapping[str, Any], *, whys: Sequence[Mapping[str, Any]],
                     actions: Sequence[Mapping[str, Any]], new_facts: Sequence[Mapping[str, Any]] = (),
                     base: Postmortem | None = None, editor: str) -> Postmortem:
    """A post-mortem from the editor's fields; ``base`` keeps what the editor does not show.

    The editor's identity joins the authors (the file records who wrote it); when the review
    accepts action points, the editor is recorded as the reviewer.
    """
    if not editor or not editor.strip():
        raise EditorProblem([("editor", "say who is editing: the post-mortem records its authors")])
    editor = editor.strip()
    data: dict[str, Any] = base.model_dump(mode="python") if base is not None else {}
    data.pop("details", None)
    authors = [a for a in (fields.get("authors") or data.get("authors") or []) if str(a).strip()]
    if editor not in authors:
        authors.append(editor)
    facts = list(data.get("facts") or [])
    next_id = 1 + max((int(f["id"][1:]) for f in facts), default=0)
    for row in _rows(new_facts, "description"):
        facts.append({"id": f"F{next_id}", "kind": row.get("kind") or "statement",
                      "description": row["description"], "ref": row.get("ref") or None,
                      "status": "linked" if row.get("ref") else "pending"})
        next_id += 1
    action_rows = _rows(actions, "description")
    for i, row in enumerate(action_rows, 1):
        row.setdefault("id", None)
        row["id"] = row["id"] or f"A{i}"
        row["ticket"] = row.get("ticket") or None
    review = dict(data.get("review") or {})
    accepted = list(fields.get("accepted_action_points") or [])
    review["accepted_action_points"] = accepted
    if accepted and not review.get("reviewer"):
        review["reviewer"] = editor
        review["reviewed_on"] = dt.date.today()
    data.update({
        "title": fields.get("title"), "domain": fields.get("domain"), "status": fields.get("status") or "draft",
        "date": fields.get("date"), "authors": authors, "summary": fields.get("summary"),
        "impact": {"business": fields.get("impact_business"), "affected": fields.get("impact_affected"),
                   "duration": fields.get("impact_duration"), "outage_bucket": fields.get("outage_bucket") or "none"},
        "detection": {**(data.get("detection") or {}), "kind": fields.get("detection_kind") or "other",
                      "description": fields.get("detection_description")},
        "facts": facts,
        "five_whys": _rows(whys, "question"),
        "root_cause": fields.get("root_cause"), "trigger": fields.get("trigger"),
        "resolution": fields.get("resolution"),
        "action_points": action_rows,
        "review": review,
    })
    details = base.details if base is not None else "\n## Investigation details\n\nWritten in the console.\n"
    try:
        return Postmortem.model_validate({**data, "details": details})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(post-mortem)"
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] in ("missing", "string_too_short", "string_type") and err.get("input") in (None, ""):
                message = "must be filled in"
            problems.append((where, message))
        raise EditorProblem(problems) from None


def save_postmortem(pm: Postmortem, folder: Path, *, path: Path | None = None) -> Path:
    """Write the post-mortem: to ``path`` (an edit) or a new ``<date>-<slug>.md`` in ``folder``.

    A new file never overwrites an existing one; the written text is read back through the
    platform's parser before it replaces anything.
    """
    text = render_postmortem(pm)
    parse_postmortem(text, path or folder / "new.md")  # refuse to write what could not be read back
    if path is None:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{pm.date.isoformat()}-{slugify(pm.title)}.md"
        if path.exists():
            raise PostmortemError(path, [("title", "a post-mortem with this date and title already exists")])
        path.write_text(text, encoding="utf-8")
        return path
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
