"""The ML Test Score page: per domain the 28 tests, section scores, the final score and what is missing."""

from __future__ import annotations

import pytest

from inloop.readiness.rubric import RUBRIC


@pytest.fixture
def tagged_shop(shop_domain):  # type: ignore[no-untyped-def]
    card = shop_domain.card_path.read_text()
    shop_domain.card_path.write_text(card.replace("    check: off_context_rate\n",
                                                  "    check: off_context_rate\n    rubric: [monitor-2]\n"))
    return shop_domain


def test_the_page_scores_the_domain_and_lists_what_is_missing_with_what_closes_it(open_page, tagged_shop):
    at = open_page("readiness")
    assert at.selectbox[0].value == "shop_test"
    metrics = {m.label: m.value for m in at.metric}
    sections = [float(metrics[label].split(" of ")[0]) for label in metrics if label != "Final score"]
    assert len(sections) == 4 and float(metrics["Final score"]) == min(sections)
    table = at.dataframe[0].value
    assert table["test"].tolist() == [t.id for t in RUBRIC]
    assert set(table["score"]) <= {0.0, 0.5, 1.0}
    text = "\n".join(m.value for m in at.markdown)
    # the card declares monitor-2, but the domain's pipelines do not load: listed, not counted
    assert table.loc[table["test"] == "monitor-2", "score"].item() == 0.0
    assert "**monitor-2 — Data invariants hold in training and serving inputs**" in text
    assert "schema/expectation checks on serving inputs as well as training data" in text
    assert "declared but not counted: check `check off_context_rate (concern no-off-context-items)`" in text
    assert "Dagster definitions do not load" in text
