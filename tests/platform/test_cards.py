"""Project cards: strict loading with clear messages, and the check-project lint."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from inloop.cards import CardError, ProjectCard, lint_card, load_card
from inloop.cli import app
from inloop.domains import discover_domains

MINIMAL = Path(__file__).with_name("cards") / "minimal.yaml"


def _write(tmp_path: Path, data: object | str) -> Path:
    path = tmp_path / "project.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def _base() -> dict:
    return yaml.safe_load(MINIMAL.read_text())


def test_the_minimal_card_loads_and_lints_clean() -> None:
    card = load_card(MINIMAL)
    assert isinstance(card, ProjectCard)
    assert card.concern("no-parcel-left-behind").threshold.holds(0)
    assert not card.concern("no-parcel-left-behind").threshold.holds(1)
    assert [f for f in lint_card(card, checks={"no_unsorted_parcels"}, demos=set()) if f.level == "error"] == []


def _mutate(path: list, value: object) -> dict:
    data = _base()
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


_DELETE = object()

BROKEN = {
    "unknown field (typo)": (_mutate(["business_case", "kpi", "targett"], "x"), "business_case.kpi.targett: unknown field"),
    "severity not ERROR/WARN": (_mutate(["concerns", 0, "severity"], "FATAL"), "concerns[0].severity"),
    "blocking WARN concern": (_mutate(["concerns", 0, "severity"], "WARN"), "blocking concern must have severity ERROR"),
    "threshold operator": (_mutate(["concerns", 0, "threshold", "op"], "=<"), "concerns[0].threshold.op"),
    "infinite threshold": (_mutate(["concerns", 0, "threshold", "value"], float("inf")), "finite"),
    "check id with dashes": (_mutate(["concerns", 0, "check"], "no-unsorted"), "concerns[0].check"),
    "no concerns": (_mutate(["concerns"], []), "concerns: List should have at least 1 item"),
    "missing outage matrix": (_mutate(["outage_impact"], _DELETE), "outage_impact: Field required"),
    "missing 24h bucket": (_mutate(["outage_impact", "24h"], _DELETE), "outage_impact.24h: Field required"),
    "user story not a story": (_mutate(["business_case", "user_story"], "make parcels faster"), "user story"),
    "threshold without metric": (_mutate(["concerns", 0, "metric"], _DELETE), "threshold needs the metric"),
    "unknown alert route": (_mutate(["concerns", 0, "alert_route"], ["pager"]), "concerns[0].alert_route[0]"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_cards_fail_with_file_field_and_problem(tmp_path: Path, case: str) -> None:
    data, expected = BROKEN[case]
    path = _write(tmp_path, data)
    with pytest.raises(CardError) as err:
        load_card(path)
    message = str(err.value)
    assert str(path) in message
    assert expected in message, message


def test_duplicate_concern_ids_are_refused(tmp_path: Path) -> None:
    data = _base()
    twin = dict(data["concerns"][0], check="other_check")
    data["concerns"].append(twin)
    with pytest.raises(CardError, match="two concerns share the id 'no-parcel-left-behind'"):
        load_card(_write(tmp_path, data))


def test_duplicate_yaml_keys_are_refused_not_silently_overwritten(tmp_path: Path) -> None:
    text = MINIMAL.read_text().replace("title: Parcel routing", "title: Parcel routing\ntitle: Other")
    with pytest.raises(CardError, match=r"line \d+, column \d+: .*duplicate key 'title'"):
        load_card(_write(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("concerns: [unclosed", "YAML syntax"), ("- just\n- a list\n", "must be a YAML mapping"), ("", "must be a YAML mapping")],
)
def test_unreadable_cards_say_why(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(CardError, match=expected):
        load_card(_write(tmp_path, text))


def test_binary_and_missing_files_are_clear_errors(tmp_path: Path) -> None:
    binary = tmp_path / "project.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CardError, match="not UTF-8"):
        load_card(binary)
    with pytest.raises(CardError, match="file not found"):
        load_card(tmp_path / "nope.yaml")


def test_lint_reports_what_a_reviewer_would_ask(tmp_path: Path) -> None:
    data = _base()
    data["business_case"]["kpi"]["target"] = "TODO: agree with Dana"
    data["business_case"]["stakeholder"]["committed_capacity"] = None
    data["business_case"]["alternatives"][0]["kind"] = "buy"
    data["business_case"]["alternatives"][0]["expected_outcome"] = "better"
    data["concerns"].append({"id": "no-lost-label", "statement": "Labels must not fall off.", "raised_by": "Dana",
                             "worst_case": "w", "user_story": "u", "demo": "label-falls-off"})
    card = load_card(_write(tmp_path, data))
    findings = lint_card(card, checks=set(), demos=set())
    text = "\n".join(str(f) for f in findings)
    assert "business_case.kpi.target: unanswered checklist item" in text
    assert "business_case.stakeholder.committed_capacity: unanswered checklist item" in text
    assert 'no "no ML at all" alternative' in text
    assert "expected_outcome: not quantified" in text
    assert "no metric measures this concern" in text
    assert "no Dagster asset check named 'no_unsorted_parcels'" in text
    assert "no worst-case demo 'label-falls-off'" in text
    assert all(f.level == "error" for f in findings if "no_unsorted_parcels" in f.message)


def test_planned_concerns_only_warn(tmp_path: Path) -> None:
    data = _base()
    data["concerns"][0]["status"] = "planned"
    card = load_card(_write(tmp_path, data))
    findings = lint_card(card, checks=set(), demos=set())
    assert findings and all(f.level == "warning" for f in findings)


@pytest.mark.rubric("model-1")
def test_the_three_domain_cards_pass_check_project() -> None:
    domains = discover_domains()
    assert {"credit", "invoice_ocr", "recommender"} <= set(domains)
    result = CliRunner().invoke(app, ["check-project"])
    assert result.exit_code == 0, result.output
    for name in ("credit", "invoice_ocr", "recommender"):
        assert f"{name}: OK" in result.output


def test_check_project_refuses_an_unknown_domain() -> None:
    result = CliRunner().invoke(app, ["check-project", "no_such_domain"])
    assert result.exit_code == 2
    assert "unknown domain 'no_such_domain'" in result.output
