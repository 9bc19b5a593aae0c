"""An API client on the app's own lifespan, with the generated token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from inloop.api.app import create_app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {c.app.state.api_token}"
        yield c


@pytest.fixture
def anonymous(client: TestClient) -> TestClient:
    """The same app, without the token."""
    anon = TestClient(client.app, raise_server_exceptions=False)
    return anon
