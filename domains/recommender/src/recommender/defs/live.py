"""The live shop monitored by itself: what the page route served and what the catalog feed delivered.

Two sensors, RUNNING by default (the concerns rely on them): one cuts the prediction log into batches of
served page views and runs the shared-account traffic check on each; one runs the gender-target check on
every catalog delivery as it arrives. Both go through the card's concern checks, so a failure raises an
alert the domain's alert router delivers.
"""

# No "from __future__ import annotations" here: Dagster reads the config class from the real annotation.

import dagster as dg
import pandas as pd
from pydantic import Field

from inloop.checks import concern_check
from recommender.defs.checks import card
from recommender.lib import measures
from recommender.live import (
    SERVED_BATCH_MIN,
    deliveries,
    read_delivery,
    served_batch_since,
    served_page_views,
    shared_account_traffic,
)


class ServedBatchConfig(dg.Config):
    after_id: int = Field(description="The batch holds the page views logged after this prediction-log id ...")
    through_id: int = Field(description="... up to and including this one.")


class DeliveryConfig(dg.Config):
    delivery_ids: list[str] = Field(description="Catalog deliveries in the feed (file names without .parquet), "
                                    "checked together.")


@dg.asset(group_name="live")
def served_page_view_batch(config: ServedBatchConfig) -> dg.Output[pd.DataFrame]:
    """Page views the page route served in a prediction-log range: one row per view (from its last-seen entry)."""
    views = served_page_views(config.after_id, config.through_id)
    return dg.Output(views, metadata={"page_views": len(views), "after_id": config.after_id,
                                      "through_id": config.through_id})


@dg.asset(group_name="live")
def catalog_delivery(config: DeliveryConfig) -> dg.Output[pd.DataFrame]:
    """The deliveries of new articles from the merchandising feed since the last check, as they arrived."""
    articles = pd.concat([read_delivery(d).assign(delivery=d) for d in config.delivery_ids], ignore_index=True)
    return dg.Output(articles, metadata={"deliveries": ", ".join(config.delivery_ids), "articles": len(articles)})


shared_accounts_in_served_traffic = concern_check(
    card, "shared-account-traffic", asset=served_page_view_batch, measure=shared_account_traffic)
#: The same concern and measure as the pipeline's catalog check, on each delivery as it arrives.
delivered_items_have_gender_target = concern_check(
    card, "catalog-gender-tagged", asset=catalog_delivery, measure=measures.untagged_items)

LIVE_ASSETS = [served_page_view_batch, catalog_delivery]
LIVE_CHECKS = [shared_accounts_in_served_traffic, delivered_items_have_gender_target]

monitor_served_pages = dg.define_asset_job(
    "monitor_served_pages", selection=dg.AssetSelection.assets(served_page_view_batch),
    executor_def=dg.in_process_executor,
    description="Judge a batch of page views the page route served (shared-account traffic).")
check_catalog_delivery = dg.define_asset_job(
    "check_catalog_delivery", selection=dg.AssetSelection.assets(catalog_delivery),
    executor_def=dg.in_process_executor,
    description="Check a catalog delivery from the merchandising feed (every article's gender target).")


@dg.sensor(job=monitor_served_pages, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def recommender_served_pages_sensor(context: dg.SensorEvaluationContext):  # type: ignore[no-untyped-def]
    """Monitors what ``GET /recommender/pages/{page}`` served: every ``SERVED_BATCH_MIN`` logged page views
    become a batch the shared-account traffic check judges."""
    after = int(context.cursor or 0)
    through = served_batch_since(after)
    if through is None:
        return dg.SkipReason(f"fewer than {SERVED_BATCH_MIN} page views served since log entry {after}")
    context.update_cursor(str(through))
    return dg.RunRequest(run_key=f"served-{after}-{through}", run_config={"ops": {"served_page_view_batch": {
        "config": {"after_id": after, "through_id": through}}}})


@dg.sensor(job=check_catalog_delivery, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def recommender_catalog_feed_sensor(context: dg.SensorEvaluationContext):  # type: ignore[no-untyped-def]
    """Checks the catalog deliveries that arrived since the last tick, in one run. Deliveries are named so
    that they sort in arrival order (the world's are ``world-day-NNNNN``); the cursor is the newest checked."""
    new = [d for d in deliveries() if d > (context.cursor or "")]
    if not new:
        return dg.SkipReason(f"no catalog delivery after {context.cursor or 'the first'}")
    context.update_cursor(new[-1])
    return dg.RunRequest(run_key=f"catalog-{new[0]}-{new[-1]}", run_config={"ops": {"catalog_delivery": {
        "config": {"delivery_ids": new}}}})


LIVE_JOBS = [monitor_served_pages, check_catalog_delivery]
LIVE_SENSORS = [recommender_served_pages_sensor, recommender_catalog_feed_sensor]
