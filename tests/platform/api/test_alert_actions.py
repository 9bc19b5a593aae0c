"""People act on alerts over the API: acknowledge, assign, resolve; bad input is refused clearly."""

from __future__ import annotations

from fastapi.testclient import TestClient

from inloop.alerts import alert_events, get_alert, list_alerts, raise_alert


def _open_alert(cause: str = "shop:check:late") -> int:
    return raise_alert(domain="shop", cause_key=cause, title="Concern needs attention: deliveries are late",
                       message="late_share = 0.2, expected <= 0.05.", concern_id="late-deliveries").id


def test_acknowledge_assign_resolve_are_recorded_with_who_and_when(client: TestClient) -> None:
    alert_id = _open_alert()
    ack = client.post(f"/alerts/{alert_id}/acknowledge", json={"by": "Dana Ops", "note": "looking at it"})
    assert ack.status_code == 200, ack.text
    assert ack.json()["acknowledged_by"] == "Dana Ops" and ack.json()["acknowledged_at"]
    assert ack.json()["status"] == "open"

    assign = client.post(f"/alerts/{alert_id}/assign", json={"to": "Kim Engineer", "by": "Dana Ops"})
    assert assign.status_code == 200, assign.text
    assert assign.json()["assignee"] == "Kim Engineer"

    done = client.post(f"/alerts/{alert_id}/resolve", json={"by": "Kim Engineer", "note": "  carrier feed fixed "})
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["resolved_by"], body["resolution"]) == ("resolved", "Kim Engineer", "carrier feed fixed")
    assert [(e["action"], e["actor"], e["assignee"]) for e in body["events"]] == [
        ("acknowledged", "Dana Ops", None), ("assigned", "Dana Ops", "Kim Engineer"), ("resolved", "Kim Engineer", None)]
    # The same is in the database, and the cause is free again: the next failure opens a new alert.
    assert get_alert(alert_id).status == "resolved"
    assert [e.note for e in alert_events(alert_id)] == ["looking at it", None, "carrier feed fixed"]
    assert _open_alert() != alert_id
    assert client.get(f"/alerts/{alert_id}").json()["resolved_by"] == "Kim Engineer"
    assert [a["id"] for a in client.get("/alerts", params={"concern": "late-deliveries", "status": "resolved"}).json()] \
        == [alert_id]


def test_unknown_alert_is_404(client: TestClient) -> None:
    for path, body in (("acknowledge", {"by": "Dana"}), ("assign", {"to": "Kim", "by": "Dana"}),
                       ("resolve", {"by": "Dana", "note": "done"})):
        resp = client.post(f"/alerts/999/{path}", json=body)
        assert resp.status_code == 404, (path, resp.text)
        assert "no alert #999" in resp.json()["detail"]
    assert client.get("/alerts/999").status_code == 404


def test_acting_on_a_resolved_or_already_acknowledged_alert_is_409(client: TestClient) -> None:
    alert_id = _open_alert()
    assert client.post(f"/alerts/{alert_id}/acknowledge", json={"by": "Dana"}).status_code == 200
    again = client.post(f"/alerts/{alert_id}/acknowledge", json={"by": "Kim"})
    assert again.status_code == 409 and "already acknowledged by Dana" in again.json()["detail"]
    assert client.post(f"/alerts/{alert_id}/assign", json={"to": "Kim", "by": "Dana"}).status_code == 200
    same = client.post(f"/alerts/{alert_id}/assign", json={"to": "Kim", "by": "Dana"})
    assert same.status_code == 409 and "already assigned to Kim" in same.json()["detail"]
    assert client.post(f"/alerts/{alert_id}/resolve", json={"by": "Kim", "note": "fixed"}).status_code == 200
    for path, body in (("acknowledge", {"by": "Dana"}), ("assign", {"to": "Lee", "by": "Dana"}),
                       ("resolve", {"by": "Dana", "note": "again"})):
        resp = client.post(f"/alerts/{alert_id}/{path}", json=body)
        assert resp.status_code == 409, (path, resp.text)
        assert "already resolved by Kim" in resp.json()["detail"]
    assert len(alert_events(alert_id)) == 3  # the refused actions recorded nothing


BAD_BODIES = [
    ("acknowledge", {}),                                  # who is missing
    ("acknowledge", {"by": "   "}),                       # a blank name
    ("acknowledge", {"by": "Dana\nEvil"}),                # not one line
    ("acknowledge", {"by": "Da\u0004na"}),                # a control character
    ("acknowledge", {"by": "x" * 201}),
    ("acknowledge", {"by": "Dana", "colour": "red"}),     # unknown field
    ("assign", {"by": "Dana"}),                           # to whom?
    ("resolve", {"by": "Dana"}),                          # a resolution needs a note
    ("resolve", {"by": "Dana", "note": "  "}),
    ("resolve", {"by": "Dana", "note": "n" * 5001}),
]


def test_bad_bodies_are_422_and_change_nothing(client: TestClient) -> None:
    alert_id = _open_alert()
    for path, body in BAD_BODIES:
        resp = client.post(f"/alerts/{alert_id}/{path}", json=body)
        assert resp.status_code == 422, (path, body, resp.text)
    [alert] = list_alerts()
    assert (alert.status, alert.acknowledged_by, alert.assignee) == ("open", None, None)
    assert alert_events(alert_id) == []


def test_bad_alert_id_is_422_and_actions_need_the_token(client: TestClient, anonymous: TestClient) -> None:
    assert client.post("/alerts/0/acknowledge", json={"by": "Dana"}).status_code == 422
    assert client.post("/alerts/abc/acknowledge", json={"by": "Dana"}).status_code == 422
    assert client.post("/alerts/2147483648/acknowledge", json={"by": "Dana"}).status_code == 422  # beyond an id
    assert client.get("/alerts/9223372036854775808").status_code == 422
    alert_id = _open_alert()
    assert anonymous.post(f"/alerts/{alert_id}/resolve", json={"by": "Dana", "note": "x"}).status_code == 401
    assert get_alert(alert_id).status == "open"
