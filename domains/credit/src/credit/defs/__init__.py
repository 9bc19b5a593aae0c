"""The credit domain's Dagster definitions: assets, concern checks, jobs and schedules (thin)."""
