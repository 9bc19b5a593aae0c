"""The data-quality report for data owners: broken rows per source, in plain words, with examples.

The credit domain's real hook and schema run on a clean history and a front-end batch with known
damage; the report must name exactly those rows, with their application ids, and the owner.
"""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from inloop.data_quality import build_report, write_report


@pytest.fixture
def batches() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
    from credit.lib.data import generate_applications

    history = generate_applications(40, seed=3, months=range(2))
    batch = generate_applications(60, seed=4, months=[18]).drop(columns=["default_12m"])
    ids = batch["application_id"].tolist()
    batch.loc[[3, 17, 41], "income_monthly_eur"] = 0.0  # a missing income sent as 0
    batch["channel"] = batch["channel"].astype(str)
    batch.loc[[5, 6], "channel"] = "fax"
    batch.loc[50, "application_id"] = ids[49]  # a retry sent as a new application
    broken = {"income_monthly_eur": [ids[i] for i in (3, 17, 41)], "channel": [ids[5], ids[6]]}
    return history, batch, broken


def test_report_names_each_broken_rule_its_rows_and_the_owner(batches) -> None:
    history, batch, broken = batches
    report = build_report("credit", frames={"loan_history": history, "frontend_batches": batch}, examples=2)

    by_id = {s.id: s for s in report.sources}
    assert by_id["loan_history"].clean and by_id["loan_history"].rows == 40
    front = by_id["frontend_batches"]
    assert front.owner == "Loan Front End team" and front.contact == "loan-frontend@bank.example"
    findings = {f.column: f for f in front.findings}
    assert set(findings) == {"income_monthly_eur", "channel", "application_id"}
    income = findings["income_monthly_eur"]
    assert income.failing_rows == 3 and income.share == pytest.approx(3 / 60)
    assert income.rule.startswith("income_monthly_eur must be between 300 and 100,000 — net monthly income")
    assert [e["application_id"] for e in income.examples] == broken["income_monthly_eur"][:2]
    assert all(e["income_monthly_eur"] == 0.0 for e in income.examples)
    assert findings["channel"].failing_rows == 2 and "must be one of: web, app, partner, branch" in findings["channel"].rule
    assert findings["application_id"].failing_rows == 2  # both rows of the duplicate
    assert front.rows_breaking == 7

    csv = report.failing_rows("frontend_batches")
    assert len(csv) == 7 and set(csv.columns) == {"source", "row", "application_id", "column", "value", "rule"}
    assert sorted(csv.loc[csv["column"] == "income_monthly_eur", "application_id"]) == sorted(broken["income_monthly_eur"])

    paths = write_report(report)
    markdown = paths["markdown"].read_text()
    assert "**To:** Loan Front End team <loan-frontend@bank.example>" in markdown
    assert "| income_monthly_eur | income_monthly_eur must be between 300 and 100,000" in markdown
    assert "All 40 rows meet every expectation" in markdown
    assert pd.read_csv(paths["frontend_batches"]).shape[0] == 7 and "loan_history" not in paths


def test_unknown_sources_and_domains_without_sources_are_refused() -> None:
    with pytest.raises(KeyError, match="no source.*nope.*loan_history, frontend_batches"):
        build_report("credit", only=["nope"])
    with pytest.raises(LookupError, match="no 'data_quality_sources' hook"):
        build_report("invoice_ocr")


def test_cli_reports_the_newest_inbox_batch_and_can_fail_on_findings(inloop_env) -> None:
    from credit.lib.live import simulate_frontend_batch
    from inloop.cli import app

    batch_id = simulate_frontend_batch(18, 80, seed=9, duration_unit="milliseconds")
    result = CliRunner().invoke(app, ["data-quality", "credit", "--source", "frontend_batches",
                                      "--fail-on-findings", "--examples", "1"])
    assert result.exit_code == 1, result.output
    assert f"## frontend_batches (batch {batch_id})" in result.output
    assert "application_duration_seconds must be between 5 and 14,400" in result.output
    written = inloop_env / "reports" / "credit" / "data-quality"
    assert (written / "failing-rows-frontend_batches.csv").is_file() and (written / "data-quality.md").is_file()
    assert CliRunner().invoke(app, ["data-quality", "nope"]).exit_code == 2
