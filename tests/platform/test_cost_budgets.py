"""data-3: the card states what each feature group and data source may cost; the ablation is judged against it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from inloop.ablation import FeatureGroup, Score, judge_costs, run_ablation
from inloop.cards import CardError, CostBudget, load_card

MINIMAL = Path(__file__).with_name("cards") / "minimal.yaml"
SOURCE = {"id": "form", "description": "The application form", "owner": "Front end", "contact": "fe@example.org"}


def _card(tmp_path: Path, budgets: list[dict], sources: list[dict] | None = None) -> Path:
    data = yaml.safe_load(MINIMAL.read_text())
    data["data_sources"] = sources if sources is not None else [SOURCE]
    data["cost_budgets"] = budgets
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _ablation(size_of_noise: int = 0):  # type: ignore[no-untyped-def]
    """Two real groups: a signal, and noise whose model grows by ``size_of_noise`` bytes when it is kept."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(2_000, 2))
    y = (rng.random(2_000) < 1 / (1 + np.exp(-2 * X[:, 0]))).astype(int)
    names = ["signal", "noise"]

    def fit_and_score(dropped: tuple[str, ...]) -> Score:
        keep = [i for i, n in enumerate(names) if n not in dropped]
        model = LogisticRegression().fit(X[:1_500, keep], y[:1_500])
        auc = float(roc_auc_score(y[1_500:], model.predict_proba(X[1_500:, keep])[:, 1]))
        return Score(auc, 0.01, 1_000 + 100 * len(keep) + (size_of_noise if "noise" not in dropped else 0))

    groups = (FeatureGroup("signal", ("signal",), "form"), FeatureGroup("noise", ("noise",), "form telemetry"))
    return run_ablation(groups, fit_and_score, metric="AUC", min_gain=0.0)


@pytest.mark.rubric("data-3")
def test_budgets_in_the_card_judge_the_ablation_and_a_group_over_budget_is_a_finding(tmp_path: Path) -> None:
    card = load_card(_card(tmp_path, [
        {"feature_group": "signal", "bytes": 500, "ms_per_row": 1.0, "why": "the signal"},
        {"feature_group": "noise", "bytes": 500, "money_per_month": 100, "known_money_per_month": 40,
         "currency": "EUR", "why": "telemetry licence"},
        {"data_source": "form", "feature_groups": ["signal", "noise"], "bytes": 1_000, "why": "the whole form"},
    ]))
    within = _ablation().with_budgets(card.cost_budgets)
    assert within.cost_findings == [] and len(within.costs) == 3
    assert all(c.within for c in within.costs)
    assert "every budget holds" in within.markdown() and "40 of 100 EUR a month" in within.markdown()

    # The noise group now adds 50 kB of model: over its own budget and over the form's.
    over = _ablation(size_of_noise=50_000).with_budgets(card.cost_budgets)
    assert [c.target for c in over.costs if c.over] == ["feature group noise", "data source form"]
    assert len(over.cost_findings) == 2 and "50,100 bytes > 500" in over.cost_findings[0]
    assert over.metrics()["ablation_cost_findings"] == 2.0

    # A known running cost above its money budget is a finding too; a group nobody budgeted is one as well.
    pricey = CostBudget(feature_group="signal", money_per_month=10, known_money_per_month=11, currency="EUR", why="x y")
    judged = _ablation().with_budgets([pricey])
    assert judged.cost_findings[0].startswith("feature group signal") and "11 EUR a month > 10" in judged.cost_findings[0]
    assert judged.unbudgeted == ("noise",) and "noise has no cost budget" in judged.cost_findings[1]


def test_a_budget_for_a_group_the_ablation_does_not_have_is_an_error() -> None:
    report = _ablation()
    with pytest.raises(ValueError, match=r"renamed|does not have"):
        judge_costs(report.rows, [CostBudget(feature_group="renamed", bytes=1, why="old name")])


@pytest.mark.parametrize(("budget", "expected"), [
    ({"feature_group": "signal", "why": "no figure"}, "at least one of ms_per_row, bytes or money_per_month"),
    ({"feature_group": "signal", "data_source": "form", "bytes": 1, "why": "both"}, "exactly one"),
    ({"data_source": "form", "bytes": 1, "why": "which groups?"}, "must list the feature_groups"),
    ({"data_source": "nowhere", "feature_groups": ["signal"], "bytes": 1, "why": "unknown"}, "not in data_sources"),
    ({"feature_group": "signal", "money_per_month": 5, "why": "no currency"}, "currency"),
    ({"feature_group": "signal", "ms_per_row": -1, "why": "negative"}, "greater than or equal to 0"),
    ({"feature_group": "signal", "known_money_per_month": 5, "ms_per_row": 1, "why": "known, no budget"},
     "needs the money_per_month budget"),
])
def test_a_bad_budget_is_refused_by_the_card_schema_with_a_clear_error(tmp_path: Path, budget: dict,
                                                                       expected: str) -> None:
    with pytest.raises(CardError, match=expected):
        load_card(_card(tmp_path, [budget]))


def test_two_budgets_for_the_same_group_are_refused(tmp_path: Path) -> None:
    twice = {"feature_group": "signal", "bytes": 1, "why": "the signal"}
    with pytest.raises(CardError, match="same feature group"):
        load_card(_card(tmp_path, [twice, twice]))


@pytest.mark.parametrize("domain", ["credit", "recommender"])
def test_every_ablation_group_of_the_domain_has_a_budget_in_its_card(domain: str) -> None:
    from inloop.domains import discover_domains

    card = discover_domains()[domain].card()
    if domain == "credit":
        from credit.lib.studies import FEATURE_GROUPS as groups
    else:
        from recommender.lib.studies import EVENT_SOURCES as groups
    budgeted = {b.feature_group for b in card.cost_budgets if b.feature_group}
    assert budgeted == {g.name for g in groups}
    for budget in card.cost_budgets:  # a data source's groups are groups of the ablation
        assert set(budget.feature_groups) <= {g.name for g in groups}
