"""The documented path to add a derived feature (domains/credit/docs/adding-a-feature.md), walked on a copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

CREDIT = Path(__file__).resolve().parents[3] / "domains" / "credit"
NEW = "loan_to_annual_income"

SCRIPT = f"""
import json
import numpy as np
from credit.domain import domain
from credit.lib.data import LABEL, generate_applications
from credit.lib.decision import DecisionService
from credit.lib.features import FEATURES, build_features, labels
from credit.lib.model import train_risk_model
from credit.lib.policy import default_policy_path, load_policy
from credit.lib.studies import FEATURE_GROUPS
from inloop.cards import load_card
from inloop.feature_policy import check_features

apps = generate_applications(3000, seed=5)
X = build_features(apps)
expected = (apps["loan_amount_eur"] / (12 * apps["income_monthly_eur"])).astype(float)
model = train_risk_model(X, labels(apps), num_rounds=30)
used = {{f: ["loan_history"] for f in model.features}}
batch = apps.head(60).drop(columns=[LABEL])
service = DecisionService(model, load_policy(default_policy_path()), model_version="new-feature")
fast = [d.probability_of_default for d in service.decide_batch(batch, log=False)]
print(json.dumps({{
    "features": list(FEATURES), "model_features": list(model.features),
    "column_matches": bool(np.allclose(X["{NEW}"], expected)),
    "importance": float(model.booster.feature_importance()[list(model.features).index("{NEW}")]),
    "violations_with_policy": [str(v) for v in check_features(domain.card(), used)],
    "violations_without_policy": [str(v) for v in check_features(load_card("{CREDIT / 'project.yaml'}"), used)],
    "fast_path_equals_frame": bool(np.allclose(fast, model.probability(build_features(batch)))),
    "in_ablation_group": any("{NEW}" in g.features for g in FEATURE_GROUPS),
    "card": str(domain.card_path),
}}))
"""


def _edit(path: Path, anchor: str, insert: str) -> None:
    text = path.read_text()
    assert anchor in text, f"{path.name} no longer has {anchor!r}: update docs/adding-a-feature.md and this test"
    path.write_text(text.replace(anchor, anchor + insert, 1))


@pytest.mark.rubric("data-6")
def test_a_derived_feature_added_as_documented_trains_serves_alike_and_passes_the_policy(tmp_path: Path) -> None:
    copy = tmp_path / "credit"
    shutil.copytree(CREDIT, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # step 1: the feature, one DERIVED entry
    _edit(copy / "src/credit/lib/features.py", "DERIVED: dict[str, Derived] = {\n",
          f'    "{NEW}": Derived(("loan_amount_eur", "income_monthly_eur"),\n'
          "                                     lambda amount, income: amount / (12 * income)),\n")
    # step 2: the policy entry on the card
    card = yaml.safe_load((copy / "project.yaml").read_text())
    card["feature_policy"]["features"].append({"name": NEW, "sources": ["loan_history", "frontend_batches"],
                                               "why": "Loan amount over a year's net income; affordability."})
    (copy / "project.yaml").write_text(yaml.safe_dump(card, sort_keys=False))
    # step 3: the ablation group
    _edit(copy / "src/credit/lib/studies.py", 'FeatureGroup("affordability", ("burden",',
          f' "{NEW}"')

    env = {**os.environ, "PYTHONPATH": str(copy / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["card"].startswith(str(copy))  # the copy was imported, not the checkout
    assert {"burden", NEW} <= set(out["features"]) and out["model_features"] == out["features"]
    assert out["column_matches"] and out["fast_path_equals_frame"] and out["in_ablation_group"]
    assert out["importance"] > 0  # the model really uses it
    assert out["violations_with_policy"] == []
    assert out["violations_without_policy"] == [f"{NEW}: is not in the card's feature_policy (add it there, "
                                                "with its sources and why, for review)"]
