"""The project card's concerns as Dagster asset checks (measurements live in ``recommender.lib.measures``)."""

from __future__ import annotations

from inloop.checks import concern_check
from recommender.domain import domain
from recommender.lib import measures, online

card = domain.card()

catalog_items_have_gender_target = concern_check(
    card, "catalog-gender-tagged", asset="catalog", measure=measures.untagged_items)
model_beats_popularity_recall_at_10 = concern_check(
    card, "model-beats-popularity", asset="recommender_evaluation", measure=measures.model_beats_popularity)
shared_account_detection_recall = concern_check(
    card, "shared-accounts-detected", asset="shared_account_detection", measure=measures.shared_account_recall)
off_context_rate_on_gendered_pages = concern_check(
    card, "no-off-context-items", asset="served_pages", measure=measures.off_context_rate)
new_user_recommendation_coverage = concern_check(
    card, "new-users-get-useful-recommendations", asset="served_pages", measure=measures.new_user_coverage)
last_seen_items_are_recent = concern_check(
    card, "last-seen-is-recent", asset="served_pages", measure=measures.stale_last_seen)

serving_inputs_hold_invariants = concern_check(
    card, "serving-inputs-valid", asset="served_pages", measure=online.invalid_serving_inputs)
live_box_ctr_above_target = concern_check(
    card, "live-box-ctr", asset="box_engagement", measure=online.live_box_ctr)
named_groups_not_left_behind = concern_check(
    card, "named-groups-included", asset="recommender_evaluation", measure=online.inclusion)

_age_ceiling = card.concern("model-staleness").threshold
recommender_champion_not_stale = concern_check(
    card, "model-staleness", asset="served_pages",
    measure=lambda _: measures.champion_staleness(ceiling=_age_ceiling))  # type: ignore[arg-type]

CHECKS = [
    catalog_items_have_gender_target,
    model_beats_popularity_recall_at_10,
    shared_account_detection_recall,
    off_context_rate_on_gendered_pages,
    new_user_recommendation_coverage,
    last_seen_items_are_recent,
    recommender_champion_not_stale,
    serving_inputs_hold_invariants,
    live_box_ctr_above_target,
    named_groups_not_left_behind,
]
