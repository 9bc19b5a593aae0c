"""Property-based test of the whole API from its own OpenAPI schema (schemathesis 4, every check).

Every built-in check runs, with the token and without it: positive data acceptance (a request the
schema allows is never refused with 400/422: every rule the server enforces is in the schema),
negative data rejection (a request the schema forbids is refused), status codes, content types,
response schemas and headers, the Allow header on 405, missing-header and ignored-auth checks.

Two things are told to schemathesis, both because OpenAPI cannot say them:

* ``not_a_server_error`` is replaced by :func:`no_server_error`, which is the same check except
  for a domain route's documented 503 while it has no champion model (this suite trains none);
* an upload whose bytes are not the kind the route takes (checked on the content: PDF/PNG/JPEG/
  TIFF invoices, PNG/JPEG/WebP screenshots) answers 415; a schema can state the part's media
  type, not that its bytes decode as one.

Bounded: a fixed number of examples per operation, derandomized, so it stays in the suite.
"""

from __future__ import annotations

from collections.abc import Iterator

# Hypothesis looks at sys.modules["numpy"] while schemathesis builds strategies at collection;
# without a complete import first it met a half-initialised numpy here (AttributeError: ndarray).
import numpy  # noqa: F401
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import PositiveDataAcceptanceConfig
from schemathesis.config._checks import POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES

from inloop.api.app import create_app

app = create_app()
#: With the token (registered below as this schema's auth) ...
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
#: ... and without it.
anonymous = schemathesis.openapi.from_asgi("/openapi.json", app)
for fuzzed in (schema, anonymous):
    fuzzed.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
        expected_statuses=[*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, "415"]
    )

EXAMPLES = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@schema.auth()
class ApiToken:
    """The token the running app generated (schemathesis leaves it out where it tests a missing one)."""

    def get(self, case, ctx):  # type: ignore[no-untyped-def]
        return app.state.api_token

    def set(self, case, data, ctx):  # type: ignore[no-untyped-def]
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module")
def module_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One data directory and one app lifespan for all operations (MLflow's DB is created once)."""
    from inloop import db
    from inloop.settings import reset_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INLOOP_DATA_DIR", str(tmp_path_factory.mktemp("api-properties")))
        reset_settings()
        db.dispose_engines()
        with TestClient(app):
            yield
        db.dispose_engines()
    reset_settings()


@pytest.fixture(autouse=True)
def inloop_env(module_data_dir: None) -> None:
    """Replaces the suite's per-test data dir here: the app keeps running across operations."""


def no_server_error(ctx, response, case) -> None:  # type: ignore[no-untyped-def]
    """No 5xx, except a domain route's documented 503 while it has no champion model yet."""
    if response.status_code >= 500:
        waiting_for_model = response.status_code == 503 and "no champion" in response.text
        assert waiting_for_model, f"server error {response.status_code}: {response.text[:300]}"


@pytest.mark.slow
@schema.parametrize()
@EXAMPLES
def test_the_api_keeps_its_contract_with_the_token(case) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(excluded_checks=[not_a_server_error], additional_checks=[no_server_error])


@pytest.mark.slow
@anonymous.parametrize()
@EXAMPLES
def test_the_api_keeps_its_contract_without_the_token(case) -> None:  # type: ignore[no-untyped-def]
    response = case.call_and_validate(
        excluded_checks=[not_a_server_error], additional_checks=[no_server_error]
    )
    if "security" in case.operation.definition.raw:
        assert response.status_code in {401, 405}, response.text[:300]
