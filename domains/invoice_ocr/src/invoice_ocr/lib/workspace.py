"""Where one invoice installation keeps its files: inbox, content-addressed store, ledger, ERP stand-in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inloop.stored_files import StoredFiles
    from invoice_ocr.lib.erp import SqlErp
    from invoice_ocr.lib.ledger import Ledger

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
    The ledger and the ERP stand-in are SQLite files under ``root`` unless ``ledger_url`` /
    ``erp_url`` name another database (PostgreSQL); stored files are a folder under ``root`` unless
    ``files_url`` names another place (``s3://bucket/prefix``). Open them with :meth:`ledger`,
    :meth:`erp` and :meth:`files`.
    """

    root: Path
    ledger_url: str | None = None
    erp_url: str | None = None
    files_url: str | None = None
    #: The S3-compatible endpoint for ``files_url`` (MinIO, SeaweedFS); None: AWS or ``AWS_ENDPOINT_URL``.
    files_endpoint_url: str | None = None

    @classmethod
    def default(cls) -> Workspace:
        from inloop.settings import get_settings

        settings = get_settings()
        return cls(settings.domain_dir("invoice_ocr"), ledger_url=settings.invoice_ledger_url,
                   erp_url=settings.invoice_erp_url, files_url=settings.stored_files_url,
                   files_endpoint_url=settings.mlflow_s3_endpoint_url)

    def ledger(self) -> Ledger:
        """The intake ledger (close it, or use it as a context manager)."""
        from invoice_ocr.lib.ledger import Ledger

        return Ledger(self.ledger_url or self.ledger_path)

    def erp(self) -> SqlErp:
        """The ERP stand-in; ``erp.down`` under ``root`` declares it unavailable."""
        from invoice_ocr.lib.erp import SqlErp

        return SqlErp(self.erp_url or self.erp_path, down_flag=self.root / "erp.down")

    def files(self) -> StoredFiles:
        """The stored files: content-addressed, hash-checked on every read."""
        from inloop.stored_files import open_stored_files

        return open_stored_files(self.files_url or self.store, endpoint_url=self.files_endpoint_url)

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
