"""Every way a file can be unreadable is recognised before OCR, with a reason a clerk understands."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from PIL import ImageFile

from invoice_ocr.lib.bad_inputs import EXPECTED_REVIEW_KIND, make_bad_file
from invoice_ocr.lib.ocr import UnreadableFile, decode_pages, is_blank
from invoice_ocr.lib.suppliers import generate_suppliers

SUPPLIERS = generate_suppliers(12)
REFUSED_BEFORE_OCR = ["zero_bytes", "truncated_image", "not_an_image", "broken_pdf", "encrypted_pdf",
                      "decompression_bomb", "low_resolution"]


@pytest.mark.parametrize("kind", REFUSED_BEFORE_OCR)
def test_unreadable_files_are_refused_with_their_kind(kind: str, tmp_path: Path) -> None:
    path = make_bad_file(kind, 3, SUPPLIERS, tmp_path)
    with pytest.raises(UnreadableFile) as caught:
        decode_pages(path.read_bytes())
    assert caught.value.kind == EXPECTED_REVIEW_KIND[kind]
    assert len(caught.value.message) > 20


def test_a_bomb_is_refused_from_its_header_without_decoding(tmp_path: Path) -> None:
    path = make_bad_file("decompression_bomb", 1, SUPPLIERS, tmp_path)
    assert path.stat().st_size < 1000
    header = path.read_bytes()[16:24]
    assert struct.unpack(">II", header) == (50_000, 50_000)  # what the header claims: 2.5 Gpx
    with pytest.raises(UnreadableFile, match="decompression bomb"):
        decode_pages(path.read_bytes())


def test_a_blank_page_decodes_but_is_recognised_as_blank(tmp_path: Path) -> None:
    [page] = decode_pages(make_bad_file("blank_page", 1, SUPPLIERS, tmp_path).read_bytes())
    assert is_blank(page)


def test_truncated_scans_are_never_read_as_garbage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        decode_pages(make_bad_file("truncated_image", 2, SUPPLIERS, tmp_path).read_bytes())
