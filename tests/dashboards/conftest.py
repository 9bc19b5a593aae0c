"""Fixtures for the console tests: a small registered domain and an AppTest opened on one page.

The console finds domains only through ``inloop.domains.discover_domains``; the tests register
``shop_test`` there (its card, post-mortem folder, a fast worst-case demo, a replay runner and a
review queue live in the test's temporary directory), so nothing is written into the repository.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from inloop import domains as domain_registry
from inloop.domains import DomainPlugin

APP = Path(__file__).resolve().parents[2] / "dashboards" / "src" / "inloop_console" / "app.py"

CARD = """\
domain: shop_test
title: Test shop home page
summary: A domain the console tests register next to the installed ones.
business_case:
  user_story: As a product owner, I want relevant boxes, so that shoppers find things.
  kpi: {name: click-through, how_measured: clicks per view, current_value: 2 %, target: TODO}
  optimized: clicks
  current_approach: null
  worth_doing_improvement: 10 % more clicks
  alternatives:
    - name: No ML at all (bestsellers)
      kind: no_ml
      description: Show the 10 bestsellers.
      expected_outcome: 1.8 % click-through
      cost: 1 day
      decision: rejected, 10 % fewer clicks
  why_core_business: the home page sells
  stakeholder: {name: Pat Owner, role: product owner, contact: pat@example.com, committed_capacity: 2 h/week}
concerns:
  - id: no-off-context-items
    statement: No women's items on the men's page.
    raised_by: Pat Owner
    worst_case: A woman's bag on the men's home page.
    user_story: As a shopper on the men's page I see men's items.
    metric: {name: off_context_rate, description: share of off-context items, unit: ""}
    threshold: {op: "<=", value: 0.01}
    check: off_context_rate
    demo: bag-on-mens-page
  - id: new-users-get-recommendations
    statement: New users see recommendations too.
    raised_by: Pat Owner
    worst_case: An empty box for a new shopper.
    user_story: As a new shopper I see something.
    metric: {name: new_user_coverage, description: share of new users with a full box}
    threshold: {op: ">=", value: 0.95}
    check: new_user_coverage
  - id: planned-one
    statement: Shared family accounts are recognised.
    raised_by: Pat Owner
    worst_case: null
    user_story: null
    status: planned
outage_impact:
  1min: {impact: nobody notices, severity: none}
  10min: {impact: bestsellers shown, severity: low}
  1h: {impact: null, severity: medium}
  24h: {impact: lost sales, severity: high}
  restart_behaviour: caches warm up in 2 minutes
  weekend_on_call: false
  on_call: shop team, office hours
bug_reports:
  escalation_threshold: 2
  window_days: 7
"""

CODE = '''\
from inloop.demos import Demo


def _bag_story(trace):
    trace.step("input", "A shopper with a shared family account opens the men's page",
               account="acc-42", history=["bag-9", "sneaker-1"])
    trace.step("check", "The page-context filter sees a women's item", "bag-9 is tagged women")
    trace.step("fallback", "The item is dropped from the last-seen box")
    trace.claim(True, "No women's item is shown on the men's page", shown=["sneaker-1"])


DEMOS = {"bag-on-mens-page": Demo("bag-on-mens-page", "A woman's bag on the men's home page",
                                  "The seed story, replayed.", _bag_story, ("no-off-context-items",))}


def rerun(record, against):
    items = [i for i in record.features["history"] if i["gender"] in (record.features["page_gender"], "unisex")]
    return {"output": {"items": [i["sku"] for i in items]}, "model_version": "v2"}


class ReviewQueue:
    """A file-backed review queue with the review-service shape the console expects."""

    def __init__(self, folder):
        import json, pathlib
        self.folder = pathlib.Path(folder)
        self.state = self.folder / "state.json"
        if not self.state.exists():
            self.state.write_text(json.dumps({"1": {"status": "needs_review", "decision": None},
                                              "2": {"status": "needs_review", "decision": None}}))

    def _load(self):
        import json
        return json.loads(self.state.read_text())

    def _save(self, data):
        import json
        self.state.write_text(json.dumps(data))

    def queue(self):
        from types import SimpleNamespace
        # waiting_hours may be set in state.json: a test moves the clock on between reruns
        return [SimpleNamespace(invoice_id=int(k), original_name=f"scan-{k}.png",
                                waiting_hours=v.get("waiting_hours", 3.0 * int(k)),
                                reason_kind="low_confidence", reason="total read with 41 % confidence")
                for k, v in sorted(self._load().items()) if v["status"] == "needs_review"]

    def show(self, invoice_id):
        return {"fields": {"total": {"value": "12.00", "confidence": 0.41}, "iban": {"value": "DE89", "confidence": 0.99}},
                "reason": "total read with 41 % confidence", "history": [{"state": "needs_review"}]}

    def file_path(self, invoice_id):
        return self.folder / "scan.png"

    def approve(self, invoice_id, clerk, corrections):
        if not clerk:
            raise ValueError("say who approves (clerk name)")
        data = self._load()
        data[str(invoice_id)] = {"status": "booked", "decision": {"by": clerk, "corrections": corrections}}
        self._save(data)

    def reject(self, invoice_id, clerk, notice):
        if len(notice.strip()) < 10:
            raise ValueError("a rejection needs a notice for the supplier (at least a sentence)")
        data = self._load()
        data[str(invoice_id)] = {"status": "rejected_with_notice", "decision": {"by": clerk, "notice": notice}}
        self._save(data)


QUEUE_FOLDER = None


def review_service():
    return ReviewQueue(QUEUE_FOLDER)
'''


def png(width: int = 64, height: int = 40) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def shop_domain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DomainPlugin:
    """Register ``shop_test`` as the only installed domain."""
    root = tmp_path / "shop_test"
    (root / "postmortems").mkdir(parents=True)
    (root / "project.yaml").write_text(CARD)
    code = tmp_path / "code"
    code.mkdir()
    (code / "console_shop_test.py").write_text(textwrap.dedent(CODE))
    queue = tmp_path / "review"
    queue.mkdir()
    (queue / "scan.png").write_bytes(png(120, 160))
    monkeypatch.syspath_prepend(str(code))
    import importlib

    module = importlib.import_module("console_shop_test")
    module = importlib.reload(module)
    monkeypatch.setattr(module, "QUEUE_FOLDER", queue)
    shop = DomainPlugin(name="shop_test", root=root,
                        # no Dagster code location: the pages must say its definitions do not load
                        definitions=lambda: importlib.import_module("console_shop_test_missing.definitions").defs,
                        demos=lambda: module.DEMOS, replay_runner=lambda: module.rerun, review_service=module.review_service)
    monkeypatch.setattr(domain_registry, "discover_domains", lambda: {"shop_test": shop})
    return shop


@pytest.fixture
def open_page() -> Callable[..., AppTest]:
    """``open_page("overview")`` runs the console and switches to that page (AppTest)."""

    def run(page: str, **state: object) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        for key, value in state.items():
            at.session_state[key] = value
        at.switch_page(f"pages/{page}.py")  # before the first run: only that page renders
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return run
