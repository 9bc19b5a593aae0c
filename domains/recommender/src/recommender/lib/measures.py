"""How each concern of the project card is measured: plain functions from data to a Measurement.

The Dagster checks in ``recommender.defs.checks`` call these; the tests and the worst-case demo
call the same functions, so "before and after the filter" is measured exactly as the check does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pandas as pd

from inloop.cards import Threshold
from inloop.checks import Measurement
from recommender.lib.boxes import fits_page
from recommender.lib.evaluation import Evaluation
from recommender.lib.last_seen import COMPONENT as LAST_SEEN
from recommender.lib.page import PageView
from recommender.lib.recommendations import COMPONENT as RECOMMENDATIONS
from recommender.lib.shop import GENDER_TARGETS, SECTIONS

__all__ = ["champion_staleness", "model_beats_popularity", "new_user_coverage", "off_context_rate",
           "shared_account_recall", "stale_last_seen", "untagged_items"]


def untagged_items(catalog: pd.DataFrame) -> Measurement:
    """Share of articles without a valid gender target (men, women, unisex), via Great Expectations."""
    import great_expectations as gx

    from inloop.validation import validate

    summary = validate(catalog, [
        gx.expectations.ExpectColumnValuesToNotBeNull(column="gender_target"),
        gx.expectations.ExpectColumnValuesToBeInSet(column="gender_target", value_set=list(GENDER_TARGETS)),
    ], "recommender-catalog-gender-target")
    failing = catalog.loc[summary.failing_row_indices] if summary.failing_row_indices else catalog.iloc[:0]
    examples = failing["item_id"].head(5).tolist() if "item_id" in failing else []
    return Measurement(
        value=summary.failing_row_share,
        summary=(f"{len(failing)} of {len(catalog)} articles have no valid gender target"
                 + (f" (e.g. items {examples})" if examples else "")),
        details={"articles": len(catalog), "untagged": len(failing), "examples": examples,
                 "expectations": summary.describe_failures()},
    )


def off_context_rate(views: Sequence[PageView]) -> Measurement:
    """Share of items shown on gendered pages that target the other section (untagged ones count too)."""
    shown = 0
    off: Counter[str] = Counter()
    examples: list[dict[str, object]] = []
    for view in views:
        if view.page not in SECTIONS:
            continue
        for box in view.boxes:
            for item in box.items:
                shown += 1
                if not fits_page(item.gender_target, view.page):
                    off[box.component] += 1
                    if len(examples) < 5:
                        examples.append({"request_id": view.request_ids.get(box.component), "page": view.page,
                                         "item": item.name, "reason": item.reason})
    rate = sum(off.values()) / shown if shown else None
    return Measurement(
        value=rate,
        summary=(f"{sum(off.values())} of {shown} items on gendered pages were off-context"
                 + (f", by box: {dict(off)}" if off else "")),
        details={"shown_on_gendered_pages": shown, "off_context_by_box": dict(off), "examples": examples,
                 "page_views": sum(1 for v in views if v.page in SECTIONS)},
    )


def stale_last_seen(views: Sequence[PageView], max_age_days: float = 14.0) -> Measurement:
    """Share of last-seen items whose latest interaction is older than ``max_age_days``."""
    ages = [float(item.evidence["age_days"]) for view in views for item in view.box(LAST_SEEN).items]
    stale = sum(1 for age in ages if age > max_age_days)
    return Measurement(
        value=stale / len(ages) if ages else 0.0,
        summary=f"{stale} of {len(ages)} last-seen items were seen more than {max_age_days:g} days before",
        details={"last_seen_items": len(ages), "stale": stale, "oldest_days": max(ages, default=0.0)},
    )


def new_user_coverage(views: Sequence[PageView], max_history: int = 2) -> Measurement:
    """Share of new accounts' page views whose recommendations box is full and all in the page's context."""
    new = [v for v in views if v.history_length <= max_history]
    full = [v for v in new
            if len(v.box(RECOMMENDATIONS).items) == v.config.box_size
            and all(fits_page(i.gender_target, v.page) for i in v.box(RECOMMENDATIONS).items)]
    return Measurement(
        value=len(full) / len(new) if new else None,
        summary=(f"{len(full)} of {len(new)} page views of new accounts (at most {max_history} interactions) "
                 "had a full, in-context recommendations box"),
        details={"new_user_page_views": len(new), "full_boxes": len(full), "max_history": max_history},
    )


def shared_account_recall(detection: pd.DataFrame) -> Measurement:
    """Share of labelled households whose history mixes both people that the detector flagged.

    ``detection`` is :func:`recommender.lib.shared_accounts.label_detection`'s frame. A household
    where only one person browses is, for every box, a single account: it is not counted.
    Precision (flagged accounts that really are households) is reported beside it.
    """
    mixed = detection[detection["shared"] & detection["both_active"]]
    flagged = detection[detection["shared_detected"]]
    recall = float(mixed["shared_detected"].mean()) if len(mixed) else None
    precision = float(flagged["shared"].mean()) if len(flagged) else None
    missed = mixed.loc[~mixed["shared_detected"], "account_id"].head(5).tolist()
    return Measurement(
        value=recall,
        summary=(f"{int(mixed['shared_detected'].sum())} of {len(mixed)} households with two active people "
                 f"detected; precision {'n/a' if precision is None else f'{precision:.3f}'}"),
        details={"households_labelled": int(detection["shared"].sum()), "households_both_active": len(mixed),
                 "detected": int(mixed["shared_detected"].sum()), "flagged_accounts": len(flagged),
                 "precision": precision, "missed_examples": missed},
    )


def model_beats_popularity(evaluation: Evaluation) -> Measurement:
    """The model's recall@k lift over the popularity baseline, with the slice table as evidence."""
    model, base = evaluation.overall["model"], evaluation.overall["popularity"]
    return Measurement(
        value=evaluation.recall_lift,
        summary=(f"recall@{evaluation.k}: model {model['recall']:.4f} vs popularity {base['recall']:.4f}; "
                 f"NDCG@{evaluation.k}: {model['ndcg']:.4f} vs {base['ndcg']:.4f} on {evaluation.accounts} accounts"),
        details={"overall": evaluation.overall, "slices": evaluation.table(),
                 "catalog_coverage": evaluation.catalog_coverage},
    )


def champion_staleness(_: object = None, *, ceiling: Threshold) -> Measurement:
    """The serving champion's age against the age limit its staleness curve implies (``ceiling``: the card's)."""
    from inloop.staleness import champion_age_days, derived_threshold, logged_staleness_limit
    from recommender.lib.registry import MODEL_NAME

    try:
        version, days, run_id = champion_age_days(MODEL_NAME)
    except LookupError as exc:
        return Measurement(None, f"{exc}: no model serves, so none can be judged fresh")
    limit = logged_staleness_limit(run_id)
    threshold = derived_threshold(limit, ceiling)
    basis = (f"limit {threshold.value:g} days (curve {limit:g}, card ceiling {ceiling.value:g})" if threshold
             else f"no staleness curve logged for v{version} yet: the card's {ceiling.value:g} days")
    return Measurement(round(days, 3), f"champion v{version} was registered {days:.1f} days ago; {basis}",
                       {"champion_version": version, "curve_limit_days": limit, "card_ceiling_days": ceiling.value},
                       threshold=threshold)
