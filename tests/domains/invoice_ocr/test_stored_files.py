"""Stored files: content-addressed, checked on every read; a damaged file is named, never handed out."""

from __future__ import annotations

from pathlib import Path

import pytest

from inloop.stored_files import DamagedFile, LocalFiles, S3Files, open_stored_files, sha256_of
from invoice_ocr.lib.dataset import write_supplier_master
from invoice_ocr.lib.intake import receive
from invoice_ocr.lib.pipeline import InvoiceProcessor
from invoice_ocr.lib.suppliers import generate_suppliers
from invoice_ocr.lib.workspace import Workspace


def test_the_same_bytes_are_one_file_named_by_their_hash(tmp_path: Path) -> None:
    files = open_stored_files(tmp_path / "files")
    digest, where = files.put(b"invoice one")
    again, _ = files.put(b"invoice one")
    assert digest == again == sha256_of(b"invoice one") and files.digests() == {digest}
    assert files.get(digest) == b"invoice one" and Path(where).read_bytes() == b"invoice one"
    assert files.verify() == (1, [])


def test_a_damaged_file_raises_damaged_file_on_every_read(tmp_path: Path) -> None:
    files = LocalFiles(tmp_path / "files")
    digest, where = files.put(b"the original bytes")
    Path(where).write_bytes(b"the original bytez")  # one flipped byte on disk
    with pytest.raises(DamagedFile, match=rf"stored file {digest} .* is damaged") as caught:
        files.get(digest)
    assert caught.value.digest == digest
    with pytest.raises(DamagedFile):
        files.local_path(digest)
    assert files.verify() == (1, [digest])


def test_a_missing_file_and_a_bad_name_are_clear_errors(tmp_path: Path) -> None:
    files = LocalFiles(tmp_path / "files")
    with pytest.raises(FileNotFoundError):
        files.get("0" * 64)
    with pytest.raises(ValueError, match="not a SHA-256"):
        files.get("../../etc/passwd")


def test_locations_are_a_folder_or_an_s3_bucket_and_nothing_else(tmp_path: Path) -> None:
    assert isinstance(open_stored_files(f"file://{tmp_path}"), LocalFiles)
    s3 = open_stored_files("s3://bucket/invoices/", endpoint_url="http://127.0.0.1:1")
    assert isinstance(s3, S3Files) and s3.key_for("ab" + "0" * 62) == f"invoices/ab/ab{'0' * 62}"
    with pytest.raises(ValueError, match="folder or at s3://"):
        open_stored_files("ftp://host/files")
    with pytest.raises(ValueError, match="names no bucket"):
        open_stored_files("s3:///prefix")


def test_processing_sends_an_invoice_whose_stored_file_is_damaged_to_review(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").prepare()
    write_supplier_master(generate_suppliers(3, seed=1), ws.supplier_master_path)
    result = receive(ws, b"%PDF-1.4 not really a pdf", "scan.pdf", "inbox")
    Path(result.stored_path).write_bytes(b"overwritten")
    summary = InvoiceProcessor(ws).run()
    with ws.ledger() as ledger:
        entry = ledger.get(result.invoice_id)
    assert summary.processed == 1 and entry.state == "needs_review" and entry.reason_kind == "storage_damaged"
    assert "is damaged" in (entry.reason or "")
