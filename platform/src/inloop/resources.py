"""The platform's outside systems as values handed to the code that uses them: the data directory,
the platform database and MLflow (tracking and registry).

Assets, checks and sensors receive them as Dagster resources (:mod:`inloop.dagster_resources` builds
them when a run starts, and every domain's ``Definitions`` binds them); FastAPI routes receive the
same objects as dependencies (:mod:`inloop.api.resources`). Neither reads the settings itself, so a
test swaps one by passing another: ``dg.materialize(..., resources={"data_directory": DataDirectory(tmp)})``
or ``app.dependency_overrides``. :meth:`from_settings` is the one place each is read from the settings.

This module imports neither Dagster nor MLflow (the API process does not pay for Dagster).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inloop.settings import Settings

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

__all__ = ["DataDirectory", "ModelTracking", "PlatformDatabase"]


@dataclass(frozen=True)
class DataDirectory:
    """The platform's data directory: every local default (domain data, reports, kept files) lives under it."""

    root: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> DataDirectory:
        return cls(settings.data_dir)

    def domain_dir(self, domain: str) -> Path:
        """A domain's own corner of the data directory (the layout of ``Settings.domain_dir``)."""
        return self.root / "domains" / domain

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def files_dir(self) -> Path:
        return self.root / "files"


@dataclass(frozen=True)
class PlatformDatabase:
    """The platform database (predictions, check results, alerts, bug reports), through :mod:`inloop.db`."""

    url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> PlatformDatabase:
        return cls(settings.platform_db_url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A write transaction (committed on success, rolled back on error), as :func:`inloop.db.session`."""
        from inloop import db

        with db.session(self.url) as sess:
            yield sess

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read-only session that never takes SQLite's write lock, as :func:`inloop.db.read_session`."""
        from inloop import db

        with db.read_session(self.url) as sess:
            yield sess

    def engine(self, *, write: bool = True) -> sa.Engine:
        from inloop import db

        return db.engine(self.url, write=write)


@dataclass(frozen=True)
class ModelTracking:
    """MLflow experiment tracking and the model registry.

    Built from the settings (``process_default``), it is the MLflow :mod:`inloop.tracking` points
    this process at; given other URIs, it talks to those through its own client only.
    """

    tracking_uri: str
    registry_uri: str
    process_default: bool = field(default=False, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelTracking:
        return cls(settings.mlflow_uri, settings.mlflow_uri, process_default=True)

    def client(self) -> Any:
        """An ``MlflowClient`` on these URIs. Built from the settings, this is :func:`inloop.tracking.client`,
        which also points the process's MLflow there and creates MLflow's tables once."""
        if self.process_default:
            from inloop import tracking

            return tracking.client()
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)

    def champion_version(self, model_name: str) -> str | None:
        """The version the ``champion`` alias points at in this registry, or None."""
        from mlflow.exceptions import MlflowException

        from inloop.tracking import CHAMPION

        try:
            return str(self.client().get_model_version_by_alias(model_name, CHAMPION).version)
        except MlflowException:
            return None
