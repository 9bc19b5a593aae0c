"""How the platform finds the recommender (entry point ``inloop.domains: recommender``).

Every capability is a small loader: discovery imports only this module, and the heavy parts
(Dagster assets, the FastAPI router, the ALS model) load when the platform first asks for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inloop.domains import DomainApi, DomainPlugin

if TYPE_CHECKING:
    import dagster as dg

    from inloop.data_quality import QualitySource
    from inloop.demos import Demo
    from inloop.domains import BenchMeasure
    from inloop.incidents.replay import ReplayRunner
    from inloop.privacy.erasure import SubjectEraser
    from inloop.serving import ServedModel, ServedModels

__all__ = ["domain"]


def _definitions() -> dg.Definitions:
    from recommender.definitions import defs

    return defs


def _demos() -> Mapping[str, Demo]:
    from recommender.demos import DEMOS

    return DEMOS


def _api() -> DomainApi:
    from recommender import api

    return DomainApi(router=api.router)


def _served_model() -> ServedModel:
    from recommender.serving import SERVED_MODEL

    return SERVED_MODEL


def _served_models() -> ServedModels[Any]:
    from recommender.serving import served_models

    return served_models()


def _replay_runner() -> ReplayRunner:
    from recommender.replay import rerun

    return rerun


def _subject_eraser() -> SubjectEraser:
    from recommender.privacy import eraser

    return eraser


def _data_sources() -> Mapping[str, Any]:
    from recommender.serving import source_schemas

    return source_schemas()


def _data_quality_sources() -> Sequence[QualitySource]:
    from recommender.quality import sources

    return sources()


def _bench() -> BenchMeasure:
    from recommender.bench import measure

    return measure


domain = DomainPlugin(
    name="recommender",
    root=Path(__file__).resolve().parents[2],
    definitions=_definitions,
    demos=_demos,
    api=_api,
    served_model=_served_model,
    served_models=_served_models,
    replay_runner=_replay_runner,
    subject_eraser=_subject_eraser,
    data_sources=_data_sources,
    data_quality_sources=_data_quality_sources,
    bench=_bench,
)
