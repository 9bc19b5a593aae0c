"""How the platform finds this domain (entry point ``inloop.domains``: ``recommender``)."""

from __future__ import annotations

from pathlib import Path

from inloop.domains import Domain

domain = Domain(
    name="recommender",
    root=Path(__file__).resolve().parents[2],
    definitions_module="recommender.definitions",
    demos_module="recommender.demos",
    api_module="recommender.api",
    extras={"replay_runner": "recommender.replay:rerun", "subject_eraser": "recommender.privacy:eraser",
            "data_quality_sources": "recommender.quality:sources", "bench": "recommender.bench:measure",
            "served_model": "recommender.serving:SERVED_MODEL", "data_sources": "recommender.serving:source_schemas"},
)
