"""The simulated world: a clock faster than real time, arrivals through the real entry points, and
incidents that change the world (never the platform), with how fast the running platform noticed.

A domain takes part by shipping a ``<domain>.world`` package that exposes ``INCIDENTS`` (kind ->
:class:`IncidentKind`) and ``arrive(day, api, incidents) -> int``. A fork with real traffic deletes that
package and turns the runner off (``INLOOP_WORLD=off``); nothing else refers to it.

State lives in the data directory (``world/clock.json``, ``world/incidents.json``), so ``inloop
incident`` in one shell and the runner under ``inloop up`` in another see the same world. Detection is
read from the platform's own records: the check history and the alerts its checks raised.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import sqlalchemy as sa

from inloop.settings import get_settings

__all__ = [
    "SIMULATED_REQUEST_PREFIX",
    "IncidentKind",
    "IncidentTimes",
    "LadderRow",
    "SimulatedClock",
    "SimulatedDay",
    "WorldApi",
    "WorldError",
    "active_incidents",
    "describe",
    "incident_kinds",
    "incident_times",
    "outage_ladder",
    "outage_verdict",
    "render_incident_report",
    "run_world",
    "simulated_now",
    "start_incident",
    "stop_incident",
    "world_clock",
    "world_modules",
]

#: Simulated requests carry an ``X-Request-ID`` with this prefix, kept in the prediction log as
#: ``client_request_id``: ``client_request_id LIKE 'world-%'`` filters the world's traffic out.
SIMULATED_REQUEST_PREFIX = "world-"
#: Day 0 of the simulated calendar (the first live month after the synthetic histories).
SIMULATED_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class WorldError(ValueError):
    """An incident reference or state change that cannot be done; the message says why."""


@dataclass(frozen=True)
class IncidentKind:
    """Something that can go wrong in a domain's world, and the concerns whose checks should catch it."""

    description: str
    concerns: tuple[str, ...]


@dataclass(frozen=True)
class SimulatedClock:
    """Simulated time runs ``86400 / day_seconds`` times faster than the wall clock from ``started_at``."""

    started_at: dt.datetime
    day_seconds: float

    @property
    def speed(self) -> float:
        return 86_400.0 / self.day_seconds

    def at(self, wall: dt.datetime) -> dt.datetime:
        """The simulated time at a wall-clock time."""
        return SIMULATED_EPOCH + (wall - self.started_at) * self.speed

    def now(self) -> dt.datetime:
        return self.at(dt.datetime.now(dt.UTC))

    def simulated(self, wall_span: dt.timedelta) -> dt.timedelta:
        """How much simulated time passes in a wall-clock span."""
        return wall_span * self.speed


@dataclass(frozen=True)
class SimulatedDay:
    index: int
    start: dt.datetime  # simulated


class WorldApi(Protocol):
    """How a domain's world reaches the real entry points (HTTP, inbox folders)."""

    base_url: str
    token: str


@dataclass(frozen=True)
class HttpWorldApi:
    base_url: str
    token: str


def _world_dir() -> Path:
    return get_settings().data_dir / "world"


def world_clock() -> SimulatedClock:
    """The world's clock, started (and stored) the first time it is asked for."""
    path = _world_dir() / "clock.json"
    if path.is_file():
        saved = json.loads(path.read_text())
        return SimulatedClock(dt.datetime.fromisoformat(saved["started_at"]), float(saved["day_seconds"]))
    clock = SimulatedClock(dt.datetime.now(dt.UTC), get_settings().world_day_seconds)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"started_at": clock.started_at.isoformat(), "day_seconds": clock.day_seconds})
    )
    return clock


def simulated_now() -> dt.datetime:
    """The time monitors judge by: the world's simulated now once its clock has started in this data
    directory (and the world is on), else the wall clock's. Labels observed after it have not arrived."""
    if get_settings().world and (_world_dir() / "clock.json").is_file():
        return world_clock().now()
    return dt.datetime.now(dt.UTC)


def world_modules() -> dict[str, ModuleType]:
    """Each installed domain's ``<domain>.world`` that declares incidents and arrivals, by domain."""
    from inloop.domains import discover_domains

    found = {}
    for name in discover_domains():
        if importlib.util.find_spec(name) is None or importlib.util.find_spec(f"{name}.world") is None:
            continue
        module = importlib.import_module(f"{name}.world")
        if hasattr(module, "INCIDENTS") and hasattr(module, "arrive"):
            found[name] = module
    return found


def incident_kinds() -> dict[str, IncidentKind]:
    return {f"{d}:{k}": kind for d, m in world_modules().items() for k, kind in m.INCIDENTS.items()}


def _parse(ref: str) -> tuple[str, str, IncidentKind]:
    domain, sep, kind = ref.partition(":")
    if not sep or not domain or not kind:
        raise WorldError(f"{ref!r} is not DOMAIN:KIND (for instance credit:unit-change)")
    known = incident_kinds()
    if ref not in known:
        raise WorldError(
            f"no incident {ref!r}; known: {', '.join(sorted(known)) or 'none (no domain has a world)'}"
        )
    return domain, kind, known[ref]


def _load() -> list[dict[str, Any]]:
    path = _world_dir() / "incidents.json"
    return json.loads(path.read_text()) if path.is_file() else []


def _save(records: list[dict[str, Any]]) -> None:
    path = _world_dir() / "incidents.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(records, indent=2))
    tmp.replace(path)  # atomic: the runner may read it at any moment


def start_incident(ref: str) -> dict[str, Any]:
    """Inject an incident into the world (the platform is not told)."""
    domain, kind, _ = _parse(ref)
    records = _load()
    if any(r["ref"] == ref and r["stopped_at"] is None for r in records):
        raise WorldError(f"{ref} is already running; `inloop incident stop {ref}` ends it")
    clock = world_clock()
    now = dt.datetime.now(dt.UTC)
    record = {
        "ref": ref,
        "domain": domain,
        "kind": kind,
        "started_at": now.isoformat(),
        "simulated_started_at": clock.at(now).isoformat(),
        "stopped_at": None,
    }
    _save([*records, record])
    return record


def stop_incident(ref: str) -> dict[str, Any]:
    """End a running incident: the world behaves as before again."""
    _parse(ref)
    records = _load()
    running = [r for r in records if r["ref"] == ref and r["stopped_at"] is None]
    if not running:
        raise WorldError(
            f"{ref} is not running; running: "
            f"{', '.join(r['ref'] for r in records if r['stopped_at'] is None) or 'none'}"
        )
    running[-1]["stopped_at"] = dt.datetime.now(dt.UTC).isoformat()
    _save(records)
    return running[-1]


def active_incidents(domain: str) -> set[str]:
    """The kinds of incident running in ``domain``'s world now."""
    return {r["kind"] for r in _load() if r["domain"] == domain and r["stopped_at"] is None}


@dataclass(frozen=True)
class IncidentTimes:
    """One injected incident and what the platform's own records say about it."""

    ref: str
    started_at: dt.datetime
    stopped_at: dt.datetime | None
    first_failing_check_at: dt.datetime | None
    alerted_at: dt.datetime | None
    alert_routed_at: dt.datetime | None
    alert_id: int | None
    recovered_at: dt.datetime | None  # first passing check of every concern after stop

    def spans(self, clock: SimulatedClock) -> dict[str, tuple[float, float] | None]:
        """Wall-clock and simulated seconds: to detect (check), to alert, to recover after stop."""

        def span(a: dt.datetime | None, b: dt.datetime | None) -> tuple[float, float] | None:
            if a is None or b is None:
                return None
            wall = (b - a).total_seconds()
            return wall, clock.simulated(b - a).total_seconds()

        return {
            "detect": span(self.started_at, self.first_failing_check_at),
            "alert": span(self.started_at, self.alert_routed_at or self.alerted_at),
            "recover": span(self.stopped_at, self.recovered_at),
        }

    def as_dict(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in asdict(self).items()}


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def incident_times() -> list[IncidentTimes]:
    """Every incident injected, with time to detect, alert and recover read from the platform's records."""
    from inloop import db
    from inloop.db.models import Alert, CheckResult

    kinds = incident_kinds()
    out = []
    for r in _load():
        kind = kinds.get(r["ref"])
        concerns = list(kind.concerns) if kind else []
        started = dt.datetime.fromisoformat(r["started_at"])
        stopped = dt.datetime.fromisoformat(r["stopped_at"]) if r["stopped_at"] else None
        with db.read_session() as sess:
            failing = sess.scalar(
                sa.select(sa.func.min(CheckResult.evaluated_at)).where(
                    CheckResult.domain == r["domain"],
                    CheckResult.concern_id.in_(concerns),
                    CheckResult.passed.is_(False),
                    CheckResult.evaluated_at >= started,
                )
            )
            alert = sess.execute(
                sa.select(Alert.id, Alert.first_seen_at, Alert.routed_at)
                .where(
                    Alert.domain == r["domain"], Alert.concern_id.in_(concerns), Alert.last_seen_at >= started
                )
                .order_by(Alert.id)
                .limit(1)
            ).first()
            recovered = None
            if stopped is not None:
                # Recovered once each concern has passed again after the stop (the latest of their first passes).
                firsts = [
                    sess.scalar(
                        sa.select(sa.func.min(CheckResult.evaluated_at)).where(
                            CheckResult.domain == r["domain"],
                            CheckResult.concern_id == c,
                            CheckResult.passed.is_(True),
                            CheckResult.evaluated_at >= stopped,
                        )
                    )
                    for c in concerns
                ]
                recovered = max(firsts) if firsts and all(firsts) else None  # type: ignore[type-var]
        failing = _aware(failing)
        alerted = routed = None
        if alert is not None:
            # An alert already open from before is re-raised (one more occurrence), not opened anew.
            alerted = max(_aware(alert.first_seen_at), failing or started)  # type: ignore[type-var]
            routed = _aware(alert.routed_at)
            routed = max(routed, alerted) if routed is not None and alerted is not None else routed
        out.append(
            IncidentTimes(
                r["ref"],
                started,
                stopped,
                failing,
                alerted,
                routed,
                alert.id if alert else None,
                _aware(recovered),
            )
        )
    return out


def run_world(
    *,
    base_url: str,
    token: str,
    days: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    echo: Callable[[str], None] = print,
) -> int:
    """Drive every domain's world, one simulated day per ``world_day_seconds``; returns arrivals sent.

    Runs until ``days`` simulated days have passed (forever when None). A day's arrivals are sent at its
    start; running incidents are read each day, so ``inloop incident start`` takes effect on the next day.
    """
    clock = world_clock()
    modules = world_modules()
    api = HttpWorldApi(base_url.rstrip("/"), token)
    sent, done = 0, 0
    while days is None or done < days:
        index = int((dt.datetime.now(dt.UTC) - clock.started_at).total_seconds() // clock.day_seconds)
        day = SimulatedDay(index, SIMULATED_EPOCH + dt.timedelta(days=index))
        for name, module in modules.items():
            active = active_incidents(name)
            try:
                n = module.arrive(day, api, active)
            except Exception as exc:  # one failing world must not stop the others
                echo(f"world {name} day {index}: {type(exc).__name__}: {exc}")
                continue
            sent += n
            echo(
                f"world {name} day {index} ({day.start:%Y-%m-%d}): {n} arrivals"
                + (f", incidents {', '.join(sorted(active))}" if active else "")
            )
        done += 1
        if days is None or done < days:
            next_start = clock.started_at + dt.timedelta(seconds=(index + 1) * clock.day_seconds)
            sleep(max(0.0, (next_start - dt.datetime.now(dt.UTC)).total_seconds()))
    return sent


def describe(times: IncidentTimes, clock: SimulatedClock) -> Mapping[str, str]:
    """The ``inloop incident list`` row of one incident."""

    def show(span: tuple[float, float] | None) -> str:
        if span is None:
            return "-"
        return f"{span[0]:.0f} s wall / {span[1] / 3600:.1f} h simulated"

    spans = times.spans(clock)
    return {
        "incident": times.ref,
        "started": f"{times.started_at:%Y-%m-%d %H:%M:%S}",
        "state": "running" if times.stopped_at is None else "stopped",
        "to detect": show(spans["detect"]),
        "to alert": show(spans["alert"]),
        "to recover": show(spans["recover"]),
        "alert": str(times.alert_id or "-"),
    }


#: The rungs of the card's outage-impact ladder, in simulated seconds after the incident began.
LADDER_RUNGS = {"1 min": 60.0, "10 min": 600.0, "1 h": 3_600.0, "24 h": 86_400.0}


def _span_text(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7_200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172_800:
        return f"{seconds / 3_600:.1f} h"
    return f"{seconds / 86_400:.1f} d"


@dataclass(frozen=True)
class LadderRow:
    """One rung of the card's outage-impact ladder beside the incident's state at that point."""

    after: str
    severity: str
    impact: str
    observed: str


def outage_ladder(times: IncidentTimes, clock: SimulatedClock, ladder: Mapping[str, Any]) -> list[LadderRow]:
    """The card's ladder (``OutageImpact.buckets()``) against what was observed at each rung, in simulated time.

    A model that is up but wrong counts as down (as in the post-mortems' outage bucket): at each rung the
    incident was either not yet seen by any check, seen (a failing check) but not alerted, alerted, or
    recovered (every concern passing again after ``stop``).
    """

    def sim(at: dt.datetime | None) -> float | None:
        return None if at is None else clock.simulated(at - times.started_at).total_seconds()

    detect, alert = sim(times.first_failing_check_at), sim(times.alert_routed_at or times.alerted_at)
    recovered = sim(times.recovered_at)
    rows = []
    for label, seconds in LADDER_RUNGS.items():
        if recovered is not None and recovered <= seconds:
            state = f"recovered (at {_span_text(recovered)})"
        elif alert is not None and alert <= seconds:
            state = f"alerted (at {_span_text(alert)}), not recovered"
        elif detect is not None and detect <= seconds:
            state = f"check failing (at {_span_text(detect)}), not alerted yet"
        else:
            state = "not noticed yet"
        rung = ladder.get(label)
        rows.append(LadderRow(label, getattr(rung, "severity", "-"),
                              " ".join(str(getattr(rung, "impact", None) or "-").split()), state))
    return rows


def outage_verdict(times: IncidentTimes, clock: SimulatedClock, ladder: Mapping[str, Any]) -> str:
    """Which rung the incident reached: how long the world was served wrong, injection to recovery."""
    end = times.recovered_at
    if end is None:
        return "not recovered yet: " + ("still running" if times.stopped_at is None else "stopped, concerns not all passing")
    wrong = clock.simulated(end - times.started_at).total_seconds()
    reached = [label for label, seconds in LADDER_RUNGS.items() if wrong >= seconds]
    if not reached:
        return f"served wrong for {_span_text(wrong)} simulated: under the card's first rung"
    rung = ladder.get(reached[-1])
    return (f"served wrong for {_span_text(wrong)} simulated ({_span_text((end - times.started_at).total_seconds())} "
            f"wall): the card's {reached[-1]} rung, severity {getattr(rung, 'severity', '-')}")


def render_incident_report(times: IncidentTimes, clock: SimulatedClock, ladder: Mapping[str, Any],
                           concerns: tuple[str, ...] = (), width: int = 60) -> str:
    """``inloop incident report``: the times, then the card's outage-impact ladder against what was observed."""
    spans = times.spans(clock)

    def cell(key: str) -> tuple[str, str]:
        span = spans[key]
        return ("-", "-") if span is None else (_span_text(span[0]), _span_text(span[1]))

    lines = [f"{times.ref} ({'running' if times.stopped_at is None else 'stopped'}; concerns "
             f"{', '.join(concerns) or '-'}; alert {times.alert_id or '-'})",
             f"  {'':12}{'wall':>10}  {'simulated':>10}"]
    for label, key in (("to detect", "detect"), ("to alert", "alert"), ("to recover", "recover")):
        wall, simulated = cell(key)
        lines.append(f"  {label:12}{wall:>10}  {simulated:>10}")
    lines += ["", "  card's outage impact against what was observed (simulated time since injection):",
              f"  {'after':7} {'severity':9} {'card expects':{width}}  observed"]
    for row in outage_ladder(times, clock, ladder):
        impact = row.impact if len(row.impact) <= width else row.impact[: width - 1] + "\u2026"
        lines.append(f"  {row.after:7} {row.severity:9} {impact:{width}}  {row.observed}")
    lines.append(f"  verdict: {outage_verdict(times, clock, ladder)}")
    return "\n".join(lines)
