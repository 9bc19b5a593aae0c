"""The architecture rules hold: import-linter's contracts (root pyproject.toml) pass on this checkout.

`make check` runs the same command; this keeps the rules in the test suite too, so a domain import
in the platform, a cycle or Dagster in a domain's lib/ fails `make test` as well.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-4000:]
    # Every contract the architecture document names is really configured and kept.
    for contract in (
        "The platform never imports a domain",
        "The console never imports a domain",
        "Domains never import each other",
        "A domain's lib/ is its core",
        "No import cycles",
    ):
        assert contract in report, contract
    assert "0 broken" in report
