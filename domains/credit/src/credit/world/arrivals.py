"""A simulated day of loan applications, sent to the real ``POST /credit/decisions`` over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pandas as pd

from credit.lib.data import HISTORY_MONTHS, LABEL, generate_applications
from credit.world.incidents import apply_incidents
from inloop.world import SIMULATED_REQUEST_PREFIX, SimulatedDay, WorldApi

__all__ = ["APPLICATIONS_PER_DAY", "applications_for_day", "arrive"]

#: About a day of applications at demo scale (the live batch of the monitoring job is 2 000 for a day).
APPLICATIONS_PER_DAY = 150
#: The world's seed: the same day always brings the same applicants.
SEED = 17_000


def applications_for_day(
    day: SimulatedDay, size: int = APPLICATIONS_PER_DAY, active: set[str] | frozenset[str] = frozenset()
) -> pd.DataFrame:
    """The day's applicants (inputs only: outcomes are core banking's), changed by running incidents."""
    month = HISTORY_MONTHS + day.index // 30
    frame = generate_applications(size, seed=SEED + day.index, months=[month]).drop(columns=[LABEL])
    # Ids unique per simulated day (the generator numbers per month and seed).
    frame["application_id"] = [f"w{day.index}-{i}" for i in range(len(frame))]
    frame["applied_at"] = [day.start + pd.Timedelta(seconds=86_400 * i / max(1, size)) for i in range(size)]
    return apply_incidents(frame, set(active))


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


def arrive(day: SimulatedDay, api: WorldApi, active: set[str], size: int = APPLICATIONS_PER_DAY) -> int:
    """Send the day's applications; returns how many were decided. Refusals are raised, not dropped."""
    frame = applications_for_day(day, size, frozenset(active))
    decided = 0
    refused: list[str] = []
    with httpx.Client(base_url=api.base_url, timeout=30) as client:
        for row in frame.to_dict("records"):
            # The request id marks the traffic as simulated in the prediction log (client_request_id).
            resp = client.post(
                "/credit/decisions",
                json=_body(row),
                headers={
                    "Authorization": f"Bearer {api.token}",
                    "X-Request-ID": f"{SIMULATED_REQUEST_PREFIX}{row['application_id']}",
                },
            )
            if resp.status_code == 200:
                decided += 1
            else:
                refused.append(f"{row['application_id']}: {resp.status_code} {resp.text[:200]}")
    if refused:
        raise RuntimeError(f"{len(refused)} of {len(frame)} applications refused, e.g. {refused[0]}")
    return decided
