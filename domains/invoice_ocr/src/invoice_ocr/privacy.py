"""Who invoice_ocr can forget, and where it keeps them (the ``subject_eraser`` of its plugin).

The subject is a **supplier** who is a natural person (a German *e.K.*, a freelancer, a sole
trader): invoices carry their name, address, bank account and VAT id. They are identified by
their supplier id in the master data (``S0042``, or ``A0001`` for one a clerk added from the
review queue). Erasing them removes:

* their record from the supplier master and from the clerk-added suppliers (so their next
  invoice waits in review as an unknown supplier, and is not booked against stale bank details);
* from every invoice that is theirs (matched by supplier id, IBAN or VAT id, booked or not): the
  intake ledger's read fields, file names, corrections and the mentions in reasons, notices and
  history; the stored file; the IBAN and supplier id of the ERP stand-in's bookings
  (:func:`invoice_ocr.lib.retention.erase_invoice_content`, shared with the retention sweep);
* mentions of their id, name, IBAN or VAT id in text files under the domain's folder (synthetic
  ground truth, reports), in the Dagster-stored outputs keyed by ``supplier_id``, in the MLflow
  artifacts of the invoice_ocr experiments, and, through the platform, in alerts, bug reports and
  check results.

The ledger rows stay (state, hash, amounts): reconciliation still counts every invoice received.
Erasing booked invoices inside the statutory retention period (the card's ``retention``) is a legal
decision of the requester, recorded as the request's reason; the code does what is asked and says
so on the receipt.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import IO, Any

from inloop.privacy import StoreReceipt, SubjectEraser
from inloop.privacy import stores as platform_stores
from inloop.settings import get_settings

__all__ = ["SupplierEraser", "eraser"]


def _squash(text: Any) -> str:
    return re.sub(r"[^0-9A-Z]", "", str(text or "").upper())


class SupplierEraser(SubjectEraser):
    subject = "supplier who is a natural person (supplier id)"
    key_columns = ("supplier_id",)
    id_pattern = re.compile(r"^[A-Z][0-9]{1,8}$")

    def __init__(self, domain: str = "invoice_ocr") -> None:
        super().__init__(domain)
        # Who the id stands for, read once per request before anything is erased: after the master
        # record is gone, the verification scan still looks for their name, IBAN and VAT id.
        self._identity: dict[str, dict[str, Any]] = {}

    def normalise(self, subject_id: str) -> str:
        return super().normalise((subject_id or "").strip().upper())

    def _workspace(self):  # type: ignore[no-untyped-def]
        from invoice_ocr.lib.workspace import Workspace

        return Workspace(self.data_dir())

    def _masters(self) -> list[Path]:
        from invoice_ocr.lib.supplier_onboarding import additions_path

        ws = self._workspace()
        return [ws.supplier_master_path, additions_path(ws)]

    def identity(self, subject_id: str) -> dict[str, Any]:
        """The supplier's record (name, IBAN, VAT id, address) from the master data, or just the id."""
        if subject_id not in self._identity:
            found: dict[str, Any] = {"supplier_id": subject_id}
            for path in self._masters():
                if path.exists():
                    for record in json.loads(path.read_text(encoding="utf-8")):
                        if record.get("supplier_id") == subject_id:
                            found = record
            self._identity[subject_id] = found
        return self._identity[subject_id]

    def mentions(self, subject_id: str) -> list[re.Pattern[str]]:
        who = self.identity(subject_id)
        patterns = super().mentions(subject_id)
        for key in ("name", "iban", "vat_id"):
            value = str(who.get(key) or "").strip()
            if len(value) >= 5:
                # IBANs and VAT ids are printed with spaces or dots; names as written.
                body = r"[\s.]?".join(map(re.escape, value.replace(" ", ""))) if key != "name" else re.escape(value)
                patterns.append(re.compile(body, re.IGNORECASE))
        return patterns

    def _invoices(self, subject_id: str) -> list[int]:
        """Ledger ids of the supplier's invoices: by supplier id read or approved, key, IBAN or VAT id."""
        ws = self._workspace()
        if ws.ledger_url is None and not ws.ledger_path.exists():
            return []
        who = self.identity(subject_id)
        iban, vat = _squash(who.get("iban")), _squash(who.get("vat_id"))
        ids = {int(b["ledger_invoice_id"]) for b in ws.erp().bookings()
               if b["supplier_id"] == subject_id}
        with ws.ledger() as ledger:
            for entry in ledger.entries():
                fields = entry.fields or {}
                read = {k: (v or {}).get("value") for k, v in (fields.get("extracted") or {}).items()}
                approved = fields.get("approved") or {}
                if (subject_id in (read.get("supplier_id"), approved.get("supplier_id"))
                        or (entry.invoice_key or "").startswith(f"{subject_id}:")
                        or (iban and iban in (_squash(read.get("iban")), _squash(approved.get("iban"))))
                        or (vat and vat == _squash(read.get("vat_id")))):
                    ids.add(entry.id)
        return sorted(ids)

    def _master_store(self, subject_id: str, *, erase: bool) -> StoreReceipt:
        removed = files = 0
        for path in self._masters():
            if not path.exists():
                continue
            records = json.loads(path.read_text(encoding="utf-8"))
            kept = [r for r in records if r.get("supplier_id") != subject_id]
            if len(kept) == len(records):
                continue
            removed, files = removed + len(records) - len(kept), files + 1
            if erase:
                text = json.dumps(kept, indent=2, ensure_ascii=False)
                platform_stores._atomic_write(path, functools.partial(_write_text, text), mode="w")
        return StoreReceipt("invoice_ocr: supplier master", "deleted", removed, files,
                            detail="the supplier's record in the master and in the clerk-added suppliers")

    def _mlflow_store(self, subject_id: str, *, erase: bool) -> StoreReceipt:
        root = get_settings().mlflow_artifacts
        if not root or "://" in root:
            return StoreReceipt("invoice_ocr: MLflow artifacts", "anonymised",
                                detail=f"artifact store {root or '(server default)'} is remote: not scanned")
        folder = Path(root) / self.domain
        hits, files = platform_stores.scrub_text_tree(folder, self.mentions(subject_id), erase=erase)
        return StoreReceipt("invoice_ocr: MLflow artifacts", "anonymised", hits, files,
                            detail=f"text artifacts of the invoice_ocr experiments under {folder}")

    def _run(self, subject_id: str, *, erase: bool) -> list[StoreReceipt]:
        from invoice_ocr.lib.retention import erase_invoice_content

        # The domain's own stores first: the generic text scrub below would otherwise blank parts of
        # the master record (leaving an invalid supplier) instead of removing it.
        ids = self._invoices(subject_id)
        own = [self._master_store(subject_id, erase=erase),
               *erase_invoice_content(self._workspace(), ids, why=f"supplier {subject_id} erased on request",
                                      mentions=self.mentions(subject_id), erase=erase, keep_supplier_in_erp=False),
               self._mlflow_store(subject_id, erase=erase)]
        return own + super()._run(subject_id, erase=erase)

    def not_covered(self) -> list[str]:
        return ["MLflow run parameters and binary artifacts (invoice_ocr logs no supplier data there; text "
                "artifacts are scanned)",
                "the real ERP behind the stand-in and its own retention: erase there through its own process",
                "invoices still in the inbox (not yet received): they are taken, and erased by asking again"]


def eraser() -> SupplierEraser:
    """A fresh eraser per request (it remembers the supplier's identity for the verification scan)."""
    return SupplierEraser("invoice_ocr")


def _write_text(text: str, handle: IO[str]) -> None:
    handle.write(text)
