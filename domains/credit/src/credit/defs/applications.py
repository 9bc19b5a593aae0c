"""The application history the models learn from, and the schema check in front of it."""

# No `from __future__ import annotations` here: Dagster resolves Config annotations at runtime.
import dagster as dg
import pandas as pd

from credit.defs.card import credit_card
from credit.lib.data import HISTORY_MONTHS, LABEL, generate_applications
from credit.lib.loan_book import DEFAULT_HISTORY_SIZE, SOURCE_ID, read_loan_history
from credit.lib.schema import check_schema
from inloop.checks import Measurement, concern_check
from inloop.privacy import drop_erased
from inloop.privacy.checks import erased_subjects_check
from inloop.settings import get_settings

__all__ = ["DEFAULT_HISTORY_SIZE", "LoanApplicationsConfig", "loan_applications"]


class LoanApplicationsConfig(dg.Config):
    """How much history to simulate (default: 20,000 x INLOOP_DEMO_DATA_SCALE) and its seed (synthetic
    source only; a configured source in the card is read as it is)."""

    size: int | None = None
    seed: int = 7
    #: The simulated source deletes people as the deletion register says (as a warehouse would once
    #: an erasure has propagated). False plays a source that did not: the register check must block.
    source_honours_erasures: bool = True


@dg.asset(group_name="credit_training", kinds={"pandas"})
def loan_applications(context: dg.AssetExecutionContext, config: LoanApplicationsConfig) -> pd.DataFrame:
    """Loan applications of the past months with their observed 12-month default, from the card's
    ``loan_history`` source (the synthetic world by default), mapped onto the application schema.
    A source whose mapping does not fit stops the run here, naming the source, column and owner."""
    size = config.size or max(HISTORY_MONTHS, round(DEFAULT_HISTORY_SIZE * get_settings().demo_data_scale))
    history = read_loan_history(credit_card(),
                                lambda: generate_applications(size, seed=config.seed, months=range(HISTORY_MONTHS)))
    frame = history.frame
    left_out = 0
    if config.source_honours_erasures:
        frame, left_out = drop_erased("credit", frame, "application_id")
    context.add_output_metadata({
        "source": f"{SOURCE_ID} ({history.where})",
        "absent_inputs": ", ".join(history.absent) or "none",
        "source_notes": " ".join(history.notes) or "none",
        "rows": len(frame),
        "erased_applicants_left_out": left_out,
        "first_application": str(frame["applied_at"].min()),
        "last_application": str(frame["applied_at"].max()),
        "default_rate": round(float(frame[LABEL].mean()), 4),
        # Without the application id: Dagster's event log keeps metadata, and `inloop forget` cannot reach it.
        "preview": dg.MetadataValue.md(frame.head(5).drop(columns=["application_id"]).to_markdown(index=False)),
    })
    return frame


def measure_schema(applications: pd.DataFrame) -> Measurement:
    """Share of applications breaking the application schema (Great Expectations)."""
    summary = check_schema(applications)
    failed = {o.description: o.unexpected_count for o in summary.failed}
    return Measurement(
        value=summary.failing_row_share,
        summary=summary.describe_failures(),
        details={"rows": summary.rows, "rows_breaking": len(summary.failing_row_indices), "failed_expectations": failed},
    )


applications_match_schema = concern_check(
    credit_card(), "training-data-schema", asset=loan_applications, measure=measure_schema
)


applications_without_erased_applicants = erased_subjects_check(
    "credit", loan_applications, lambda frame: frame["application_id"], name="no_erased_applicants",
    description="No applicant from the deletion register is in the training history (blocks training).",
)
