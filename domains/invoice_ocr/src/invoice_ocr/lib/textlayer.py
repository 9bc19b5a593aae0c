"""A born-digital PDF's text layer as positioned phrases: the exact text, no OCR.

pypdfium2's text page gives every character with its box. Characters are joined into phrases the
way an OCR engine returns boxes: one phrase per run of text on a row, split where the gap between
two characters is wider than a column gap. Coordinates are scaled from PDF points to pixels at
:data:`~invoice_ocr.lib.ocr.PDF_DPI` with ``y`` growing downwards, so the extractor sees the same
geometry whichever reader produced the boxes. A page with (almost) no characters is a scan: the
caller reads it with OCR.
"""

from __future__ import annotations

from typing import Any

from invoice_ocr.lib.ocr import PDF_DPI, OcrLine

__all__ = ["MIN_CHARS", "page_phrases"]

#: Fewer printable characters than this and the page is treated as a scan (OCR).
MIN_CHARS = 20
#: A gap wider than this many character heights separates two phrases (columns, label and value).
_PHRASE_GAP = 1.2


def page_phrases(page: Any, *, page_index: int = 0, y_offset: float = 0.0) -> list[OcrLine] | None:
    """The phrases of one ``pypdfium2.PdfPage``; None when the page has no real text layer (a scan)."""
    import pypdfium2.raw as raw

    scale = PDF_DPI / 72
    height = page.get_height()
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        chars: list[tuple[str, float, float, float, float, float]] = []
        printable = 0
        for i in range(count):
            code = raw.FPDFText_GetUnicode(textpage.raw, i)
            ch = chr(code) if code else ""
            if not ch or ch in "\r\n\ufffe\uffff\x00":
                chars.append(("\n", 0, 0, 0, 0, 0))
                continue
            left, bottom, right, top = textpage.get_charbox(i)
            if ch.isspace() or right - left <= 0:
                chars.append((" ", left, bottom, right, top, 0))
                continue
            printable += 1
            # The font size, not the glyph's box, measures gaps: an "a" is shorter than an "H".
            size = raw.FPDFText_GetFontSize(textpage.raw, i) * scale or (top - bottom) * scale
            y0, y1 = (height - top) * scale + y_offset, (height - bottom) * scale + y_offset
            chars.append((ch, left * scale, y0, right * scale, y1, size))
        if printable < MIN_CHARS:
            return None
    finally:
        textpage.close()
    return _phrases(chars, page_index)


def _phrases(chars: list[tuple[str, float, float, float, float, float]], page_index: int) -> list[OcrLine]:
    out: list[OcrLine] = []
    text: list[str] = []
    box: list[float] = []
    last: tuple[float, float, float, float, float] | None = None
    pending_space = False
    size_max = 0.0

    def flush() -> None:
        nonlocal text, box, size_max
        phrase = "".join(text).strip()
        if phrase and box:
            # Boxes as tall as the font (as OCR boxes are), not as the glyphs: "ace" is as tall as "ACE".
            top = min(box[1], box[3] - 0.9 * size_max)
            out.append(OcrLine(phrase, 1.0, box[0], top, box[2], box[3], 0.0, page_index, "text-layer"))
        text, box, size_max = [], [], 0.0

    for ch, x0, y0, x1, y1, size in chars:
        if ch == "\n":
            flush()
            last, pending_space = None, False
            continue
        if ch == " ":
            pending_space = bool(text)
            continue
        if last is not None:
            h = max(last[4], size, 1.0)
            # Baselines (glyph bottoms) of one row agree; descenders ("g", "p") reach a little lower.
            same_row = abs(y1 - last[3]) < 0.45 * h or abs((y0 + y1) / 2 - (last[1] + last[3]) / 2) < 0.3 * h
            gap = x0 - last[2]
            if not same_row or gap > _PHRASE_GAP * h or gap < -h:
                flush()
                pending_space = False
            elif pending_space or gap > 0.3 * h:
                text.append(" ")
        pending_space = False
        text.append(ch)
        box = (
            [x0, y0, x1, y1]
            if not box
            else [min(box[0], x0), min(box[1], y0), max(box[2], x1), max(box[3], y1)]
        )
        last = (x0, y0, x1, y1, size)
        size_max = max(size_max, size)
    flush()
    return out
