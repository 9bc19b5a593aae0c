"""#17 item 7: each incident's card outage-impact ladder (1 min / 10 min / 1 h / 24 h) against what was observed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from inloop.domains import get_domain
from inloop.world import IncidentTimes, SimulatedClock, outage_ladder, outage_verdict, render_incident_report

T0 = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
CLOCK = SimulatedClock(T0 - dt.timedelta(hours=1), day_seconds=60.0)  # 1 wall second = 24 simulated minutes


def _times(detect_s: float | None, alert_s: float | None, stop_s: float | None, recover_s: float | None) -> IncidentTimes:
    def at(s: float | None) -> dt.datetime | None:
        return None if s is None else T0 + dt.timedelta(seconds=s)

    return IncidentTimes("credit:unit-change", T0, at(stop_s), at(detect_s), at(alert_s), at(alert_s),
                         7 if alert_s is not None else None, at(recover_s))


def test_the_ladder_shows_the_state_at_each_rung_in_simulated_time() -> None:
    ladder = get_domain("credit").card().outage_impact.buckets()
    # A check fails after 2 wall s (48 simulated min), the alert is routed after 3 s (72 min), recovered after 70 s.
    rows = outage_ladder(_times(2.0, 3.0, 60.0, 70.0), CLOCK, ladder)
    assert [r.after for r in rows] == ["1 min", "10 min", "1 h", "24 h"]
    assert [r.severity for r in rows] == ["low", "medium", "high", "critical"]  # credit's card
    assert rows[0].impact.startswith("The front end waits and retries")
    assert [r.observed.split(" (")[0] for r in rows] == ["not noticed yet", "not noticed yet", "check failing",
                                                        "alerted"]
    assert rows[3].observed == "alerted (at 72.0 min), not recovered"
    assert outage_verdict(_times(2.0, 3.0, 60.0, 70.0), CLOCK, ladder).startswith(
        "served wrong for 28.0 h simulated (70 s wall): the card's 24 h rung, severity critical")
    quick = outage_ladder(_times(0.01, 0.02, 0.03, 0.04), CLOCK, ladder)  # recovered within 58 simulated s
    assert [r.observed.split(" (")[0] for r in quick] == ["recovered"] * 4
    assert "under the card's first rung" in outage_verdict(_times(0.01, 0.02, 0.03, 0.04), CLOCK, ladder)
    assert outage_verdict(_times(None, None, None, None), CLOCK, ladder) == "not recovered yet: still running"
    text = render_incident_report(_times(2.0, 3.0, 60.0, 70.0), CLOCK, ladder, ("live-input-schema",))
    assert "credit:unit-change (stopped; concerns live-input-schema; alert 7)" in text
    assert "to detect" in text and "48.0 min" in text and "to recover" in text


def test_incident_report_cli(inloop_env: Path) -> None:
    from inloop.cli import app
    from inloop.world import start_incident

    runner = CliRunner()
    empty = runner.invoke(app, ["incident", "report"])
    assert empty.exit_code == 0 and "no incident injected yet" in empty.output
    bad = runner.invoke(app, ["incident", "report", "credit:meteor"])
    assert bad.exit_code == 2 and "no incident 'credit:meteor'" in bad.output
    start_incident("credit:unit-change")
    shown = runner.invoke(app, ["incident", "report", "credit:unit-change"])
    assert shown.exit_code == 0, shown.output
    assert "credit:unit-change (running" in shown.output and "24 h    critical" in shown.output
    assert "not noticed yet" in shown.output and "verdict: not recovered yet: still running" in shown.output
