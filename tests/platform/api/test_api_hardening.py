"""The API as an outside tester probes it (#15 items 3-8): bounded errors, the token before the body,
strict timestamps, UTF-8 forms, one error shape with the request id, HEAD/OPTIONS, and a schema
that states every rule the server enforces (the server's verdict and the schema's agree)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from inloop.api.errors import MAX_LISTED_ERRORS
from inloop.predictions import log_prediction

APPLICATION = {
    "income_monthly_eur": 3100.0,
    "employment_years": 4.0,
    "age_band": "26-35",
    "loan_amount_eur": 9000.0,
    "loan_duration_months": 36,
    "existing_credits": 1,
    "channel": "web",
    "residence_permit": "citizen",
    "application_duration_seconds": 420.0,
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app (one lifespan, one data dir) for the whole module: starting one costs seconds."""
    from inloop import db
    from inloop.api.app import create_app
    from inloop.settings import reset_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INLOOP_DATA_DIR", str(tmp_path_factory.mktemp("api-hardening")))
        mp.setenv("INLOOP_ENVIRONMENT", "test")
        reset_settings()
        db.dispose_engines()
        with TestClient(create_app(), raise_server_exceptions=False) as c:
            c.headers["Authorization"] = f"Bearer {c.app.state.api_token}"
            yield c
        db.dispose_engines()
    reset_settings()


@pytest.fixture
def inloop_env(api: TestClient) -> None:
    """Replaces the suite's per-test data dir here: the module's app keeps running."""


@pytest.fixture
def client(api: TestClient) -> TestClient:
    return api


@pytest.fixture
def anonymous(api: TestClient) -> TestClient:
    return TestClient(api.app, raise_server_exceptions=False)


def _reports(client: TestClient) -> int:
    return len(client.get("/bug-reports").json())


def _assert_error_shape(resp: Any) -> dict[str, Any]:
    """The documented error body: detail, and the request id the response header carries."""
    body = resp.json()
    assert body["request_id"] and body["request_id"] == resp.headers["X-Request-ID"], body
    if resp.status_code == 422:
        assert 1 <= len(body["detail"]) <= MAX_LISTED_ERRORS and body["error_count"] >= len(body["detail"])
        for problem in body["detail"]:
            assert set(problem) == {"loc", "msg", "type"} and problem["type"] and problem["loc"], problem
    else:
        assert isinstance(body["detail"], str) and body["detail"], body
    return body


# Item 3: a large 422 is bounded; the token is checked before the body is read ---------------------


def test_a_flood_of_unknown_fields_is_one_short_error(client: TestClient) -> None:
    body = {**APPLICATION, **{f"k{i}": i for i in range(100_000)}}
    resp = client.post("/credit/decisions", json=body)
    assert resp.status_code == 422
    assert len(resp.content) < 5_000  # was a 9 MB list of 100,000 errors
    problem = _assert_error_shape(resp)["detail"][0]
    assert problem["type"] == "extra_forbidden" and "100000 unknown fields" in problem["msg"]
    assert client.get("/health").status_code == 200


def test_a_long_error_list_names_the_first_problems_and_counts_all(client: TestClient) -> None:
    # 22 unknown keys: under the flood threshold, so pydantic names each one; the list is capped.
    resp = client.post(
        "/labels",
        json={
            "domain": "credit",
            "name": "d",
            "value": 1,
            "subject_id": "a",
            **{f"unknown_{i}": i for i in range(22)},
        },
    )
    body = _assert_error_shape(resp)
    assert resp.status_code == 422 and len(body["detail"]) == MAX_LISTED_ERRORS and body["error_count"] == 22


@pytest.mark.parametrize("path", ["/labels", "/credit/decisions", "/bug-reports"])
def test_without_the_token_not_a_byte_of_the_body_is_read(client: TestClient, path: str) -> None:
    app = client.app
    received: list[dict] = []
    sent: list[dict] = []

    async def receive() -> dict:
        received.append({})
        return {"type": "http.request", "body": b"{}" * 1000, "more_body": True}  # an endless body

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"authorization", b"Bearer wrong")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 401 and received == []
    body = json.loads(sent[1]["body"])
    assert body["request_id"] and "token" in body["detail"]


# Item 4: strict timestamps with a stated range --------------------------------------------------


@pytest.mark.parametrize(
    "applied_at",
    [
        0,
        "0",
        1e11,
        "0001-01-01T00:00:00+14:00",
        "2026-05-01T10:00:00",
        "2100-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "2026-02-30T00:00:00Z",
    ],
)
def test_applied_at_is_a_plausible_rfc3339_string(client: TestClient, applied_at: object) -> None:
    resp = client.post("/credit/decisions", json={**APPLICATION, "applied_at": applied_at})
    assert resp.status_code == 422, resp.text
    assert _assert_error_shape(resp)["detail"][0]["loc"] == ["body", "applied_at"]


def test_the_timestamp_rule_and_range_are_in_the_schema(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    applied_at = schema["components"]["schemas"]["ApplicationCreate"]["properties"]["applied_at"]["anyOf"][0]
    assert applied_at["format"] == "date-time" and applied_at["pattern"].startswith("^20[0-9]{2}-")
    assert "2000-01-01 to 2099-12-31" in applied_at["description"]
    accepted = client.post(
        "/credit/decisions", json={**APPLICATION, "applied_at": "2026-05-01T10:00:00+02:00"}
    )
    assert accepted.status_code == 503  # valid: the route runs (and has no champion model in this test)


# Item 5: invalid UTF-8 in a form is refused like in JSON ----------------------------------------


def test_invalid_utf8_in_a_form_field_is_refused_and_nothing_is_stored(client: TestClient) -> None:
    before = _reports(client)
    form = (
        b'--b\r\nContent-Disposition: form-data; name="reporter"\r\n\r\nJos\xe9\r\n'
        b'--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nthe page is wrong\r\n'
        b'--b\r\nContent-Disposition: form-data; name="domain"\r\n\r\ncredit\r\n--b--\r\n'
    )
    resp = client.post(
        "/bug-reports", content=form, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert resp.status_code == 400
    assert "reporter" in _assert_error_shape(resp)["detail"] and "UTF-8" in resp.json()["detail"]
    assert _reports(client) == before
    json_resp = client.post(
        "/labels", content=b'{"domain": "cr\xe9dit"}', headers={"Content-Type": "application/json"}
    )
    assert json_resp.status_code in {400, 422}  # JSON that is not UTF-8 is refused too
    ok = client.post(
        "/bug-reports", data={"reporter": "José", "text": "the page is wrong", "domain": "credit"}
    )
    assert ok.status_code == 201 and ok.json()["report"]["reporter"] == "José"


# Item 6: one error shape, with the request id --------------------------------------------------


def test_every_error_has_the_documented_shape_and_the_request_id(
    client: TestClient, anonymous: TestClient
) -> None:
    cases = [
        anonymous.get("/alerts"),  # 401
        client.get("/predictions/does-not-exist"),  # 404
        client.put("/labels"),  # 405
        client.post(
            "/labels", content=b"x" * (21 * 1024 * 1024), headers={"Content-Type": "application/json"}
        ),  # 413
        client.post("/invoices", files={"file": ("a.pdf", b"not a pdf", "application/pdf")}),  # 415
        client.post("/labels", json={"domain": "credit"}),  # 422 from validation
        client.post(
            "/bug-reports", data={"reporter": "a", "text": "abc", "domain": "nope"}
        ),  # 422 from the route
        client.get(
            "/recommender/pages/home", params={"user_id": 1, "at": "2026-11-01T10:00:00"}
        ),  # 422 query
    ]
    assert [r.status_code for r in cases] == [401, 404, 405, 413, 415, 422, 422, 422]
    for resp in cases:
        _assert_error_shape(resp)
    assert cases[-1].json()["detail"][0]["loc"] == ["query", "at"]  # was ["body"]


def test_the_schema_documents_the_error_shapes(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert set(schemas["HTTPValidationError"]["required"]) == {"detail", "error_count", "request_id"}
    assert set(schemas["ValidationError"]["required"]) == {"loc", "msg", "type"}
    assert set(schemas["ErrorBody"]["required"]) == {"detail", "request_id"}


def test_screenshot_errors_are_readable_and_oversized_uploads_are_413(client: TestClient) -> None:
    before = _reports(client)
    data = {"reporter": "ana", "text": "Something odd", "domain": "credit"}
    broken = client.post(
        "/bug-reports", data=data, files={"screenshot": ("s.png", b"\x89PNG\r\n\x1a\n????", "image/png")}
    )
    assert broken.status_code == 415
    assert "object at 0x" not in broken.text and "screenshot" in _assert_error_shape(broken)["detail"]
    big = client.post(
        "/bug-reports",
        data=data,
        files={"screenshot": ("big.png", b"\x89PNG" + b"0" * (10 * 1024 * 1024 + 10), "image/png")},
    )
    assert big.status_code == 413 and "limit" in _assert_error_shape(big)["detail"]
    assert _reports(client) == before


# Item 7: HEAD and OPTIONS --------------------------------------------------------------------


def test_probes_may_use_head_and_405_lists_every_method(anonymous: TestClient, client: TestClient) -> None:
    for path in ("/health", "/ready"):
        resp = anonymous.head(path)
        assert resp.status_code in {200, 503} and resp.content == b""
    assert anonymous.head("/health").status_code == 200
    options = client.options("/bug-reports")
    assert options.status_code == 405 and options.headers["Allow"] == "GET, POST"
    assert client.delete("/health").headers["Allow"] == "GET, HEAD"


# Item 8: the schema states every rule the server enforces --------------------------------------


def _agrees(client: TestClient, component: str, body: dict[str, Any], response: Any) -> None:
    """The schema's verdict on ``body`` is the server's: valid <=> not refused with 400/422."""
    spec = client.get("/openapi.json").json()
    validator = jsonschema.Draft202012Validator(
        {**spec, "$ref": f"#/components/schemas/{component}"},
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    schema_valid = validator.is_valid(body)
    server_valid = response.status_code not in {400, 422}
    assert schema_valid == server_valid, (body, response.status_code, response.text[:300])


@pytest.mark.parametrize(
    "label",
    [
        {"domain": "credit", "name": "d", "value": 0.0, "request_id": "", "subject_id": ""},
        {"domain": "credit", "name": "d", "value": 0.0},
        {"domain": "credit", "name": "d", "value": 0.0, "request_id": None, "subject_id": None},
        {"domain": "credit", "name": "d", "value": 1, "subject_id": " "},
        {"domain": "credit", "name": " d", "value": 1, "subject_id": "a1"},
        {"domain": "credit", "name": "d", "value": True, "subject_id": "a1"},
        {"domain": "credit", "name": "d", "value": 1, "subject_id": "a1", "observed_at": 0},
        {
            "domain": "credit",
            "name": "d",
            "value": 1,
            "subject_id": "a1",
            "observed_at": "2026-05-01T12:00:00Z",
        },
    ],
)
def test_label_rules_are_stated_in_the_schema(client: TestClient, label: dict[str, Any]) -> None:
    _agrees(client, "LabelCreate", label, client.post("/labels", json=label))


def test_a_label_for_another_domains_prediction_is_a_conflict(client: TestClient) -> None:
    rid = log_prediction(domain="recommender", component="c", features={}, output={})
    resp = client.post("/labels", json={"domain": "credit", "name": "d", "value": 0, "request_id": rid})
    assert resp.status_code == 409 and "belongs to domain 'recommender'" in resp.text


@pytest.mark.parametrize(
    ("reporter", "text", "status"),
    [
        ("   ", "the page is wrong", 422),
        ("ana", "a  ", 422),
        ("ana", " a b ", 201),
        ("\x1c", "abc", 422),
    ],
)
def test_bug_report_lengths_hold_after_stripping_as_the_schema_says(
    client: TestClient, reporter: str, text: str, status: int
) -> None:
    spec = client.get("/openapi.json").json()
    form = spec["components"]["schemas"]["Body_create_bug_report_bug_reports_post"]
    assert form["properties"]["domain"]["enum"] == ["credit", "invoice_ocr", "recommender"]
    resp = client.post("/bug-reports", data={"reporter": reporter, "text": text, "domain": "credit"})
    assert resp.status_code == status, resp.text
    validator = jsonschema.Draft202012Validator(form)
    assert validator.is_valid({"reporter": reporter, "text": text, "domain": "credit"}) == (status == 201)


def test_a_bug_report_naming_an_unknown_request_is_404_not_422(client: TestClient) -> None:
    resp = client.post(
        "/bug-reports",
        data={"reporter": "ana", "text": "odd page", "domain": "credit", "request_id": "never-logged-id"},
    )
    assert resp.status_code == 404 and "request_id" in _assert_error_shape(resp)["detail"]


def test_each_domain_states_its_subject_id_format(client: TestClient) -> None:
    from inloop.domains import discover_domains

    paths = client.get("/openapi.json").json()["paths"]
    for name, plugin in discover_domains().items():
        path = f"/subjects/{name}/{{subject_id}}/erasure"
        if plugin.subject_eraser is None:
            assert path not in paths  # no person-level subjects, no erasure route
            continue
        subject_id = paths[path]["post"]["parameters"][0]["schema"]
        assert subject_id["pattern"] == plugin.subject_eraser().id_pattern.pattern
    body = {"reason": "GDPR art. 17 request #9", "requested_by": "dpo"}
    refused = client.post("/subjects/recommender/abc/erasure", json=body)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["path", "subject_id"]
    assert client.post("/subjects/credit/app-77/erasure", json=body).status_code == 200
    assert client.post("/subjects/credit/app-77/erasure", json={**body, "reason": "   "}).status_code == 422


def test_an_integer_may_be_written_as_67_point_0(client: TestClient) -> None:
    resp = client.post("/credit/decisions", json={**APPLICATION, "loan_duration_months": 67.0})
    assert resp.status_code == 503  # valid: it reaches the route (no champion in this test), not a 422
    for bad in ("67", True, 67.5):
        refused = client.post("/credit/decisions", json={**APPLICATION, "loan_duration_months": bad})
        assert refused.status_code == 422, bad
