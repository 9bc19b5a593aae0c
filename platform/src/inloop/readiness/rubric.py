"""The 28 tests of the ML Test Score (Breck, Cai, Nielsen, Salib, Sculley, IEEE Big Data 2017).

Ids are ``<section>-<n>`` with the paper's section order and numbering: ``data-1`` .. ``data-7``,
``model-1`` .. ``model-7``, ``infra-1`` .. ``infra-7``, ``monitor-1`` .. ``monitor-7``.
Scoring (the paper's): a test scores 0.5 when it is done by hand with documented results, 1.0 when
a system runs it automatically and repeatedly; a section's score is the sum of its tests; the final
score is the minimum over the four sections (above 5: "exceptional").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["RUBRIC", "SECTIONS", "RubricTest", "Section", "rubric_test"]

Section = Literal["data", "model", "infra", "monitor"]
SECTIONS: tuple[Section, ...] = ("data", "model", "infra", "monitor")
SECTION_TITLES: dict[Section, str] = {
    "data": "Tests for features and data",
    "model": "Tests for model development",
    "infra": "Tests for ML infrastructure",
    "monitor": "Monitoring tests for ML",
}


@dataclass(frozen=True)
class RubricTest:
    id: str
    section: Section
    number: int
    title: str
    closes_it: str  # what evidence would close it, for the "missing" list

    @property
    def label(self) -> str:
        return f"{self.section.capitalize()} {self.number}"


_T = RubricTest
RUBRIC: tuple[RubricTest, ...] = (
    _T("data-1", "data", 1, "Feature expectations are captured in a schema",
       "a schema suite (Great Expectations) over the training and serving features, run by the pipeline"),
    _T("data-2", "data", 2, "All features are beneficial",
       "an ablation report (leave-one-feature-out or per data source) logged with each training run"),
    _T("data-3", "data", 3, "No feature's cost is too much",
       "the ablation report's cost columns (latency, memory, upstream dependency) per feature group"),
    _T("data-4", "data", 4, "Features adhere to meta-level requirements",
       "a check that the features in use are allowed (no protected attributes, only approved sources)"),
    _T("data-5", "data", 5, "The data pipeline has appropriate privacy controls",
       "deleting a person removes them from every store (prediction log, snapshots, attachments), tested"),
    _T("data-6", "data", 6, "New features can be added quickly",
       "a documented and tested path to add a feature (or a domain) in minutes"),
    _T("data-7", "data", 7, "All input feature code is tested",
       "unit tests of the feature-engineering functions"),
    _T("model-1", "model", 1, "Model specs are reviewed and submitted",
       "model code and configuration under version control with review (project card, PRs, lint in CI)"),
    _T("model-2", "model", 2, "Offline and online metrics correlate",
       "a measured relation between the offline metric and the business / online metric"),
    _T("model-3", "model", 3, "All hyperparameters have been tuned",
       "a bounded tuning step whose trials are logged to MLflow"),
    _T("model-4", "model", 4, "The impact of model staleness is known",
       "a model-age vs quality curve from time-ordered data, stored with the model"),
    _T("model-5", "model", 5, "A simpler model is not better",
       "a promotion gate comparing the model with a simple baseline"),
    _T("model-6", "model", 6, "Model quality is sufficient on all important data slices",
       "per-slice metrics with thresholds, checked before promotion"),
    _T("model-7", "model", 7, "The model has been tested for considerations of inclusion",
       "a fairness / inclusion check over the groups the stakeholders named"),
    _T("infra-1", "infra", 1, "Training is reproducible",
       "retraining from the same data and seed gives the same model (tested)"),
    _T("infra-2", "infra", 2, "Model specs are unit tested",
       "unit tests of the training code on small data"),
    _T("infra-3", "infra", 3, "The ML pipeline is integration tested",
       "an end-to-end test of the pipeline (data to served model) run in CI"),
    _T("infra-4", "infra", 4, "Model quality is validated before attempting to serve it",
       "a promotion gate that blocks a worse model from becoming champion"),
    _T("infra-5", "infra", 5, "The model allows debugging by observing the step-by-step computation",
       "replay of a logged prediction with its inputs and explanation"),
    _T("infra-6", "infra", 6, "Models are canaried before serving",
       "a challenger serving a small share of traffic with its own metrics before promotion"),
    _T("infra-7", "infra", 7, "Serving models can be rolled back",
       "a one-command rollback of the champion alias, exercised by a test and logged"),
    _T("monitor-1", "monitor", 1, "Dependency changes result in notification",
       "a scheduled check of installed packages and upstream schemas that alerts on change"),
    _T("monitor-2", "monitor", 2, "Data invariants hold in training and serving inputs",
       "schema/expectation checks on serving inputs as well as training data"),
    _T("monitor-3", "monitor", 3, "Training and serving are not skewed",
       "a check that training and serving compute the same feature values (or drift between them)"),
    _T("monitor-4", "monitor", 4, "Models are not too stale",
       "a staleness check whose threshold comes from the staleness curve"),
    _T("monitor-5", "monitor", 5, "Models are numerically stable",
       "NaN/inf in features or outputs caught at serving and training time, with an alert"),
    _T("monitor-6", "monitor", 6, "Computing performance has not regressed",
       "benchmark results compared with the last committed ones; a regression raises a finding"),
    _T("monitor-7", "monitor", 7, "Prediction quality has not regressed",
       "live quality measured on labelled traffic and checked against a threshold, with an alert"),
)

_BY_ID = {t.id: t for t in RUBRIC}


def rubric_test(rubric_id: str) -> RubricTest:
    """The rubric test with this id; a clear error naming the valid ids otherwise."""
    try:
        return _BY_ID[rubric_id]
    except KeyError:
        raise ValueError(
            f"unknown ML Test Score id {rubric_id!r}; valid ids are data-1..7, model-1..7, infra-1..7, monitor-1..7"
        ) from None
