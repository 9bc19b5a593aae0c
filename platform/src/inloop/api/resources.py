"""The platform's outside systems as FastAPI dependencies: the data directory, the database, MLflow.

The app builds them once, from the settings, when it starts (:func:`bind_resources`, in the app's
lifespan), and a route receives them as parameters (``database: PlatformDatabaseDep``) instead of
reading the settings. A test swaps one: ``app.dependency_overrides[platform_database] = lambda: other``.
They are the same objects Dagster hands to assets (:mod:`inloop.resources`); this module does not
import Dagster. ``async def`` for the reason given in :mod:`inloop.api.deps` (no thread hop).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from inloop.resources import DataDirectory, ModelTracking, PlatformDatabase
from inloop.settings import Settings

__all__ = ["DataDirectoryDep", "ModelTrackingDep", "PlatformDatabaseDep", "bind_resources", "data_directory",
           "model_tracking", "platform_database"]


def bind_resources(app: FastAPI, settings: Settings) -> None:
    """Build the app's resources from ``settings`` (the edge: read once, when the app starts)."""
    app.state.data_directory = DataDirectory.from_settings(settings)
    app.state.platform_database = PlatformDatabase.from_settings(settings)
    app.state.model_tracking = ModelTracking.from_settings(settings)


async def data_directory(request: Request) -> DataDirectory:
    return request.app.state.data_directory  # type: ignore[no-any-return]


async def platform_database(request: Request) -> PlatformDatabase:
    return request.app.state.platform_database  # type: ignore[no-any-return]


async def model_tracking(request: Request) -> ModelTracking:
    return request.app.state.model_tracking  # type: ignore[no-any-return]


DataDirectoryDep = Annotated[DataDirectory, Depends(data_directory)]
PlatformDatabaseDep = Annotated[PlatformDatabase, Depends(platform_database)]
ModelTrackingDep = Annotated[ModelTracking, Depends(model_tracking)]
