"""The recommender's Dagster code location: it loads, the shop materializes, the catalog check bites."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from inloop import db
from inloop.alerts import list_alerts
from inloop.db.models import CheckResult
from recommender.definitions import defs
from recommender.defs.checks import catalog_items_have_gender_target
from recommender.defs.shop import synthetic_shop

SMALL_SHOP = {"ops": {"synthetic_shop": {"config": {"n_items": 200, "n_accounts": 150, "days": 21}}}}


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def _check_rows() -> list[CheckResult]:
    with db.read_session() as sess:
        return list(sess.scalars(sa.select(CheckResult).where(CheckResult.concern_id == "catalog-gender-tagged")))


def test_shop_materializes_and_the_gender_target_check_passes_on_clean_data():
    result = dg.materialize([synthetic_shop, catalog_items_have_gender_target], run_config=SMALL_SHOP)
    assert result.success
    catalog = result.output_for_node("synthetic_shop", "catalog")
    assert len(catalog) == 200
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.check_name == "catalog_items_have_gender_target"
    assert evaluation.passed
    [row] = _check_rows()
    assert row.passed and row.metric_value == 0.0
    assert list_alerts("recommender") == []


def _catalog_feed_without_tags() -> dg.AssetsDefinition:
    @dg.asset(name="catalog")
    def catalog() -> pd.DataFrame:
        """A catalog whose new brand's feed arrived without gender targets."""
        from recommender.lib.shop import ShopSpec, generate_catalog

        frame = generate_catalog(ShopSpec(n_items=200))
        frame.loc[:9, "gender_target"] = None
        frame.loc[10:14, "gender_target"] = "kids"
        return frame

    return catalog


@pytest.mark.rubric("data-1")
def test_untagged_articles_fail_the_check_record_the_metric_and_group_into_one_alert():
    dirty = _catalog_feed_without_tags()
    for _ in range(2):
        result = dg.materialize([dirty, catalog_items_have_gender_target], raise_on_error=False)
        [evaluation] = result.get_asset_check_evaluations()
        assert not evaluation.passed
        assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    rows = _check_rows()
    assert [r.passed for r in rows] == [False, False]
    assert rows[0].metric_value == 15 / 200
    [alert] = list_alerts("recommender")
    assert alert.concern_id == "catalog-gender-tagged"
    assert alert.occurrences == 2
    assert "15 of 200 articles" in alert.message
