"""model-2 in the pipeline: every served version's offline recall@10 against its logged box click-through."""

# No "from __future__ import annotations" here: Dagster reads the asset's types from the real annotations.

import dagster as dg
import pandas as pd

from inloop import tracking
from inloop.checks import Measurement, concern_check
from inloop.offline_online import Relation, relation_measurement
from recommender.domain import domain
from recommender.lib.offline_online import relation_from_log
from recommender.lib.registry import MODEL_NAME

card = domain.card()
CONCERN = "offline-online-agreement"


@dg.asset(group_name="serving", deps=["box_engagement"], output_required=False)
def offline_online_ctr(context: dg.AssetExecutionContext, shop_events: pd.DataFrame):  # type: ignore[no-untyped-def]
    """Offline recall@10 vs logged box click-through per served version (once the serving one has enough)."""
    found = relation_from_log(shop_events, card.concern(CONCERN))
    champion = tracking.champion_version(MODEL_NAME)
    serving = f"{MODEL_NAME}/{champion}"
    if found is None or not [p for p in found.of(serving) if p.online is not None]:
        context.log.info(f"{serving}: not enough linked impressions in the prediction log to judge yet")
        return
    context.add_output_metadata({"serving": serving, "summary": found.describe("CTR"),
                                 "pairs": dg.MetadataValue.json(found.to_dict())})
    yield dg.Output((serving, found))


def measure(value: tuple[str, Relation]) -> Measurement:
    serving, found = value
    return relation_measurement(found, serving, what="live box click-through vs 0.3 x offline recall@10")


offline_recall_predicts_live_ctr = concern_check(card, CONCERN, asset=offline_online_ctr, measure=measure)
