"""What can go wrong in the recommender's world, each caught by a card concern's check (never told to the
platform)."""

from __future__ import annotations

import pandas as pd

from inloop.world import IncidentKind

__all__ = ["INCIDENTS", "apply_to_delivery"]

INCIDENTS = {
    "shared-account-surge": IncidentKind(
        "A family-plan campaign: households that share one account (one person on the desktop, the other in "
        "the app) make most of the sessions; every household the detector misses shows one person's last-seen "
        "articles to the other.",
        concerns=("shared-account-traffic",),
    ),
    "catalog-missing-gender": IncidentKind(
        "A new brand's catalog feed arrives without gender targets for part of its articles.",
        concerns=("catalog-gender-tagged",),
    ),
}


def apply_to_delivery(articles: pd.DataFrame, active: set[str], untagged_share: float) -> pd.DataFrame:
    """The day's catalog delivery as the running incidents change it (sessions change in ``sessions``)."""
    out = articles.copy()
    if "catalog-missing-gender" in active:
        n = max(1, round(len(out) * untagged_share))
        out["gender_target"] = out["gender_target"].astype(object)
        out.loc[out.index[:n], "gender_target"] = None
    return out
