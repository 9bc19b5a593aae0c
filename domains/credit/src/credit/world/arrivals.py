"""A simulated day of loan applications, sent to the real ``POST /credit/decisions`` over HTTP; the granted
loans are booked with core banking, which reports their outcomes a year later (:mod:`credit.world.core_banking`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import pandas as pd

from credit.lib.data import HISTORY_MONTHS, LABEL, default_log_odds, generate_applications
from credit.world import core_banking
from credit.world.incidents import misreport, shift_population
from inloop.world import SIMULATED_REQUEST_PREFIX, SimulatedDay, WorldApi

__all__ = ["APPLICATIONS_PER_DAY", "applications_for_day", "arrive", "day_of_applicants"]

#: About a day of applications at demo scale (the live batch of the monitoring job is 2 000 for a day).
APPLICATIONS_PER_DAY = 150
#: The world's seed: the same day always brings the same applicants.
SEED = 17_000


def day_of_applicants(
    day: SimulatedDay, size: int = APPLICATIONS_PER_DAY, active: set[str] | frozenset[str] = frozenset()
) -> pd.DataFrame:
    """The day's applicants as the live path receives them, with the outcome core banking will learn
    (``default_12m``) beside: the world's truth, never sent with the application.

    A population shift changes who applies, so their outcomes are drawn anew from the latent risk model at
    their own inputs; a unit change only changes what is reported, not the people or their outcomes.
    """
    month = HISTORY_MONTHS + day.index // 30
    frame = generate_applications(size, seed=SEED + day.index, months=[month])
    # Ids unique per simulated day (the generator numbers per month and seed).
    frame["application_id"] = [f"w{day.index}-{i}" for i in range(len(frame))]
    frame["applied_at"] = [day.start + pd.Timedelta(seconds=86_400 * i / max(1, size)) for i in range(size)]
    people = shift_population(frame, set(active))
    if not people.equals(frame):
        rng = np.random.default_rng([SEED, day.index, 1])
        shocked = rng.random(len(people)) < 0.3  # the cost-of-living shock of the concept shift, as in the generator
        z = default_log_odds(people, month=month, shocked=shocked)
        people[LABEL] = (rng.random(len(people)) < 1 / (1 + np.exp(-z))).astype(int)
    return misreport(people, set(active))


def applications_for_day(
    day: SimulatedDay, size: int = APPLICATIONS_PER_DAY, active: set[str] | frozenset[str] = frozenset()
) -> pd.DataFrame:
    """The day's applicants (inputs only: outcomes are core banking's), changed by running incidents."""
    return day_of_applicants(day, size, active).drop(columns=[LABEL])


def _body(row: dict[str, Any]) -> dict[str, Any]:
    """A generated row as the front end's JSON (strict numbers: floats stay floats, counts stay ints)."""
    return {
        "application_id": str(row["application_id"]),
        "applied_at": row["applied_at"].isoformat(),
        "income_monthly_eur": float(row["income_monthly_eur"]),
        "employment_years": float(row["employment_years"]),
        "age_band": str(row["age_band"]),
        "loan_amount_eur": float(row["loan_amount_eur"]),
        "loan_duration_months": int(row["loan_duration_months"]),
        "existing_credits": int(row["existing_credits"]),
        "channel": str(row["channel"]),
        "residence_permit": str(row["residence_permit"]),
        "application_duration_seconds": float(row["application_duration_seconds"]),
    }


#: Applicants send their applications at the same time, as a front end's users do (a few at once).
CONCURRENT_APPLICANTS = 4


def arrive(day: SimulatedDay, api: WorldApi, active: set[str], size: int = APPLICATIONS_PER_DAY) -> int:
    """Core banking first reports the outcomes due by the day's start (``POST /labels``); then the day's
    applications are sent (a few at once) and the granted loans booked. Returns how many were decided.
    Refusals are raised, not dropped."""
    _, delay_days = core_banking.label_feedback()
    core_banking.deliver_due(day.start, api)
    frame = day_of_applicants(day, size, frozenset(active))
    rows = frame.to_dict("records")
    with httpx.Client(base_url=api.base_url, timeout=30) as client:

        def send(row: dict[str, Any]) -> httpx.Response:
            # The request id marks the traffic as simulated in the prediction log (client_request_id).
            return client.post(
                "/credit/decisions",
                json=_body(row),
                headers={
                    "Authorization": f"Bearer {api.token}",
                    "X-Request-ID": f"{SIMULATED_REQUEST_PREFIX}{row['application_id']}",
                },
            )

        with ThreadPoolExecutor(CONCURRENT_APPLICANTS) as pool:
            answers = list(pool.map(send, rows))
    decided = 0
    refused: list[str] = []
    granted: list[tuple[str, str, int, Any]] = []
    for row, resp in zip(rows, answers, strict=True):
        if resp.status_code == 200:
            decided += 1
            answer = resp.json()
            if answer["decision"] == "approve":  # only a granted loan has an outcome
                granted.append((answer["request_id"], str(row["application_id"]), int(row[LABEL]),
                                row["applied_at"].to_pydatetime()))
        else:
            refused.append(f"{row['application_id']}: {resp.status_code} {resp.text[:200]}")
    core_banking.book(granted, delay_days)
    if refused:
        raise RuntimeError(f"{len(refused)} of {len(frame)} applications refused, e.g. {refused[0]}")
    return decided
