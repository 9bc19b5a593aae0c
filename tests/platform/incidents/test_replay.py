"""Replay: read back exactly what the prediction log holds, and re-run it through the domain's runner."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from inloop.incidents.cli import replay as replay_command
from inloop.incidents.replay import (
    OutputChange,
    ReplayNotSupportedError,
    UnknownRequestError,
    diff_outputs,
    replay,
)
from inloop.predictions import log_prediction

from .conftest import SHOP_FEATURES, SHOP_OUTPUT


def test_replay_returns_what_was_logged(logged_request: str) -> None:
    result = replay(logged_request)
    record = result.record
    assert record.request_id == logged_request
    assert (record.domain, record.component) == ("shop_test", "last_seen")
    assert (record.model_name, record.model_version, record.policy_version) == ("last_seen_box", "v1", "page-rules-1")
    assert record.features == SHOP_FEATURES
    assert record.output == SHOP_OUTPUT
    assert record.live_test_set is False
    assert record.created_at.tzinfo is not None
    assert result.rerun is None
    as_dict = result.as_dict()
    assert as_dict["features"] == SHOP_FEATURES and as_dict["request_id"] == logged_request
    json.dumps(as_dict)  # JSON-ready for the API


def test_unknown_request_id_is_a_clear_error(shop_domain) -> None:
    with pytest.raises(UnknownRequestError, match="no logged prediction with request id 'nope-123'"):
        replay("nope-123")


def test_rerun_against_champion_shows_the_difference(logged_request: str) -> None:
    result = replay(logged_request, against="champion")
    assert result.rerun is not None
    assert result.rerun.model_version == "v2"
    assert result.rerun.output == {"items": ["sneaker-1"], "count": 1}
    assert not result.rerun.same_output
    paths = {c.path for c in result.rerun.changes}
    assert paths == {"output.items", "output.count"}
    assert "changed output.count: 3 -> 1" in result.describe()


def test_runner_refusing_a_version_is_reported(logged_request: str) -> None:
    with pytest.raises(LookupError, match="no model version 'v99'"):
        replay(logged_request, against="v99")


def test_domain_without_runner_says_so(shop_domain) -> None:
    request_id = log_prediction(domain="plain_test", component="decision", features={"x": 1}, output={"y": 0})
    assert replay(request_id).record.features == {"x": 1}  # reading back always works
    with pytest.raises(ReplayNotSupportedError, match="'plain_test' has no replay runner yet.*replay_runner"):
        replay(request_id, against="champion")


def test_uninstalled_domain_cannot_rerun(shop_domain) -> None:
    request_id = log_prediction(domain="gone_domain", component="box", features={}, output={"a": 1})
    with pytest.raises(ReplayNotSupportedError, match="unknown domain 'gone_domain'"):
        replay(request_id, against="champion")


def test_diff_walks_nested_outputs() -> None:
    logged = {"decision": "reject", "reasons": [{"code": "permit", "weight": 0.4}], "score": 0.71, "old": 1}
    rerun = {"decision": "approve", "reasons": [{"code": "permit", "weight": 0.1}], "score": 0.71, "new": 2}
    assert diff_outputs(logged, rerun) == [
        OutputChange("output.decision", "reject", "approve"),
        OutputChange("output.reasons[0].weight", 0.4, 0.1),
        OutputChange("output.old", 1, None),
        OutputChange("output.new", None, 2),
    ]
    assert diff_outputs({"items": [1, 2]}, {"items": [1]}) == [OutputChange("output.items", [1, 2], [1])]


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command("replay")(replay_command)
    app.command("noop")(lambda: None)  # two commands, so "replay" stays a sub-command as in inloop's CLI
    return app


def test_cli_replay(logged_request: str) -> None:
    runner = CliRunner()
    shown = runner.invoke(_cli(), ["replay", logged_request])
    assert shown.exit_code == 0, shown.output
    assert "component   last_seen" in shown.output and "'bag-9'" in shown.output
    rerun = runner.invoke(_cli(), ["replay", logged_request, "--against", "champion", "--json"])
    assert rerun.exit_code == 0, rerun.output
    assert json.loads(rerun.output)["rerun"]["output"]["items"] == ["sneaker-1"]
    missing = runner.invoke(_cli(), ["replay", "nope"])
    assert missing.exit_code == 2
    assert "no logged prediction with request id 'nope'" in missing.output
