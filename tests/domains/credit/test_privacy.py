"""data-5 in the credit pipeline: after ``forget``, the next training run proves the applicant is gone.

The history is materialised into the real Dagster storage of the data directory, an applicant is
forgotten (their stored history row goes too), and the next run leaves them out with the
register check passing; a source that did not delete them makes the check fail, alert and block
training.
"""

from __future__ import annotations

import dagster as dg
import pytest

from inloop.alerts import list_alerts
from inloop.privacy import forget
from inloop.settings import get_settings


def _run(selection: list, honour: bool = True) -> dg.ExecuteInProcessResult:
    from credit.definitions import defs  # noqa: F401 - the location imports cleanly with the check in it

    instance = dg.DagsterInstance.local_temp(tempdir=str(get_settings().prepare().dagster_home_dir))
    config = {"ops": {"loan_applications": {"config": {"size": 360, "source_honours_erasures": honour}}}}
    return dg.materialize(selection, instance=instance, run_config=config, raise_on_error=False)


@pytest.mark.rubric("data-5")
def test_next_training_run_proves_a_forgotten_applicant_is_gone() -> None:
    from credit.defs.applications import applications_without_erased_applicants, loan_applications
    from credit.defs.training import training_sets

    first = _run([loan_applications, applications_without_erased_applicants])
    history = first.output_for_node("loan_applications")
    gone, kept = str(history["application_id"].iloc[7]), str(history["application_id"].iloc[8])

    receipt = forget("credit", gone, reason="GDPR art. 17 request #7", requested_by="dpo")
    stores = {s.store: s for s in receipt.stores}
    assert receipt.status == "done"
    assert stores["credit: pipeline outputs"].removed == 1  # the stored history row

    again = _run([loan_applications, applications_without_erased_applicants])
    (check,) = again.get_asset_check_evaluations()
    history = again.output_for_node("loan_applications")
    assert check.passed and check.metadata["erased_subjects_found"].value == 0
    assert gone not in set(history["application_id"]) and kept in set(history["application_id"])
    assert len(history) == 359

    # A source that did not delete them: the check fails, alerts, and no training set is built.
    leaky = _run([loan_applications, applications_without_erased_applicants, training_sets], honour=False)
    (check,) = leaky.get_asset_check_evaluations()
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["erased_subjects_found"].value == 1
    assert not leaky.success
    assert [e for e in leaky.get_step_success_events() if e.step_key == "training_sets"] == []
    alerts = [a for a in list_alerts("credit", status="open") if a.title.startswith("Erased people")]
    assert len(alerts) == 1 and gone not in alerts[0].message  # the alert itself does not repeat the id
