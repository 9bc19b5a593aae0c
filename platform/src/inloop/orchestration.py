"""Dagster glue every domain's code location shares: alert routing, run-failure alerts, the bench watch.

Open-source Dagster has no alert policies, so alerting is done with sensors: one routes the
domain's pending alerts (console inbox, log, webhook) and one turns a failed run into an alert.
:func:`domain_definitions` adds both to a domain's definitions, with the dependency watch and the
nightly bench watch (``inloop bench watch``: a quick fixed benchmark compared with the committed one;
each code location runs it at its own minute past 04:00, so two never share the cores), and binds the
platform's resources (data directory, platform database, MLflow: :mod:`inloop.dagster_resources`) beside
the domain's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg

from inloop.alerts import raise_alert, route_pending_alerts
from inloop.dagster_resources import DataDirectoryResource, PlatformDatabaseResource, platform_resources
from inloop.settings import get_settings

__all__ = ["alert_router_sensor", "bench_watch_schedule", "dependency_sensor", "domain_definitions",
           "run_failure_alert_sensor"]


def alert_router_sensor(domain: str, minimum_interval_seconds: int = 30) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"{domain}_alert_router",
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Routes {domain}'s new alerts per the project card (console inbox, log, webhook).",
    )
    def _route(context) -> dg.SkipReason:  # type: ignore[no-untyped-def]
        deliveries = route_pending_alerts(domain)
        for d in deliveries:
            context.log.info(f"alert {d.alert_id} -> {d.route}: {'ok' if d.ok else 'FAILED'} ({d.detail})")
        return dg.SkipReason(f"routed {len(deliveries)} deliveries" if deliveries else "no new alerts")

    return _route


def run_failure_alert_sensor(domain: str) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name=f"{domain}_run_failure_alerts",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Opens an alert when a {domain} pipeline run fails (grouped per job).",
    )
    def _on_failure(context: dg.RunFailureSensorContext, platform_database: PlatformDatabaseResource) -> None:
        run = context.dagster_run
        settings = get_settings()
        raise_alert(
            domain=domain,
            source="run",
            cause_key=f"run:{domain}:{run.job_name}",
            title=f"Pipeline run failed: {run.job_name}",
            message=(context.failure_event.message or "run failed")[:4000],
            severity="ERROR",
            routes=("console", "log"),
            evidence={"run_id": run.run_id,
                      "dagster_url": f"http://127.0.0.1:{settings.dagster_port}/runs/{run.run_id}"},
            db_url=platform_database.get().url,
        )

    return _on_failure


def dependency_sensor(domain: str, minimum_interval_seconds: int = 6 * 3600) -> dg.SensorDefinition:
    """Compares installed packages and upstream schemas with the last known ones; alerts on change."""

    @dg.sensor(
        name=f"{domain}_dependency_watch",
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Alerts when {domain}'s installed packages or upstream source schemas change.",
    )
    def _watch(context, data_directory: DataDirectoryResource,  # type: ignore[no-untyped-def]
               platform_database: PlatformDatabaseResource) -> dg.SkipReason:
        from inloop.dependencies import check_dependencies

        report = check_dependencies(domain, data_dir=data_directory.get().root, db_url=platform_database.get().url)
        context.log.info(report.summary)
        return dg.SkipReason(report.summary[:1000])

    return _watch


def bench_watch_schedule(domain: str) -> dg.ScheduleDefinition:
    """Every night: ``inloop bench watch``; a regression past the tolerance fails the run and raises an alert."""
    import zlib

    @dg.op(name=f"{domain}_bench_watch_op")
    def _watch(context) -> None:  # type: ignore[no-untyped-def]
        from inloop.bench.watch import watch

        paths, comparison = watch(get_settings().data_dir / "bench" / "watch")
        context.log.info(comparison.report())
        if comparison.regressions:
            raise dg.Failure(description=f"{len(comparison.regressions)} figure(s) regressed past "
                                         f"{comparison.tolerance:.0%}: {paths['json']}",
                             metadata={"report": comparison.report()})

    @dg.job(name=f"{domain}_bench_watch",
            description="The quick fixed benchmark against the last committed watch result (monitor-6).")
    def _job() -> None:
        _watch()

    minute = zlib.crc32(domain.encode()) % 60  # a minute of its own per code location
    return dg.ScheduleDefinition(
        name=f"{domain}_bench_watch_nightly", job=_job, cron_schedule=f"{minute} 4 * * *",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every night: the bench watch; a figure worse than the committed one past the tolerance fails "
                    "the run and raises an alert (computing performance has not regressed, monitor-6).")


def domain_definitions(
    domain: str,
    *,
    assets: Sequence[Any] = (),
    asset_checks: Sequence[Any] = (),
    jobs: Sequence[Any] = (),
    schedules: Sequence[Any] = (),
    sensors: Sequence[Any] = (),
    resources: dict[str, Any] | None = None,
) -> dg.Definitions:
    """A domain's Dagster definitions, with the platform's alert sensors, the nightly bench watch and the
    platform's resources added.

    ``resources`` are the domain's own (its outside systems); the platform's are bound under their keys
    (:func:`inloop.dagster_resources.platform_resources`), so Dagster's UI lists them in every domain.
    """
    watch = bench_watch_schedule(domain)
    return dg.Definitions(
        assets=list(assets),
        asset_checks=list(asset_checks),
        jobs=list(jobs),
        schedules=[*schedules, watch],
        sensors=[*sensors, alert_router_sensor(domain), run_failure_alert_sensor(domain), dependency_sensor(domain)],
        resources={**platform_resources(), **(resources or {})},
    )
