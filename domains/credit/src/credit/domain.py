"""How the platform finds the credit domain (entry point ``inloop.domains: credit``)."""

from __future__ import annotations

from pathlib import Path

from inloop.domains import Domain

domain = Domain(
    name="credit",
    root=Path(__file__).resolve().parents[2],
    definitions_module="credit.definitions",
    demos_module="credit.demos",
    api_module="credit.api",
    extras={"replay_runner": "credit.replay:rerun", "bench": "credit.bench:measure",
            "subject_eraser": "credit.privacy:eraser", "data_quality_sources": "credit.quality:sources",
            "served_model": "credit.serving:SERVED_MODEL", "data_sources": "credit.serving:source_schemas"},
)
