"""Print HTML to PDF through headless Chromium, and turn PDFs into scans.

:class:`ChromiumPrinter` drives the system's Chromium (Debian's ``chromium`` package) through
Playwright: one browser for a whole build, one page per document. The PDF's creation and
modification dates are pinned so that the same seed gives the same bytes.

:func:`scan_pdf` is what a scanner or a phone does to paper: raster at 100–200 dpi, a degree or two
of skew, blur, sensor noise, a paper tint, JPEG compression; one page becomes a JPEG, several an
image-only PDF (no text layer), as scanners write them.
"""

from __future__ import annotations

import io
import random
import re
import shutil
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageFilter

__all__ = ["ChromiumPrinter", "ScanSettings", "page_count", "pin_pdf_dates", "scan_pdf"]


class ChromiumPrinter:
    """Headless Chromium as a PDF printer (``with ChromiumPrinter() as printer: printer.pdf(html)``)."""

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or shutil.which("chromium") or shutil.which("chromium-browser")
        if not self.executable:
            raise RuntimeError(
                "Chromium is not installed: `apt-get install chromium` (Debian) to build the "
                "world set; reading and evaluating the committed set does not need it"
            )
        self._playwright: Any = None
        self._browser: Any = None

    def __enter__(self) -> ChromiumPrinter:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=self.executable, args=["--no-sandbox", "--disable-gpu"]
        )
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()

    def pdf(self, html: str) -> bytes:
        """``html`` printed as an A4 PDF with backgrounds, margins from the document's ``@page`` rule."""
        if self._browser is None:
            raise RuntimeError("use ChromiumPrinter as a context manager")
        page = self._browser.new_page()
        try:
            page.set_content(html, wait_until="load")
            data: bytes = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            page.close()
        return pin_pdf_dates(data)


def pin_pdf_dates(pdf: bytes) -> bytes:
    """``pdf`` with its creation/modification dates (Info and plain XMP) and file id pinned, so that the
    same seed gives the same bytes. Same-length replacements keep the cross-reference offsets valid."""
    pdf = re.sub(
        rb"D:\d{14}(?:[+\-]\d{2}'\d{2}'|Z)?",
        lambda m: (b"D:20260101000000" + b"Z" * 20)[: len(m.group(0))],
        pdf,
    )
    pdf = re.sub(rb"(D\\072)\d{14}", rb"\g<1>20260101000000", pdf)  # the same, written with an octal colon
    pdf = re.sub(rb"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d", b"2026-01-01T00:00:00", pdf)
    return re.sub(
        rb"/ID \[<([0-9a-fA-F]+)><([0-9a-fA-F]+)>\]",
        lambda m: b"/ID [<" + b"0" * len(m.group(1)) + b"><" + b"0" * len(m.group(2)) + b">]",
        pdf,
    )


def page_count(pdf: bytes) -> int:
    """Pages in a PDF."""
    document = pdfium.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


@dataclass(frozen=True)
class ScanSettings:
    """How one document was scanned (kept in its ground truth)."""

    dpi: int
    rotation: float
    blur: float
    noise: float
    jpeg_quality: int
    colour: bool
    paper: int

    @classmethod
    def draw(cls, rng: random.Random) -> ScanSettings:
        """Settings in the range of office scanners and phone photos."""
        return cls(
            dpi=rng.choice((110, 130, 150, 150, 200)),
            rotation=round(rng.uniform(-2.0, 2.0), 2),
            blur=round(rng.uniform(0.0, 0.9), 2),
            noise=round(rng.uniform(2.0, 9.0), 1),
            jpeg_quality=rng.choice((45, 55, 65, 75, 85)),
            colour=rng.random() < 0.25,
            paper=rng.randint(228, 252),
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _scan_page(page: Image.Image, settings: ScanSettings, rng: np.random.Generator) -> Image.Image:
    image = page.convert("RGB" if settings.colour else "L")
    if settings.rotation:
        white = (255, 255, 255) if settings.colour else 255
        image = image.rotate(
            settings.rotation, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=white
        )
    if settings.blur:
        image = image.filter(ImageFilter.GaussianBlur(settings.blur))
    pixels = np.asarray(image).astype(np.float32)
    # Paper is not white and toner is not black: squeeze the range, then add sensor noise.
    pixels = 20 + pixels * (settings.paper - 20) / 255
    pixels += rng.normal(0, settings.noise, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def scan_pdf(pdf: bytes, settings: ScanSettings, seed: int) -> tuple[bytes, str]:
    """``pdf`` as scanned paper: a JPEG for one page, an image-only PDF for several. Returns (bytes, suffix)."""
    rng = np.random.default_rng(seed)
    document = pdfium.PdfDocument(pdf)
    try:
        pages = [
            _scan_page(document[i].render(scale=settings.dpi / 72).to_pil(), settings, rng)
            for i in range(len(document))
        ]
    finally:
        document.close()
    out = io.BytesIO()
    if len(pages) == 1:
        pages[0].save(out, format="JPEG", quality=settings.jpeg_quality, dpi=(settings.dpi, settings.dpi))
        return out.getvalue(), ".jpg"
    # Pillow stores L/RGB pages of a PDF as JPEG (DCTDecode) at the given quality: a scanner's PDF.
    pages[0].save(
        out,
        format="PDF",
        save_all=True,
        append_images=pages[1:],
        resolution=settings.dpi,
        quality=settings.jpeg_quality,
    )
    return pin_pdf_dates(out.getvalue()), ".pdf"
