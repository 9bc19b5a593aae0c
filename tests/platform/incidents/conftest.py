"""Fixtures for the incidents tests: a registered test domain (with a replay runner), logged predictions."""

from __future__ import annotations

import importlib
import io
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from inloop import domains as domain_registry
from inloop.domains import DomainPlugin
from inloop.predictions import log_prediction

CARD = """\
domain: shop_test
title: Test shop
summary: A domain the incidents tests register next to the installed ones.
business_case:
  user_story: null
  kpi: {name: null, how_measured: null, current_value: null, target: null}
  optimized: null
  current_approach: null
  worth_doing_improvement: null
  why_core_business: null
  stakeholder: {name: null, role: null, contact: null, committed_capacity: null}
concerns:
  - id: no-off-context-items
    statement: No women's items on the men's page.
    raised_by: null
    worst_case: null
    user_story: null
outage_impact:
  1min: {impact: null, severity: none}
  10min: {impact: null, severity: low}
  1h: {impact: null, severity: medium}
  24h: {impact: null, severity: high}
  restart_behaviour: null
  weekend_on_call: false
  on_call: null
bug_reports:
  escalation_threshold: 4
  window_days: 7
"""

# A domain's replay runner: re-runs the last-seen box with the page-context filter switched on
# (what the champion version does), so the re-run really differs from the logged answer.
RUNNER = '''\
def rerun(record, against):
    if against not in ("champion", "v2"):
        raise LookupError(f"no model version {against!r}")
    page_gender = record.features["page_gender"]
    items = [i for i in record.features["history"] if i["gender"] in (page_gender, "unisex")]
    return {"output": {"items": [i["sku"] for i in items], "count": len(items)},
            "model_version": "v2", "notes": "page-context filter on"}
'''

SHOP_FEATURES = {
    "page": "home/men",
    "page_gender": "men",
    "account_id": "acc-42",
    "history": [
        {"sku": "bag-9", "gender": "women", "device": "app"},
        {"sku": "shirt-3", "gender": "women", "device": "app"},
        {"sku": "sneaker-1", "gender": "men", "device": "desktop"},
    ],
}
SHOP_OUTPUT = {"items": ["bag-9", "shirt-3", "sneaker-1"], "count": 3}


def _no_code_location(name: str) -> Callable[[], Any]:
    """Definitions of a test domain that has no Dagster code location: asking for them fails like a missing module."""

    def definitions() -> Any:
        return importlib.import_module(f"{name}.definitions").defs

    return definitions


@pytest.fixture
def shop_domain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DomainPlugin:
    """Register ``shop_test`` (card threshold 4 in 7 days, a replay runner) and ``plain_test`` (no card, no runner)."""
    root = tmp_path / "shop_test"
    (root / "postmortems").mkdir(parents=True)
    (root / "project.yaml").write_text(CARD)
    code = tmp_path / "code"
    code.mkdir()
    (code / "shop_test_replay.py").write_text(textwrap.dedent(RUNNER))
    monkeypatch.syspath_prepend(str(code))
    runner = importlib.reload(importlib.import_module("shop_test_replay"))
    shop = DomainPlugin(name="shop_test", root=root, definitions=_no_code_location("shop_test"),
                        replay_runner=lambda: runner.rerun)
    plain = DomainPlugin(name="plain_test", root=tmp_path / "plain_test", definitions=_no_code_location("plain_test"))
    registered = {"shop_test": shop, "plain_test": plain}
    monkeypatch.setattr(domain_registry, "discover_domains", lambda: dict(registered))
    return shop


@pytest.fixture
def logged_request(shop_domain: DomainPlugin) -> str:
    """One served last-seen box on the men's page, logged through the platform's prediction log."""
    return log_prediction(domain="shop_test", component="last_seen", features=SHOP_FEATURES, output=SHOP_OUTPUT,
                          model_name="last_seen_box", model_version="v1", policy_version="page-rules-1",
                          subject_id="acc-42", live_test_set=False, latency_ms=3.5)


@pytest.fixture
def png_bytes() -> Callable[..., bytes]:
    def make(width: int = 64, height: int = 40, fmt: str = "PNG") -> bytes:
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", (width, height), (200, 30, 90)).save(buffer, format=fmt)
        return buffer.getvalue()

    return make


@pytest.fixture
def each_database(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on SQLite and, under scripts/with-postgres.sh, on a fresh PostgreSQL database."""
    from inloop import db
    from inloop.settings import reset_settings

    monkeypatch.setenv("INLOOP_DATABASE_URL", db_url)
    reset_settings()
    db.dispose_engines()
    return db_url
