"""Synthetic loan applications from a known latent risk model, with a concept shift later on.

The world is simulated month by month: each month's applicants are drawn from their own seeded
random stream, so the same (seed, month) always gives the same applicants whatever else is
asked for, and a live batch for a later month is independent of how much history was made.
The 12-month default is drawn from a logistic model whose effects are written down in
:data:`TRUE_EFFECTS`; from :data:`SHIFT_START_MONTH` on, the world changes mildly (rates went
up: running credits weigh more, income protects less, a partner's fast-filled applications go
bad more often, and a cost-of-living shock no application field shows hits some households), so
a model trained on the past loses accuracy without any input looking broken.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = [
    "AGE_BANDS",
    "CHANNELS",
    "FIRST_MONTH",
    "HISTORY_MONTHS",
    "LABEL",
    "MODEL_INPUTS",
    "RESIDENCE_PERMITS",
    "SHIFT_START_MONTH",
    "TRUE_EFFECTS",
    "default_log_odds",
    "generate_applications",
    "month_start",
]

#: The first simulated month (month index 0).
FIRST_MONTH = dt.date(2024, 1, 1)
#: Months 0..17 are the history with known outcomes (what training sees); 18.. are "live".
HISTORY_MONTHS = 18
#: From this month index on the latent risk model drifts (the concept shift).
SHIFT_START_MONTH = 20

AGE_BANDS = ("18-25", "26-35", "36-50", "51-65", "66+")
CHANNELS = ("web", "app", "partner", "branch")
RESIDENCE_PERMITS = ("citizen", "permanent", "eu_worker", "temporary")
LABEL = "default_12m"

#: The columns an application carries that the model may use.
MODEL_INPUTS = (
    "income_monthly_eur",
    "employment_years",
    "age_band",
    "loan_amount_eur",
    "loan_duration_months",
    "existing_credits",
    "channel",
    "residence_permit",
    "application_duration_seconds",
)

_AGE_SHARE = (0.16, 0.27, 0.31, 0.19, 0.07)
_AGE_RANGE = {"18-25": (18, 25), "26-35": (26, 35), "36-50": (36, 50), "51-65": (51, 65), "66+": (66, 80)}
_AGE_INCOME = {"18-25": 0.62, "26-35": 0.95, "36-50": 1.15, "51-65": 1.10, "66+": 0.78}
_CHANNEL_SHARE = (0.45, 0.25, 0.20, 0.10)
_PERMIT_SHARE = (0.80, 0.09, 0.07, 0.04)
_DURATIONS = np.array([6, 12, 24, 36, 48, 60, 72, 84])

#: The latent model's effects on the log-odds of a 12-month default (before the shift). Several are
#: non-linear or interact, as real credit risk does, which a linear scorecard cannot follow.
TRUE_EFFECTS: dict[str, object] = {
    "intercept": -2.85,
    "burden above 0.15, per 1.0 (over-indebtedness)": 9.0,
    "log income vs EUR 2,600": -0.6,
    "employment years, per year up to 4 (then flat)": -0.22,
    "under 1 year with the employer (probation)": 0.60,
    "aged 18-25 with two or more existing credits": 0.80,
    "aged 66+ with a term of 48 months or more": 0.80,
    "partner-shop loan above EUR 1,500 (not a phone)": 1.00,
    "existing credits, per credit": 0.30,
    "three or more existing credits": 0.45,
    "age band": {"18-25": 0.40, "26-35": 0.15, "36-50": 0.0, "51-65": -0.10, "66+": 0.25},
    "channel": {"web": 0.0, "app": -0.10, "partner": 0.30, "branch": -0.25},
    "residence permit": {"citizen": 0.0, "permanent": 0.05, "eu_worker": 0.10, "temporary": 0.10},
    "temporary permit and under 1 year employed here": 1.40,
    "form filled in under 3 minutes": 1.60,
    "log form time vs 540 s (careful applicants repay more)": -0.35,
    "shift from month 20 (per unit of concept_shift)": {
        "intercept": 0.30,
        "existing credits, per credit": 0.45,
        "log income vs EUR 2,600 (cancels its protection)": 0.6,
        "partner channel and form filled in under 4 minutes": 2.2,
        "cost-of-living shock to a random 30 % of households (not in the application)": 1.3,
    },
}


def month_start(month: int) -> dt.date:
    """The first day of simulated month ``month`` (0 = :data:`FIRST_MONTH`)."""
    year, index = divmod(FIRST_MONTH.month - 1 + month, 12)
    return dt.date(FIRST_MONTH.year + year, index + 1, 1)


def default_log_odds(applications: pd.DataFrame, *, month: int, concept_shift: float = 1.0,
                     shocked: np.ndarray | None = None) -> np.ndarray:
    """The latent model's log-odds of a 12-month default for these applicants in ``month``
    (:data:`TRUE_EFFECTS`; ``shocked`` marks the households the cost-of-living shock hits, none when None).

    The world draws a changed population's outcomes from it, so a shifted applicant defaults as the
    latent model says such a person does.
    """
    a = applications
    income = a["income_monthly_eur"].to_numpy(dtype=float)
    employment = a["employment_years"].to_numpy(dtype=float)
    age_band = a["age_band"].astype(str).to_numpy()
    amount = a["loan_amount_eur"].to_numpy(dtype=float)
    duration = a["loan_duration_months"].to_numpy()
    existing = a["existing_credits"].to_numpy()
    channel = a["channel"].astype(str).to_numpy()
    permit = a["residence_permit"].astype(str).to_numpy()
    form_seconds = a["application_duration_seconds"].to_numpy(dtype=float)
    partner = channel == "partner"
    temporary = permit == "temporary"
    burden = (amount / duration) / income
    e = TRUE_EFFECTS
    z = (e["intercept"]
         + 9.0 * np.maximum(burden - 0.15, 0)
         - 0.6 * (np.log(income) - np.log(2600))
         - 0.22 * np.minimum(employment, 4)
         + 0.60 * (employment < 1)
         + 0.80 * ((age_band == "18-25") & (existing >= 2))
         + 0.80 * ((age_band == "66+") & (duration >= 48))
         + 1.00 * (partner & (amount > 1_500))
         + 0.30 * existing + 0.45 * (existing >= 3)
         + np.array([e["age band"][x] for x in age_band])  # type: ignore[index]
         + np.array([e["channel"][c] for c in channel])  # type: ignore[index]
         + np.array([e["residence permit"][p] for p in permit])  # type: ignore[index]
         + 1.40 * (temporary & (employment < 1))
         + 1.60 * (form_seconds < 180) - 0.35 * (np.log(form_seconds) - np.log(540)))
    if month >= SHIFT_START_MONTH and concept_shift:
        # Part of the change is invisible in the application: a cost-of-living shock hits some households.
        hit = np.zeros(len(a), dtype=bool) if shocked is None else shocked
        z = z + concept_shift * (0.30 + 0.45 * existing + 0.6 * (np.log(income) - np.log(2600))
                                 + 2.2 * (partner & (form_seconds < 240)) + 1.3 * hit)
    return np.asarray(z, dtype=float)


def _month_of_size(month: int, size: int, seed: int, concept_shift: float) -> pd.DataFrame:
    rng = np.random.default_rng([seed, month])
    n = size
    start = dt.datetime.combine(month_start(month), dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(month_start(month + 1), dt.time(), tzinfo=dt.UTC)
    offsets = np.sort(rng.uniform(0, (end - start).total_seconds(), n))
    applied_at = pd.to_datetime(start) + pd.to_timedelta(np.round(offsets), unit="s")

    age_band = rng.choice(AGE_BANDS, size=n, p=_AGE_SHARE)
    lo = np.array([_AGE_RANGE[a][0] for a in age_band])
    hi = np.array([_AGE_RANGE[a][1] for a in age_band])
    age = rng.integers(lo, hi + 1)
    channel = rng.choice(CHANNELS, size=n, p=_CHANNEL_SHARE)
    permit = rng.choice(RESIDENCE_PERMITS, size=n, p=_PERMIT_SHARE)
    temporary = permit == "temporary"

    income_factor = np.array([_AGE_INCOME[a] for a in age_band]) * np.where(temporary, 0.85, 1.0)
    income = np.exp(rng.normal(np.log(2600), 0.45, n)) * income_factor
    income = np.clip(np.round(income, -1), 450, 40_000)
    # People who just moved here have short employment histories in this country.
    employment = np.where(temporary, rng.gamma(1.2, 1.0, n), rng.gamma(2.0, 3.5, n))
    employment = np.round(np.minimum(employment, np.maximum(age - 17, 0)), 1)

    partner = channel == "partner"  # partner shops finance phones and electronics: small, short
    amount = np.where(partner, np.exp(rng.normal(np.log(900), 0.4, n)), np.exp(rng.normal(np.log(6500), 0.8, n)))
    amount = np.clip(np.round(amount / 50) * 50, 300, 60_000)
    duration_idx = np.clip(np.searchsorted([1_000, 3_000, 8_000, 15_000, 25_000, 40_000], amount)
                           + rng.integers(-1, 2, n), 0, len(_DURATIONS) - 1)
    duration = np.where(partner, rng.choice([12, 24], size=n), _DURATIONS[duration_idx])
    existing = np.minimum(rng.poisson(0.8, n), 6)
    form_seconds = np.round(np.clip(np.exp(rng.normal(np.log(540), 0.65, n)), 45, 7_200), 1)

    shocked = rng.random(n) < 0.3 if month >= SHIFT_START_MONTH and concept_shift else np.zeros(n, dtype=bool)
    z = default_log_odds(pd.DataFrame({
        "income_monthly_eur": income, "employment_years": employment, "age_band": age_band,
        "loan_amount_eur": amount, "loan_duration_months": duration, "existing_credits": existing,
        "channel": channel, "residence_permit": permit, "application_duration_seconds": form_seconds,
    }), month=month, concept_shift=concept_shift, shocked=shocked)
    default = rng.random(n) < 1 / (1 + np.exp(-z))

    return pd.DataFrame({
        "application_id": [f"{month_start(month):%Y%m}-{seed}-{i:06d}" for i in range(n)],
        "applied_at": applied_at,
        "income_monthly_eur": income.astype(float),
        "employment_years": employment.astype(float),
        "age_band": age_band,
        "loan_amount_eur": amount.astype(float),
        "loan_duration_months": duration.astype(int),
        "existing_credits": existing.astype(int),
        "channel": channel,
        "residence_permit": permit,
        "application_duration_seconds": form_seconds.astype(float),
        LABEL: default.astype(int),
    })


def generate_applications(
    size: int,
    *,
    seed: int = 7,
    months: Iterable[int] = range(HISTORY_MONTHS),
    concept_shift: float = 1.0,
) -> pd.DataFrame:
    """``size`` loan applications spread over ``months`` (month indexes from :data:`FIRST_MONTH`).

    Deterministic for the same arguments. Applicants grow by about 1 % a month; every month has
    at least one applicant. ``concept_shift`` scales the change of the latent risk model from
    :data:`SHIFT_START_MONTH` on (0 turns it off).
    """
    months = sorted(set(months))
    if size < len(months):
        raise ValueError(f"size must be at least the number of months ({len(months)}), got {size}")
    if months[0] < 0:
        raise ValueError("month indexes start at 0")
    weights = np.array([1.01**m for m in months])
    sizes = np.floor(weights / weights.sum() * size).astype(int)
    sizes[np.argsort(-weights)[: size - sizes.sum()]] += 1  # hand the remainder to the largest months
    frames = [_month_of_size(m, int(k), seed, concept_shift) for m, k in zip(months, sizes, strict=True)]
    frame = pd.concat(frames, ignore_index=True)
    frame["age_band"] = pd.Categorical(frame["age_band"], categories=AGE_BANDS)
    frame["channel"] = pd.Categorical(frame["channel"], categories=CHANNELS)
    frame["residence_permit"] = pd.Categorical(frame["residence_permit"], categories=RESIDENCE_PERMITS)
    return frame
