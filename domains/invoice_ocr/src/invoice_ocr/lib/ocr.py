"""Turn a received file into OCR lines: decode safely (images, PDFs), then read with RapidOCR.

Every way a file can be unreadable raises :class:`UnreadableFile` with a ``kind`` and a sentence a
clerk understands; the pipeline sends it to review with that reason. Decoding is defensive:
truncated images are errors (PIL's ``LOAD_TRUNCATED_IMAGES`` stays off, or a broken scan would
"succeed" with garbage), and sizes are checked *before* pixels are decoded (decompression bombs).
"""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

__all__ = ["MAX_PAGES", "MAX_PIXELS", "OcrEngine", "OcrLine", "UnreadableFile", "decode_pages", "ocr_page"]

#: A4 at 300 dpi is 8.7 Mpx and phone cameras take 12-64 Mpx photos; above this a file is refused unopened.
MAX_PIXELS = 80_000_000
#: Larger pages are scaled down to this long side before OCR (A4 at ~330 dpi): more pixels only cost time.
MAX_LONG_SIDE = 3800
MAX_PAGES = 3
#: Below this many pixels on the short side (about 60 dpi for A4) text is too small to read reliably.
MIN_SHORT_SIDE = 500
PDF_DPI = 150


class UnreadableFile(Exception):
    """A file that cannot be read as an invoice; ``kind`` names the failure for routing and statistics."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class OcrLine:
    """A positioned piece of text, whatever read it: an OCR box or a phrase of a PDF's text layer.

    Coordinates are pixels at :data:`PDF_DPI` for PDFs (text-layer points are scaled to match), the
    image's pixels for scans; ``y`` grows downwards and, on multi-page documents, runs on across
    pages (``page`` says which). ``score`` is the reader's confidence (1.0 for a text layer).
    """

    text: str
    score: float
    x0: float
    y0: float
    x1: float
    y1: float
    slope: float = 0.0
    page: int = 0
    origin: str = "ocr"

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def _image_pages(data: bytes) -> list[Image.Image]:
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # someone turned it on in this process: refuse rather than read garbage
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is on; inloop refuses to read scans that way")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise UnreadableFile("too_large", f"the image is {width} x {height} pixels, more than any scan "
                                     f"we accept ({MAX_PIXELS // 1_000_000} Mpx): refused unopened "
                                     "(possible decompression bomb)")
            image.load()
    except UnreadableFile:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnreadableFile("too_large", f"refused as a possible decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise UnreadableFile("not_a_document", "the file is neither a PDF nor an image format we can read") from None
    except OSError as exc:
        raise UnreadableFile("truncated", f"the image is damaged or incomplete ({exc})") from None
    except (ValueError, SyntaxError) as exc:  # malformed headers surface as these in some PIL plugins
        raise UnreadableFile("corrupt_image", f"the image is malformed ({exc})") from None
    frames = getattr(image, "n_frames", 1)
    if frames > MAX_PAGES:
        raise UnreadableFile("too_many_pages", f"the image has {frames} pages; at most {MAX_PAGES} are accepted")
    return [image]


def _pdf_pages(data: bytes) -> list[Image.Image]:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise UnreadableFile("encrypted_pdf", "the PDF is password-protected; ask the supplier for an "
                                 "unprotected copy") from None
        raise UnreadableFile("corrupt_pdf", f"the PDF is damaged and cannot be opened ({exc})") from None
    try:
        if len(document) == 0:
            raise UnreadableFile("corrupt_pdf", "the PDF has no pages")
        if len(document) > MAX_PAGES:
            raise UnreadableFile("too_many_pages", f"the PDF has {len(document)} pages; at most {MAX_PAGES} are "
                                 "accepted (is this a batch of several invoices?)")
        pages = []
        scale = PDF_DPI / 72
        for page in document:
            width, height = page.get_size()
            if width * height * scale * scale > MAX_PIXELS:
                raise UnreadableFile("too_large", f"a PDF page of {width:.0f} x {height:.0f} pt is too large to render")
            try:
                pages.append(page.render(scale=scale).to_pil())
            except pdfium.PdfiumError as exc:
                raise UnreadableFile("corrupt_pdf", f"a PDF page cannot be rendered ({exc})") from None
        return pages
    finally:
        document.close()


def decode_pages(data: bytes) -> list[Image.Image]:
    """The pages of a received file as greyscale images, or :class:`UnreadableFile` saying why not."""
    if not data:
        raise UnreadableFile("empty_file", "the file is empty (0 bytes): the scan or upload did not complete")
    pages = _pdf_pages(data) if data[:1024].lstrip().startswith(b"%PDF") else _image_pages(data)
    out = []
    for page in pages:
        # Phone photos are stored sideways with an EXIF orientation tag; turn them as the camera meant.
        page = ImageOps.exif_transpose(page) or page
        page = page.convert("L")
        if max(page.size) > MAX_LONG_SIDE:
            page.thumbnail((MAX_LONG_SIDE, MAX_LONG_SIDE), Image.Resampling.LANCZOS)
        if min(page.size) < MIN_SHORT_SIDE:
            raise UnreadableFile("low_resolution", f"the page is only {page.size[0]} x {page.size[1]} pixels; "
                                 "rescan at 150 dpi or more")
        out.append(page)
    return out


def is_blank(page: Image.Image) -> bool:
    """A page with no ink on it (a blank sheet fed through the scanner)."""
    arr = np.asarray(page.reduce(4), dtype=np.float32)
    dark = arr < (np.median(arr) - 60)
    return float(dark.mean()) < 0.0005


class OcrEngine:
    """RapidOCR (models inside the wheel), created once per process and shared by the pipeline."""

    version = "rapidocr-onnxruntime-1.4.4"

    def __init__(self) -> None:
        self._engine: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                self._engine = RapidOCR()
            return self._engine

    def read(self, page: Image.Image) -> list[OcrLine]:
        """OCR lines of one page (empty for a page without text)."""
        engine = self._get()
        # No per-line angle classifier: it flipped some long upright lines (an IBAN line read as empty);
        # upside-down pages are handled whole by the pipeline (turn and read again).
        result, _ = engine(np.asarray(page.convert("RGB")), use_cls=False)
        lines = []
        for box, text, score in result or []:
            pts = np.asarray(box, dtype=np.float32)
            (tl, tr) = pts[0], pts[1]
            slope = float((tr[1] - tl[1]) / (tr[0] - tl[0])) if tr[0] - tl[0] > 1 else 0.0
            lines.append(OcrLine(str(text), float(score), float(pts[:, 0].min()), float(pts[:, 1].min()),
                                 float(pts[:, 0].max()), float(pts[:, 1].max()), slope))
        return lines


def ocr_page(engine: OcrEngine, page: Image.Image) -> list[OcrLine]:
    return engine.read(page)
