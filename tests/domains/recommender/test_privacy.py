"""data-5 in the recommender: a forgotten shop account leaves the stored shop and the next run proves it."""

from __future__ import annotations

import dagster as dg
import pytest

from inloop.predictions import log_prediction
from inloop.privacy import forget
from inloop.settings import get_settings

SMALL_SHOP = {"n_items": 132, "n_accounts": 40, "days": 14}


def _run(honour: bool = True) -> dg.ExecuteInProcessResult:
    from recommender.defs.shop import shop_events_without_erased_accounts, synthetic_shop

    instance = dg.DagsterInstance.local_temp(tempdir=str(get_settings().prepare().dagster_home_dir))
    config = {"ops": {"synthetic_shop": {"config": {**SMALL_SHOP, "source_honours_erasures": honour}}}}
    return dg.materialize([synthetic_shop, shop_events_without_erased_accounts], instance=instance,
                          run_config=config, raise_on_error=False)


@pytest.mark.rubric("data-5")
def test_a_forgotten_account_leaves_every_store_and_the_next_run_proves_it() -> None:
    first = _run()
    events = first.output_for_node("synthetic_shop", "shop_events")
    counts = events["account_id"].value_counts()
    gone, kept = int(counts.index[0]), int(counts.index[1])
    for account in (gone, kept):
        log_prediction(domain="recommender", component="last_seen_box", subject_id=f"account:{account}",
                       features={"account_id": account, "page": "men"}, output={"items": [1, 2]})

    receipt = forget("recommender", f"{gone:04d}", reason="account closed, delete my data", requested_by="support")
    stores = {s.store: s for s in receipt.stores}
    assert receipt.subject_id == str(gone) and receipt.status == "done"
    assert any("POST /models/reload" in note for note in receipt.not_covered)
    assert stores["prediction log"].removed == 1
    # its shopper row(s) and every one of its events, in the stored shop
    assert stores["recommender: pipeline outputs"].removed >= counts[gone] + 1

    again = _run()
    (check,) = again.get_asset_check_evaluations()
    shoppers = again.output_for_node("synthetic_shop", "shoppers")
    events = again.output_for_node("synthetic_shop", "shop_events")
    assert check.passed
    assert gone not in set(shoppers["account_id"]) and gone not in set(events["account_id"])
    assert kept in set(events["account_id"]) and (events["account_id"] == kept).sum() == counts[kept]

    leaky = _run(honour=False)
    (check,) = leaky.get_asset_check_evaluations()
    assert not check.passed and check.metadata["erased_subjects_found"].value == 1
