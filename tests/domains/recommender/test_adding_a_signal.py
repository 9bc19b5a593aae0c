"""The documented path to add a signal (domains/recommender/docs/adding-a-signal.md), walked on a copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RECOMMENDER = Path(__file__).resolve().parents[3] / "domains" / "recommender"

SCRIPT = """
import json
import numpy as np
import pandas as pd
from recommender.domain import domain
from recommender.lib.collaborative import train_als
from recommender.lib.feature_inputs import check_inputs
from recommender.lib.history import time_split
from recommender.lib.page import PageService
from recommender.lib.shop import ShopSpec, generate_shop
from recommender.quality import event_expectations
from inloop.validation import validate

shop = generate_shop(ShopSpec(seed=7, n_items=300, n_accounts=300))
events = shop.events.copy()
views = events.index[events["event_type"] == "view"]
wish = np.random.default_rng(1).choice(views, size=len(views) // 5, replace=False)
events.loc[wish, "event_type"] = "wishlist"
split = time_split(events, 7)
with_signal = train_als(split.train, shop.catalog, shop.spec.n_accounts, iterations=3)
plain = train_als(time_split(shop.events, 7).train, shop.catalog, shop.spec.n_accounts, iterations=3)
shop = type(shop)(**{**shop.__dict__, "events": events})
service, _ = PageService.trained_on(shop)
last = events[events["event_type"] == "wishlist"].iloc[-1]
view, _ = service.render(int(last["account_id"]), "home", str(last["device"]),
                         pd.Timestamp(last["ts"]) + pd.Timedelta(minutes=5), log=False)
reasons = [i.reason for i in view.box("last_seen_box").items]
summary = validate(events, event_expectations(events), "signal")
print(json.dumps({
    "card": str(domain.card_path),
    "signal_changes_the_model": not np.array_equal(with_signal.item_factors, plain.item_factors),
    "last_seen_says_wishlisted": any(r.startswith("wishlisted") for r in reasons),
    "schema_accepts": summary.success,
    "policy_violations": [str(v) for v in check_inputs(domain.card())],
}))
"""


def _edit(path: Path, anchor: str, insert: str) -> None:
    text = path.read_text()
    assert anchor in text, f"{path.name} no longer has {anchor!r}: update docs/adding-a-signal.md and this test"
    path.write_text(text.replace(anchor, anchor + insert, 1))


@pytest.mark.rubric("data-6")
def test_a_new_event_kind_added_as_documented_trains_serves_and_passes_schema_and_policy(tmp_path: Path) -> None:
    copy = tmp_path / "recommender"
    shutil.copytree(RECOMMENDER, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _edit(copy / "src/recommender/lib/history.py", 'EVENT_WEIGHTS = {"view": 1.0, ', '"wishlist": 2.0, ')
    _edit(copy / "src/recommender/lib/shop.py", 'EVENT_TYPES = ("view", ', '"wishlist", ')
    _edit(copy / "src/recommender/lib/last_seen.py", '_VERBS = {"view": "viewed", ', '"wishlist": "wishlisted", ')

    env = {**os.environ, "PYTHONPATH": str(copy / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["card"].startswith(str(copy))  # the copy was imported, not the checkout
    assert out["signal_changes_the_model"] and out["last_seen_says_wishlisted"] and out["schema_accepts"]
    assert out["policy_violations"] == []

