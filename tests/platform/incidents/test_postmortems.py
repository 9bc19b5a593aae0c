"""Post-mortem files: seeded ones round-trip byte-identically, malformed ones fail with path/field/problem."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from inloop import db
from inloop.db.models import ActionItem
from inloop.incidents.index import list_postmortems, reindex
from inloop.incidents.postmortems import (
    PostmortemError,
    lint_postmortem,
    load_postmortem,
    parse_postmortem,
    render_postmortem,
)
from inloop.incidents.tickets import CSV_COLUMNS, NoAcceptedActionPointsError, tickets_csv, tickets_markdown
from inloop.incidents.views import render_engineering_view, render_stakeholder_summary

REPO = Path(__file__).resolve().parents[3]
SEEDED = sorted(REPO.glob("domains/*/postmortems/*.md"))
BAG = REPO / "domains/recommender/postmortems/2026-03-04-womans-bag-on-the-mens-home-page.md"
UNIT = REPO / "domains/credit/postmortems/2026-05-12-application-duration-arrived-in-milliseconds.md"
PERMIT = REPO / "domains/credit/postmortems/2026-07-08-applicant-on-a-temporary-residence-permit-rejected.md"


def test_the_four_seeded_stories_are_there() -> None:
    assert {BAG, UNIT, PERMIT} <= set(SEEDED)
    assert any(p.parent.parent.name == "invoice_ocr" for p in SEEDED)


@pytest.mark.parametrize("path", SEEDED, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_seeded_postmortem_round_trips_byte_identically(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    pm = parse_postmortem(text, path)
    assert render_postmortem(pm) == text
    assert pm.domain == path.parent.parent.name
    findings = lint_postmortem(pm)
    if not pm.review.reviewer:
        return  # a draft nobody has discussed yet: it must only be well-formed
    assert len(pm.five_whys) >= 3 and pm.five_whys[-1].verdict == "confirmed"
    assert {a.type for a in pm.action_points} >= {"mitigate", "prevent", "process"}
    assert [f for f in findings if f.level == "error"] == []
    assert not [f for f in findings if "blaming" in f.message]


def test_open_question_for_the_business_is_kept() -> None:
    pm = load_postmortem(PERMIT)
    (question,) = pm.open_questions
    assert "temporary residence permit" in question.question and question.answer is None
    assert "Credit Risk" in question.asked_of
    summary = render_stakeholder_summary(pm)
    assert "Open questions for you" in summary and "temporary residence permit" in summary


def test_pending_evidence_is_marked_and_reported() -> None:
    pm = load_postmortem(UNIT)
    assert all(f.status == "pending" for f in pm.facts)
    assert any("evidence still pending" in f.message for f in lint_postmortem(pm))
    assert "(evidence pending)" in render_engineering_view(pm)


@pytest.mark.parametrize("path", SEEDED, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_a_reviewed_postmortem_has_no_pending_evidence(path: Path) -> None:
    """#17 item 6: a committed post-mortem says reviewed only when every fact links to its record."""
    pm = load_postmortem(path)
    pending = [f.id for f in pm.facts if f.status == "pending"]
    assert pm.status in ("draft", "in_review") or pending == [], f"{pm.status} with pending evidence {pending}"


def test_reviewed_with_pending_evidence_is_a_lint_error() -> None:
    pm = load_postmortem(UNIT)
    assert pm.status == "draft" and not [f for f in lint_postmortem(pm) if f.level == "error"]
    reviewed = pm.model_copy(update={"status": "reviewed"})
    errors = [f for f in lint_postmortem(reviewed) if f.level == "error" and f.where == "facts"]
    assert errors and "evidence is still pending: F1, F2, F3, F4, F5" in errors[0].message
    linked = reviewed.model_copy(update={"facts": [f.model_copy(update={"status": "linked", "ref": f"file:{f.id}"})
                                                   for f in pm.facts]})
    assert not [f for f in lint_postmortem(linked) if f.where == "facts"]


def _valid_text() -> str:
    return BAG.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        (lambda t: t.removeprefix("---\n"), "(file)", "must start with a '---' line"),
        (lambda t: t.replace("\n---\n", "\n", 1)[:-1].replace("\n---\n", "\n"), "(file)", "never closed"),
        (lambda t: t.replace("status: draft", "status: [draft", 1), "line 5", "YAML syntax"),
        (lambda t: t.replace("title:", "blame: the intern\ntitle:", 1), "blame (line 2)", "blame has no field"),
        (lambda t: t.replace("    verdict: rejected", "    verdict: probably", 1), "five_whys[0].verdict (line",
         "Input should be 'confirmed', 'rejected' or 'open'"),
        (lambda t: t.replace("  outage_bucket: none", "  outage_bucket: 2h", 1), "impact.outage_bucket (line 24)",
         "Input should be"),
        (lambda t: t.replace("root_cause:", "root_causes:", 1), "root_cause", "required field is missing"),
        (lambda t: t.replace("    - A5\n", "    - A5\n    - A9\n", 1), "(front matter)",
         "accepted_action_points names A9"),
        (lambda t: t.replace("[F1] [F3]", "[F1] [F9]", 1), "(front matter)", "cites F9, which is not in facts"),
        (lambda t: t.replace("  - id: F2", "  - id: F1", 1), "(front matter)", "repeated: F1"),
        (lambda t: t.replace("  detected_at: 2026-03-04 09:12", "  detected_at: yesterday", 1), "detection",
         "detected_at must look like"),
        (lambda t: t.replace("status: draft", "status: closed", 1), "(front matter)",
         "accepted action points are not done: A1"),
        (lambda t: t.replace("title:", "title: one\ntitle:", 1), "line", "duplicate key 'title'"),
    ],
    ids=["no-front-matter", "unclosed", "yaml-syntax", "blame-field", "bad-verdict", "bad-bucket", "missing-field",
         "unknown-accepted", "uncited-fact", "duplicate-fact-id", "bad-time", "closed-with-open-actions",
         "duplicate-key"],
)
def test_malformed_file_fails_with_path_field_and_problem(tmp_path: Path, mutate, field, problem) -> None:
    path = tmp_path / "broken.md"
    path.write_text(mutate(_valid_text()), encoding="utf-8")
    with pytest.raises(PostmortemError) as caught:
        load_postmortem(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: invalid post-mortem")
    assert any(where.startswith(field) and problem in what for where, what in caught.value.problems), message


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(PostmortemError, match="file not found"):
        load_postmortem(tmp_path / "nope.md")
    (tmp_path / "latin1.md").write_bytes("---\ntitle: Caf\xe9\n---\n".encode("latin-1"))
    with pytest.raises(PostmortemError, match="not UTF-8"):
        load_postmortem(tmp_path / "latin1.md")


def test_blaming_language_is_flagged() -> None:
    text = _valid_text().replace("The colleague got the explanation the same day.",
                                 "It was the intern's fault; he should have known better.", 1)
    findings = lint_postmortem(parse_postmortem(text))
    blame = [f for f in findings if "blaming language" in f.message]
    assert blame and blame[0].where == "resolution" and blame[0].level == "warning"


def test_todo_past_draft_is_an_error() -> None:
    pm = parse_postmortem(_valid_text()).model_copy(update={"trigger": "TODO: what set it off", "status": "in_review"})
    assert any(f.level == "error" and f.where == "trigger" for f in lint_postmortem(pm))


def test_engineering_view_and_stakeholder_summary() -> None:
    pm = load_postmortem(BAG)
    full = render_engineering_view(pm)
    for heading in ("## Facts", "## Timeline (UTC)", "## Five whys", "## Root cause", "## Action points",
                    "## Lessons", "## Review"):
        assert heading in full
    assert all(step.question.strip() in full for step in pm.five_whys)
    assert "| A6 | mitigate |" in full and "| won't do |" not in full
    summary = render_stakeholder_summary(pm)
    for part in ("**What happened.**", "**Impact.**", "**What we changed.**", "**Is it resolved?**"):
        assert part in summary
    assert "Hypothesis" not in summary and "five" not in summary.lower()
    assert "Not yet: the investigation is still being written up and reviewed." in summary  # a draft
    reviewed = render_stakeholder_summary(pm.model_copy(update={"status": "reviewed"}))
    assert "Not fully: 5 agreed follow-ups are still open." in reviewed
    assert len(summary) < len(full) / 2


def test_tickets_are_the_accepted_action_points_only() -> None:
    pm = load_postmortem(BAG)
    markdown = tickets_markdown(pm, BAG.relative_to(REPO))
    assert markdown.count("\n## [recommender] ") == 5
    assert "Retrain the recommendation model" not in markdown  # A6 was declined in the review
    assert "domains/recommender/postmortems/2026-03-04-womans-bag-on-the-mens-home-page.md" in markdown
    rows = list(csv.DictReader(io.StringIO(tickets_csv(pm, "pm.md"))))
    assert [r["action_point"] for r in rows] == ["A1", "A2", "A3", "A4", "A5"]
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0]["priority"] == "high" and rows[0]["type"] == "mitigate"
    assert "Root cause: The last-seen box" in rows[0]["description"]


def test_no_accepted_action_points_is_a_clear_error() -> None:
    pm = parse_postmortem(_valid_text()).model_copy(update={"status": "in_review"})
    pm = pm.model_copy(update={"review": pm.review.model_copy(update={"reviewer": None, "accepted_action_points": []})})
    with pytest.raises(NoAcceptedActionPointsError, match="it has not been reviewed"):
        tickets_markdown(pm, "x.md")


def test_index_is_rebuilt_from_the_files(each_database, tmp_path: Path) -> None:
    folder = tmp_path / "recommender"
    folder.mkdir()
    (folder / "bag.md").write_text(_valid_text(), encoding="utf-8")
    (folder / "broken.md").write_text("---\ntitle: half written\n", encoding="utf-8")
    (folder / "other-domain.md").write_text(UNIT.read_text(encoding="utf-8"), encoding="utf-8")
    report = reindex({"recommender": folder})
    assert report.indexed == [("recommender", "bag")]
    assert sorted(e.path.name for e in report.errors) == ["broken.md", "other-domain.md"]
    assert "says 'credit' but the file is in the 'recommender' domain's folder" in str(report.errors[1])
    (row,) = list_postmortems("recommender")
    assert (row.slug, row.status, row.open_action_items) == ("bag", "draft", 5)
    with db.read_session() as sess:
        items = sess.scalars(sa.select(ActionItem).order_by(ActionItem.position)).all()
    assert [(i.ref, i.accepted) for i in items] == [("A1", True), ("A2", True), ("A3", True), ("A4", True),
                                                   ("A5", True), ("A6", False)]
    (folder / "bag.md").unlink()
    assert reindex({"recommender": folder}).indexed == []
    assert list_postmortems("recommender") == []  # the files are the truth: a deleted file leaves the index


def test_seeded_postmortems_index_cleanly() -> None:
    folders = {p.parent.parent.name: p.parent for p in SEEDED}
    report = reindex(folders)
    assert report.ok, report.errors
    assert len(report.indexed) == len(SEEDED)


_values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text())


@settings(max_examples=60, deadline=None)
@given(text=st.text(min_size=1), details=st.text(), data=st.dictionaries(st.text(), _values, max_size=5))
def test_any_text_round_trips(text: str, details: str, data: dict) -> None:
    """Whatever people (or logged features) put in a post-mortem comes back exactly, in one canonical form."""
    base = load_postmortem(BAG)
    fact = base.facts[0].model_copy(update={"description": text, "data": data})
    pm = base.model_copy(update={"summary": text, "details": details, "facts": [fact, *base.facts[1:]]})
    rendered = render_postmortem(pm)
    back = parse_postmortem(rendered)
    assert back == pm
    assert render_postmortem(back) == rendered
