"""The concern check's measurement of an offline-vs-online relation (see :mod:`inloop.offline_online`)."""

from __future__ import annotations

from inloop.checks import Measurement
from inloop.offline_online import Relation

__all__ = ["relation_measurement"]


def relation_measurement(found: Relation | None, serving: str, *, what: str) -> Measurement:
    """The concern check's measurement: the largest shortfall of the serving version's live figures.

    ``value`` is None (the check fails: nothing to judge is never a pass) when the serving version has no
    judged pair; callers that wait for enough traffic do not run the check until then.
    """
    pairs = [] if found is None else [p for p in found.of(serving) if p.online is not None]
    if not pairs:
        return Measurement(None, f"{what}: the serving version {serving} has no judged offline/online pair yet",
                           {"serving": serving, "relation": None if found is None else found.to_dict()})
    worst = max(pairs, key=lambda p: p.gap if p.gap is not None else float("-inf"))
    shown = "; ".join(f"{p.metric or 'metric'} offline {p.offline:.4g}"
                      + (f" (x{p.scale:g} = {p.expected_online:.4g} expected live)" if p.scale != 1 else "")
                      + f" vs live {p.online:.4g} on {p.outcomes} outcomes" for p in pairs)
    assert found is not None and worst.gap is not None
    return Measurement(round(worst.gap, 5), f"{what}, serving {serving}: {shown}",
                       {"serving": serving, "worst_metric": worst.metric, "relation": found.to_dict()})
