"""The Data quality page shows the last report per domain, with the owner and the failing-rows download."""

from __future__ import annotations

import pytest

from credit.lib.data import generate_applications
from inloop.data_quality import build_report, write_report


@pytest.mark.slow  # the console run imports every installed domain
def test_data_quality_page_shows_the_report_for_the_owner(open_page) -> None:  # type: ignore[no-untyped-def]
    batch = generate_applications(30, seed=4, months=[18]).drop(columns=["default_12m"])
    batch.loc[[2, 9], "income_monthly_eur"] = 0.0
    history = generate_applications(20, seed=3, months=range(2))
    write_report(build_report("credit", frames={"loan_history": history, "frontend_batches": batch}))

    at = open_page("data_quality", data_quality_domain="credit")
    text = "\n".join(m.value for m in at.markdown)
    assert "**To:** Loan Front End team <loan-frontend@bank.example>" in text
    assert "income_monthly_eur must be between 300 and 100,000" in text
    assert batch.loc[2, "application_id"] in text
    labels = [b.label for b in at.get("download_button")]
    assert "Failing rows: frontend_batches (CSV)" in labels
