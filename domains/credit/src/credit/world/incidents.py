"""What can go wrong in credit's world, each caught by a card concern's check (never told to the platform)."""

from __future__ import annotations

import pandas as pd

from inloop.world import IncidentKind

__all__ = ["INCIDENTS", "apply_incidents", "misreport", "shift_population"]

INCIDENTS = {
    "unit-change": IncidentKind(
        "A front-end release times the application form in milliseconds (web and app; partners still send "
        "seconds), on the live path only.",
        concerns=("live-input-schema",),
    ),
    "population-shift": IncidentKind(
        "A marketing campaign brings younger applicants with lower incomes asking for larger loans.",
        concerns=("live-input-drift",),
    ),
}


def shift_population(applications: pd.DataFrame, active: set[str]) -> pd.DataFrame:
    """Who applies, as the running incidents change it (these people really are different: their
    outcomes follow the latent risk model at their own inputs)."""
    out = applications.copy()
    if "population-shift" in active:
        out["income_monthly_eur"] = (out["income_monthly_eur"] * 0.55).round(0)
        out["loan_amount_eur"] = (out["loan_amount_eur"] * 2.2).round(-1)
        out["age_band"] = "18-25"
    return out


def misreport(applications: pd.DataFrame, active: set[str]) -> pd.DataFrame:
    """What the live path receives, as the running incidents change the reporting (not the people)."""
    out = applications.copy()
    if "unit-change" in active:
        own = out["channel"].astype(str).isin(["web", "app"])
        out.loc[own, "application_duration_seconds"] = out.loc[own, "application_duration_seconds"] * 1000
    return out


def apply_incidents(applications: pd.DataFrame, active: set[str]) -> pd.DataFrame:
    """The day's applicants as the running incidents change them."""
    return misreport(shift_population(applications, active), active)
