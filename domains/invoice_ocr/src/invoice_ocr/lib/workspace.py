"""Where one invoice installation keeps its files: inbox, content-addressed store, ledger, ERP stand-in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["CARD_PATH", "DOMAIN_ROOT", "REVIEW_POLICY_FILE", "Workspace"]

#: ``domains/invoice_ocr``: holds project.yaml and postmortems/. lib/ finds its card here, never
#: through the plugin module (``invoice_ocr.domain``), whose loaders reach Dagster and FastAPI.
DOMAIN_ROOT = Path(__file__).resolve().parents[3]
#: The domain's project card.
CARD_PATH = DOMAIN_ROOT / "project.yaml"

#: The served review policy and the evaluation profile it was tuned on (written by ``lib.policy``,
#: read by ``lib.skew``), relative to the workspace root.
REVIEW_POLICY_FILE = "review_policy.json"


@dataclass(frozen=True)
class Workspace:
    """All paths derive from ``root`` (by default the settings' ``domain_dir('invoice_ocr')``).

    Demos and tests use their own workspace, so a worst-case story never touches the real ledger.
    """

    root: Path

    @classmethod
    def default(cls) -> Workspace:
        from inloop.settings import get_settings

        return cls(get_settings().domain_dir("invoice_ocr"))

    @property
    def inbox(self) -> Path:
        """Where the scanner and the mail gateway drop files."""
        return self.root / "inbox"

    @property
    def store(self) -> Path:
        """Content-addressed copies of every received file (never deleted)."""
        return self.root / "store"

    @property
    def ledger_path(self) -> Path:
        return self.root / "ledger.db"

    @property
    def erp_path(self) -> Path:
        """The SQLite database standing in for the ERP."""
        return self.root / "erp.db"

    @property
    def supplier_master_path(self) -> Path:
        return self.root / "supplier_master.json"

    @property
    def review_policy_path(self) -> Path:
        """The adopted review policy with its evaluation profile (absent until a policy is adopted)."""
        return self.root / REVIEW_POLICY_FILE

    @property
    def synthetic_dir(self) -> Path:
        return self.root / "synthetic"

    def prepare(self) -> Workspace:
        for folder in (self.root, self.inbox, self.store):
            folder.mkdir(parents=True, exist_ok=True)
        return self
