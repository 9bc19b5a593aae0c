"""The training-time proof of an erasure: a blocking asset check against the deletion register."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import dagster as dg

from inloop.alerts import raise_alert, resolve_alerts
from inloop.privacy.erasure import erased_count, find_erased
from inloop.readiness import rubric

__all__ = ["erased_subjects_check", "scan_for_erased"]


def scan_for_erased(domain: str, subject_ids: Iterable[Any], *, what: str) -> tuple[bool, dict[str, Any]]:
    """(passed, details): whether none of ``subject_ids`` is in the register; alerts when one is."""
    ids = list(subject_ids)
    found = find_erased(domain, ids)
    cause = f"privacy:{domain}:{what}"
    details = {"subjects_scanned": len(set(map(str, ids))), "erased_in_register": erased_count(domain),
               "erased_subjects_found": len(found)}
    if found:
        raise_alert(domain=domain, cause_key=cause, source="check", severity="ERROR",
                    title=f"Erased people are back in {what}",
                    message=(f"{len(found)} subject(s) in the deletion register appear in {what}. They were "
                             "forgotten on request and must not be trained on: remove them at the source, "
                             "then run `inloop forget` again for each."),
                    evidence={"count": len(found), "what": what})
    else:
        resolve_alerts(cause, "no erased subject in the input any more")
    return not found, details


@rubric("data-5", what="a blocking check on every training input: no subject from the deletion register may "
        "appear in it (alerts otherwise)", how="automated")
def erased_subjects_check(domain: str, asset: Any, subject_ids: Callable[[Any], Iterable[Any]], *,
                          name: str = "no_erased_subjects", description: str | None = None,
                          ) -> dg.AssetChecksDefinition:
    """A blocking ERROR check on ``asset``: ``subject_ids(value)`` must hold no erased subject.

    A failure stops the assets downstream (no model is trained on a forgotten person) and opens
    an alert; the next passing run resolves it.
    """
    asset_key = asset.key if isinstance(asset, dg.AssetsDefinition) else dg.AssetKey.from_coercible(asset)

    @dg.asset_check(asset=asset_key, name=name, blocking=True,
                    description=description or "No person from the deletion register is in this input (privacy).")
    def _check(value: Any) -> dg.AssetCheckResult:
        passed, details = scan_for_erased(domain, subject_ids(value), what=asset_key.to_user_string())
        return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.ERROR, metadata=details)

    return _check
