"""Invoice throughput for ``inloop bench``: the whole path against the OCR engine alone.

Each run takes the same rendered invoices through intake -> OCR -> field extraction -> GX
validation -> booking (a fresh workspace per run, the domain's own :func:`take_inbox` and
:class:`InvoiceProcessor`) and through the bare engine (decode + read every page, nothing else).
The order alternates between runs so warm caches and load drift do not favour one side.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["measure", "measure_text_layer"]

Echo = Callable[[str], None]


def _bare(files: list[Path], engine: Any) -> float:
    """Seconds for the OCR engine alone on ``files``."""
    from invoice_ocr.lib.ocr import UnreadableFile, decode_pages

    start = time.perf_counter()
    for path in files:
        try:
            for page in decode_pages(path.read_bytes()):
                engine.read(page)
        except UnreadableFile:
            continue
    return time.perf_counter() - start


def _pipeline(files: list[Path], root: Path, engine: Any) -> tuple[float, Any]:
    """Seconds for intake + processing of ``files`` in a fresh workspace at ``root``; and the run summary."""
    from invoice_ocr.lib.dataset import write_supplier_master
    from invoice_ocr.lib.intake import take_inbox
    from invoice_ocr.lib.pipeline import InvoiceProcessor
    from invoice_ocr.lib.suppliers import generate_suppliers
    from invoice_ocr.lib.workspace import Workspace

    workspace = Workspace(root).prepare()
    write_supplier_master(generate_suppliers(40, seed=7), workspace.supplier_master_path)
    settled = time.time() - 10  # intake waits for files still being written; these are complete
    for path in files:
        target = workspace.inbox / path.name
        shutil.copy(path, target)
        os.utime(target, (settled, settled))
    start = time.perf_counter()
    take_inbox(workspace, limit=100_000)
    summary = InvoiceProcessor(workspace, engine=engine).run()
    return time.perf_counter() - start, summary


def measure_text_layer(quick: bool, echo: Echo) -> list[Any]:
    """Born-digital PDFs per minute: read through their text layer vs rasterised and OCR'd (the old path).

    The same synthetic invoices as born-digital PDFs (:func:`~invoice_ocr.lib.render.born_digital_pdf`);
    each side reads every file to its fields (text layer: :func:`read_invoice`; OCR: render at 150 dpi,
    RapidOCR, the same extractor). Sides alternate between runs so load drift favours neither.
    """
    from inloop.bench.report import Figure, Sample
    from invoice_ocr.lib.extract import extract_fields
    from invoice_ocr.lib.invoices import generate_invoice
    from invoice_ocr.lib.ocr import OcrEngine, OcrLine, decode_pages
    from invoice_ocr.lib.reading import read_invoice
    from invoice_ocr.lib.render import born_digital_pdf
    from invoice_ocr.lib.suppliers import generate_suppliers

    count = 3 if quick else 8
    runs = 2 if quick else 3
    suppliers = generate_suppliers(40, seed=7)
    master = [s.to_dict() for s in suppliers]
    pdfs = [born_digital_pdf(generate_invoice(i, suppliers, seed=42)) for i in range(1, count + 1)]
    engine = OcrEngine()
    engine.read(decode_pages(pdfs[0])[0])  # load the models once, outside every timing
    read_invoice(pdfs[0], "warm-up.pdf", suppliers=master)  # and the parsers' language data and registries

    def text_layer() -> tuple[float, int]:
        start = time.perf_counter()
        read = [read_invoice(pdf, "bench.pdf", suppliers=master, engine=engine) for pdf in pdfs]
        assert all(r.path_taken == "text-layer" for r in read), [r.path_taken for r in read]
        return time.perf_counter() - start, sum(r.fields["total"].value is not None for r in read)

    def ocr() -> tuple[float, int]:
        start = time.perf_counter()
        found = 0
        for pdf in pdfs:
            lines: list[OcrLine] = []
            for page in decode_pages(pdf):
                lines += engine.read(page)
            found += extract_fields(lines, master).fields["total"].value is not None
        return time.perf_counter() - start, found

    text_s: list[float] = []
    ocr_s: list[float] = []
    for r in range(runs):
        for side in (("text", "ocr") if r % 2 == 0 else ("ocr", "text")):
            seconds, _found = text_layer() if side == "text" else ocr()
            (text_s if side == "text" else ocr_s).append(seconds)
        echo(f"  born-digital run {r + 1}/{runs}: text layer {60 * count / text_s[-1]:.1f}/min, "
             f"OCR {60 * count / ocr_s[-1]:.1f}/min")
    group = "Born-digital PDFs: text layer vs OCR"
    ratio = Sample(tuple(o / t for t, o in zip(text_s, ocr_s, strict=True)))
    note = f"{count} synthetic born-digital PDFs per run (Helvetica text layer), read to fields, one worker"
    return [
        Figure.of(group, "text layer", "invoices/min", Sample(tuple(60 * count / s for s in text_s)), note=note),
        Figure.of(group, "rasterised + OCR", "invoices/min", Sample(tuple(60 * count / s for s in ocr_s))),
        Figure.of(group, "text layer / OCR throughput", "ratio", ratio, goal=">= 20", met=ratio.median >= 20),
    ]


def measure(quick: bool, echo: Echo) -> list[Any]:
    """The ``bench`` hook: invoices/minute, pipeline vs bare OCR engine, on the same files."""
    from inloop.bench.report import Figure, Sample
    from invoice_ocr.lib.dataset import write_invoices
    from invoice_ocr.lib.ocr import OcrEngine, decode_pages
    from invoice_ocr.lib.suppliers import generate_suppliers

    count = 2 if quick else 8
    runs = 2 if quick else 3
    group = "Invoice throughput (intake -> OCR -> validation -> booking)"
    with tempfile.TemporaryDirectory(prefix="inloop-bench-invoices-") as tmp:
        tmp_path = Path(tmp)
        echo(f"  invoices: rendering {count} synthetic invoices")
        generated = write_invoices(count, generate_suppliers(40, seed=7), tmp_path / "scans", seed=42)
        files = [g.path for g in generated]
        engine = OcrEngine()
        engine.read(decode_pages(files[0].read_bytes())[0])  # load the models once, outside every timing
        pipe_s: list[float] = []
        bare_s: list[float] = []
        booked: list[int] = []
        ocr_share: list[float] = []
        for r in range(runs):
            order = ("pipeline", "bare") if r % 2 == 0 else ("bare", "pipeline")
            for side in order:
                if side == "pipeline":
                    seconds, summary = _pipeline(files, tmp_path / f"workspace-{r}", engine)
                    pipe_s.append(seconds)
                    booked.append(summary.booked)
                    ocr_share.append(summary.ocr_seconds / seconds)
                else:
                    bare_s.append(_bare(files, engine))
            echo(f"  run {r + 1}/{runs}: pipeline {60 * count / pipe_s[-1]:.1f}/min, "
                 f"bare OCR {60 * count / bare_s[-1]:.1f}/min, booked {booked[-1]}/{count}")
    pipe_ipm = Sample(tuple(60 * count / s for s in pipe_s))
    bare_ipm = Sample(tuple(60 * count / s for s in bare_s))
    ratio = Sample(tuple(b / p for p, b in zip(pipe_s, bare_s, strict=True)))
    note = f"{count} clean synthetic invoices per run, same files both sides, one worker, {os.cpu_count()} cores"
    return [
        Figure.of(group, "pipeline", "invoices/min", pipe_ipm, note=note),
        Figure.of(group, "bare OCR engine", "invoices/min", bare_ipm),
        Figure.of(group, "pipeline / bare OCR throughput", "ratio", ratio, goal=">= 0.85", met=ratio.median >= 0.85),
        Figure.of(group, "share of pipeline wall time inside the OCR engine", "fraction", Sample(tuple(ocr_share)),
                  note="drift-free view of the same ratio: measured within each pipeline run"),
        Figure.of(group, "invoices booked without a person", "invoices", Sample(tuple(float(b) for b in booked)),
                  note=f"of {count} per run; the rest went to review with a reason"),
        *measure_text_layer(quick, echo),
    ]
