"""The platform's resources for Dagster: configurable in the UI, read from the settings when a run starts.

Each resource's fields are what Dagster's UI shows and a deployment may set; an asset, check or
sensor names it as a parameter (``data_directory: DataDirectoryResource``) and calls ``.get()`` for
the plain value from :mod:`inloop.resources` that the rest of the code (and the API) uses. A field
left unset means "what the settings say" (``INLOOP_DATA_DIR``, ``INLOOP_DATABASE_URL``,
``INLOOP_MLFLOW_TRACKING_URI``), read once when the run starts (``setup_for_execution``): a code
location is loaded once but its runs follow the settings of the process that runs them (tests run
many data directories in one process).

:func:`inloop.orchestration.domain_definitions` binds :func:`platform_resources` in every domain's
``Definitions``. A test swaps one: ``dg.materialize(..., resources={DATA_DIRECTORY: DataDirectoryResource(path=tmp)})``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from inloop.resources import DataDirectory, ModelTracking, PlatformDatabase
from inloop.settings import get_settings

__all__ = ["DATA_DIRECTORY", "MODEL_TRACKING", "PLATFORM_DATABASE", "DataDirectoryResource",
           "ModelTrackingResource", "PlatformDatabaseResource", "platform_resources"]

#: The resource keys every domain's Definitions binds (a parameter is named after its key).
DATA_DIRECTORY = "data_directory"
PLATFORM_DATABASE = "platform_database"
MODEL_TRACKING = "model_tracking"


class DataDirectoryResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The platform's data directory: domain data, reports and kept files live under it."""

    path: str | None = Field(default=None, description="Root folder; unset: the settings' data_dir "
                                                        "(INLOOP_DATA_DIR, default ./.inloop) when the run starts.")
    _value: DataDirectory | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._value = self.get()

    def get(self) -> DataDirectory:
        if self._value is not None:
            return self._value
        if self.path:
            return DataDirectory(Path(self.path).expanduser().resolve())
        return DataDirectory.from_settings(get_settings())


class PlatformDatabaseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The platform database: predictions, check results, alerts, bug reports."""

    url: str | None = Field(default=None, description="SQLAlchemy URL; unset: the settings' database "
                                                      "(INLOOP_DATABASE_URL, default SQLite in the data directory).")
    _value: PlatformDatabase | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._value = self.get()

    def get(self) -> PlatformDatabase:
        if self._value is not None:
            return self._value
        return PlatformDatabase(self.url) if self.url else PlatformDatabase.from_settings(get_settings())


class ModelTrackingResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """MLflow experiment tracking and the model registry."""

    tracking_uri: str | None = Field(default=None, description="MLflow tracking URI; unset: the settings' "
                                                               "(INLOOP_MLFLOW_TRACKING_URI, default SQLite).")
    registry_uri: str | None = Field(default=None, description="Model registry URI; unset: the tracking URI.")
    _value: ModelTracking | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._value = self.get()

    def get(self) -> ModelTracking:
        if self._value is not None:
            return self._value
        if self.tracking_uri:
            return ModelTracking(self.tracking_uri, self.registry_uri or self.tracking_uri)
        from_settings = ModelTracking.from_settings(get_settings())
        if self.registry_uri:  # the settings' tracking, another registry
            return ModelTracking(from_settings.tracking_uri, self.registry_uri)
        return from_settings


def platform_resources() -> dict[str, Any]:
    """The platform's resources under their keys, each following the settings when a run starts."""
    return {DATA_DIRECTORY: DataDirectoryResource(), PLATFORM_DATABASE: PlatformDatabaseResource(),
            MODEL_TRACKING: ModelTrackingResource()}
