"""Property-based test of `POST /credit/decisions` with a real champion loaded: no 5xx, contract kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

# See tests/platform/api/test_api_properties.py: numpy must be fully imported before collection.
import numpy  # noqa: F401
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from inloop.api.app import create_app

app = create_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path="/credit/decisions")


@pytest.fixture(autouse=True)
def serving(champion_env: Path) -> Iterator[None]:
    with TestClient(app):
        yield


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_decisions_never_answer_5xx(case) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(headers={"Authorization": f"Bearer {app.state.api_token}"},
                           checks=[not_a_server_error, status_code_conformance, response_schema_conformance])
