"""model-2 in the pipeline: every served version's offline recall@10 against its logged box click-through."""

# No "from __future__ import annotations" here: Dagster reads the asset's types from the real annotations.

import dagster as dg
import pandas as pd

from inloop import tracking
from inloop.checks import Measurement, concern_check
from inloop.offline_online import Relation
from inloop.offline_online_check import relation_measurement
from recommender.defs.checks import card
from recommender.lib.offline_online import OFFLINE_METRIC, relation_from_log
from recommender.lib.registry import MODEL_NAME

CONCERN = "offline-online-agreement"


def offline_recall_by_version(versions: list[str], model_name: str = MODEL_NAME) -> dict[str, float]:
    """The offline recall@10 logged with each registered version's run (``recommender-als/3`` or ``3``)."""
    from mlflow.exceptions import MlflowException

    from inloop import tracking

    client = tracking.client()
    out = {}
    for label in versions:
        name, _, number = label.rpartition("/")
        if (name and name != model_name) or not number.isdigit():
            continue  # a model that is not a registered version (an in-process test model): no offline figure
        try:
            run = client.get_run(client.get_model_version(model_name, number).run_id)
        except MlflowException:
            continue
        value = run.data.metrics.get(OFFLINE_METRIC)
        if value is not None:
            out[label] = float(value)
    return out




@dg.asset(group_name="serving", deps=["box_engagement"], output_required=False)
def offline_online_ctr(context: dg.AssetExecutionContext, shop_events: pd.DataFrame):  # type: ignore[no-untyped-def]
    """Offline recall@10 vs logged box click-through per served version (once the serving one has enough)."""
    found = relation_from_log(shop_events, card.concern(CONCERN), offline_recall_by_version)
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
