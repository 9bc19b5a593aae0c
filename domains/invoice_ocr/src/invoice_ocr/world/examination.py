"""Read the world set through the reader and score it against the ground truth, field by field.

The examiner is independent of the reader: it only calls the reader's public entry point
(:func:`invoice_ocr.lib.reading.read_invoice`) and compares what comes back, in the JSON shape of
``inloop invoices read --json``, with the truth written beside each document.

What counts as exact, per field (written down so nobody argues after the fact):

- ``invoice_number``, ``supplier_id``: the same string (surrounding white space aside);
- ``supplier_name``: the same string once runs of white space are one space;
- ``invoice_date``, ``due_date``: the same ISO-8601 date;
- ``total``, ``net``, ``vat``: the same decimal number (``"1234.5"`` equals ``"1234.50"``; a credit
  note's amounts are negative);
- ``currency``: the same ISO 4217 code;
- ``iban``, ``bic``: the same characters without spaces, upper case;
- ``vat_id``: the same compact id (no spaces, dots or dashes; a Swiss UID's MWST/TVA/IVA suffix
  dropped).

A field the truth leaves null (not printed on that document, e.g. a due date some invoices do not
state, or a supplier the master does not know) is not scored; a value read for it anyway is listed
as *spurious*. A document the reader fails on counts as wrong on every field it carries.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

__all__ = [
    "EXPECTED_PATH",
    "FIELDS",
    "HEADLINE_FIELDS",
    "WorldDocument",
    "examine",
    "field_is_exact",
    "load_world",
    "markdown_report",
    "score_reading",
    "subset_for_tests",
    "unmet_targets",
]

#: every field scored, in report order
FIELDS = (
    "invoice_number",
    "invoice_date",
    "due_date",
    "total",
    "net",
    "vat",
    "currency",
    "iban",
    "bic",
    "vat_id",
    "supplier_name",
    "supplier_id",
)
#: the fields issue #18 holds to >= 90 % per field and per language
HEADLINE_FIELDS = ("invoice_number", "invoice_date", "total")
#: the path each kind of document should be read by
EXPECTED_PATH = {"born-digital": "text-layer", "scan": "ocr", "e-invoice": "e-invoice"}
HEADLINE_TARGET = 0.90


@dataclass(frozen=True)
class WorldDocument:
    """One document of the set and its ground truth."""

    path: Path
    truth: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.truth["file"])


def load_world(folder: Path) -> list[WorldDocument]:
    """Every document listed in ``folder``'s manifest, with the truth beside it; says what is missing."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"{manifest_path} not found: point at a world set folder (one with manifest.json), "
            "or regenerate it with `python -m invoice_ocr.world`"
        )
    rows = json.loads(manifest_path.read_text(encoding="utf-8"))["documents"]
    documents, missing = [], []
    for row in rows:
        path = folder / row["file"]
        truth_path = path.with_suffix(".json")
        if not path.is_file() or not truth_path.is_file():
            missing.append(row["file"])
            continue
        documents.append(WorldDocument(path, json.loads(truth_path.read_text(encoding="utf-8"))))
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} documents of the manifest (or their truth) are missing, e.g. "
            f"{', '.join(missing[:5])}"
        )
    return documents


def load_suppliers(folder: Path) -> list[dict[str, Any]]:
    """The supplier master the set was made with (the reader is given it, as the pipeline would)."""
    return list(json.loads((folder / "suppliers.json").read_text(encoding="utf-8")))


def subset_for_tests(documents: list[WorldDocument]) -> list[WorldDocument]:
    """The fixed subset the test suite reads, mixed like the set: for each layout two born-digital and
    two scanned documents (languages rotating, so every language has both kinds), and every e-invoice.

    Two of each per layout give every language ten or more documents, so that the 90 % target means
    what it says (one miss allowed in ten) instead of demanding a perfect score of a handful."""
    languages = ("en", "de", "fr", "nl", "es", "it")
    printed = [d for d in documents if d.truth["kind"] != "e-invoice"]
    layouts = list(dict.fromkeys(d.truth["layout"] for d in printed))
    chosen = []
    for i, layout in enumerate(layouts):
        born = [d for d in printed if d.truth["layout"] == layout and d.truth["kind"] == "born-digital"]
        scans = [d for d in printed if d.truth["layout"] == layout and d.truth["kind"] == "scan"]
        wanted = {languages[(2 * i) % len(languages)], languages[(2 * i + 1) % len(languages)]}
        chosen += [d for d in born if d.truth["language"] in wanted]
        chosen += [scans[(i + k) % len(scans)] for k in range(min(2, len(scans)))]
    return chosen + [d for d in documents if d.truth["kind"] == "e-invoice"]


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def field_is_exact(name: str, expected: Any, got: Any) -> bool:
    """Whether ``got`` is exactly ``expected`` for field ``name`` (see the module docstring)."""
    if got is None or expected is None:
        return got is None and expected is None
    if name in ("total", "net", "vat"):
        want, have = _decimal(expected), _decimal(got)
        return want is not None and have is not None and want == have
    if name in ("iban", "bic", "currency"):
        return _compact(str(got)) == _compact(str(expected))
    if name == "vat_id":

        def compact(v: Any) -> str:
            text = re.sub(r"[\s.\-]", "", str(v)).upper()
            return re.sub(r"(MWST|TVA|IVA)$", "", text) if text.startswith("CHE") else text

        return compact(got) == compact(expected)
    if name == "supplier_name":
        return " ".join(str(got).split()) == " ".join(str(expected).split())
    return str(got).strip() == str(expected).strip()


def _value(reading: dict[str, Any], name: str) -> Any:
    entry = (reading.get("fields") or {}).get(name)
    if isinstance(entry, dict):
        return entry.get("value")
    return entry


def score_reading(truth: dict[str, Any], reading: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per field: expected, got, and whether it is exact (``None`` when the truth has no value)."""
    rows = []
    for name in FIELDS:
        expected, got = truth.get(name), _value(reading, name)
        exact = None if expected is None else field_is_exact(name, expected, got)
        rows.append({"field": name, "expected": expected, "got": got, "exact": exact})
    return rows


def _tally(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["exact"] is None:
            continue
        cell = out.setdefault(row["field"], {"right": 0, "of": 0})
        cell["of"] += 1
        cell["right"] += int(row["exact"])
    for cell in out.values():
        cell["accuracy"] = round(cell["right"] / cell["of"], 4) if cell["of"] else None
    return {name: out[name] for name in FIELDS if name in out}


def _reading_as_dict(reading: Any) -> dict[str, Any]:
    data = reading.to_json() if hasattr(reading, "to_json") else reading
    if isinstance(data, (str, bytes)):
        data = json.loads(data)
    if not isinstance(data, dict):
        raise TypeError(f"the reader returned {type(data).__name__}, not a JSON object")
    return data


def examine(
    documents: list[WorldDocument],
    suppliers: list[dict[str, Any]],
    *,
    read: Callable[..., Any],
    engine: Any = None,
    log: Callable[[str], object] = print,
) -> dict[str, Any]:
    """Read every document with ``read`` (the reader's ``read_invoice``) and build the report."""
    started = time.perf_counter()
    scored: list[dict[str, Any]] = []  # one per document
    total = len(documents)
    for n, doc in enumerate(documents, 1):
        t0 = time.perf_counter()
        error = None
        try:
            reading = _reading_as_dict(
                read(doc.path.read_bytes(), doc.path.name, suppliers=suppliers, engine=engine)
            )
        except Exception as exc:  # noqa: BLE001 - a document the reader fails on is scored, never dropped
            reading, error = {}, f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - t0
        error = error or reading.get("error")
        path_taken = reading.get("path_taken") or "error"
        rows = score_reading(doc.truth, reading)
        scored.append(
            {
                "doc": doc,
                "reading": reading,
                "rows": rows,
                "path_taken": path_taken,
                "seconds": seconds,
                "error": error,
            }
        )
        wrong = sum(1 for r in rows if r["exact"] is False)
        log(
            f"[{n}/{total}] {doc.name}: {path_taken}, {wrong} field(s) wrong, {seconds:.1f} s"
            + (f" — error: {error}" if error else "")
        )
    return _report(scored, time.perf_counter() - started)


def _group(scored: list[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in scored:
        groups.setdefault(key(item), []).append(item)
    return {
        name: {"documents": len(items), "fields": _tally(r for it in items for r in it["rows"])}
        for name, items in sorted(groups.items())
    }


def _report(scored: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    failures, spurious, errors = [], [], []
    paths: dict[str, dict[str, int]] = {}
    timing: dict[str, list[float]] = {}
    for item in scored:
        truth = item["doc"].truth
        kind = truth["kind"]
        paths.setdefault(kind, {}).setdefault(item["path_taken"], 0)
        paths[kind][item["path_taken"]] += 1
        timing.setdefault(kind, []).append(item["seconds"])
        if item["error"]:
            errors.append({"file": item["doc"].name, "error": item["error"]})
        for row in item["rows"]:
            if row["exact"] is False:
                failures.append(
                    {
                        "file": item["doc"].name,
                        "field": row["field"],
                        "expected": row["expected"],
                        "got": row["got"],
                        "path_taken": item["path_taken"],
                        "language": truth["language"],
                        "layout": truth["layout"],
                    }
                )
            elif row["exact"] is None and row["got"] not in (None, ""):
                spurious.append({"file": item["doc"].name, "field": row["field"], "got": row["got"]})
    wrong_path = [
        {"file": it["doc"].name, "kind": it["doc"].truth["kind"], "path_taken": it["path_taken"]}
        for it in scored
        if it["path_taken"] != EXPECTED_PATH[it["doc"].truth["kind"]]
    ]
    report = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "documents": len(scored),
        "seconds": round(seconds, 1),
        "per_field": _tally(r for it in scored for r in it["rows"]),
        "per_language": _group(scored, lambda it: it["doc"].truth["language"]),
        "per_path": _group(scored, lambda it: it["path_taken"]),
        "per_kind": _group(scored, lambda it: it["doc"].truth["kind"]),
        "per_layout": _group(scored, lambda it: it["doc"].truth["layout"]),
        "per_document_type": _group(scored, lambda it: it["doc"].truth["document_type"]),
        "paths_by_kind": paths,
        "wrong_path": wrong_path,
        "seconds_per_document": {k: round(sum(v) / len(v), 3) for k, v in sorted(timing.items())},
        "documents_per_minute": {
            k: round(60 * len(v) / sum(v), 1) if sum(v) else None for k, v in sorted(timing.items())
        },
        "errors": errors,
        "failures": failures,
        "spurious": spurious,
    }
    report["unmet_targets"] = unmet_targets(report)
    return report


def unmet_targets(report: dict[str, Any], headline_target: float = HEADLINE_TARGET) -> list[str]:
    """Issue #18's targets this report misses: >= ``headline_target`` exact on invoice number, date and
    total, per field and per language; e-invoices exact on every field they carry."""
    unmet = []
    for name in HEADLINE_FIELDS:
        cell = report["per_field"].get(name)
        if cell and cell["accuracy"] < headline_target:
            unmet.append(
                f"{name}: {cell['accuracy']:.1%} exact overall ({cell['right']}/{cell['of']}), "
                f"target {headline_target:.0%}"
            )
        for language, group in report["per_language"].items():
            cell = group["fields"].get(name)
            if cell and cell["accuracy"] < headline_target:
                unmet.append(
                    f"{name} in {language}: {cell['accuracy']:.1%} exact ({cell['right']}/{cell['of']}), "
                    f"target {headline_target:.0%}"
                )
    einvoices = report["per_kind"].get("e-invoice")
    if einvoices:
        for name, cell in einvoices["fields"].items():
            if cell["right"] < cell["of"]:
                unmet.append(f"e-invoices: {name} {cell['right']}/{cell['of']} exact, target every one")
    return unmet


def _pct(cell: dict[str, Any] | None) -> str:
    if not cell:
        return "–"
    return f"{cell['accuracy']:.1%} ({cell['right']}/{cell['of']})"


def markdown_report(report: dict[str, Any], max_failures: int = 200) -> str:
    """The report as Markdown: tables per field, language, path, kind and layout; failures listed."""
    lines = [
        f"# invoice_ocr world evaluation ({report['when']})",
        "",
        f"{report['documents']} documents read in {report['seconds']} s.",
        "",
    ]
    lines += ["## Targets", ""]
    lines += [f"- NOT MET: {u}" for u in report["unmet_targets"]] or [
        "- all met (>= 90 % exact on invoice number, "
        "date and total per field and per language; "
        "e-invoices exact on every field)"
    ]
    lines += ["", "## Per field", "", "| field | exact |", "| --- | --- |"]
    lines += [f"| {name} | {_pct(cell)} |" for name, cell in report["per_field"].items()]
    for title, key in (
        ("Per language", "per_language"),
        ("Per path taken", "per_path"),
        ("Per kind", "per_kind"),
        ("Per layout", "per_layout"),
        ("Per document type", "per_document_type"),
    ):
        groups = report[key]
        lines += [
            "",
            f"## {title}",
            "",
            "| " + " | ".join(["group", "docs", *FIELDS]) + " |",
            "| " + " | ".join(["---"] * (len(FIELDS) + 2)) + " |",
        ]
        for name, group in groups.items():
            lines.append(
                "| "
                + " | ".join([name, str(group["documents"]), *(_pct(group["fields"].get(f)) for f in FIELDS)])
                + " |"
            )
    lines += ["", "## Paths taken by kind", ""]
    for kind, counts in report["paths_by_kind"].items():
        lines.append(
            f"- {kind} (expected {EXPECTED_PATH[kind]}): "
            + ", ".join(f"{path} {count}" for path, count in sorted(counts.items()))
        )
    lines += ["", "## Speed", ""]
    for kind, per_minute in report["documents_per_minute"].items():
        lines.append(f"- {kind}: {report['seconds_per_document'][kind]} s per document ({per_minute}/min)")
    if report["errors"]:
        lines += ["", "## Errors", ""] + [f"- {e['file']}: {e['error']}" for e in report["errors"]]
    lines += [
        "",
        f"## Failures ({len(report['failures'])})",
        "",
        "| file | field | expected | got | path |",
        "| --- | --- | --- | --- | --- |",
    ]
    for f in report["failures"][:max_failures]:
        lines.append(f"| {f['file']} | {f['field']} | {f['expected']} | {f['got']} | {f['path_taken']} |")
    if len(report["failures"]) > max_failures:
        lines.append(f"| … {len(report['failures']) - max_failures} more in the JSON report | | | | |")
    if report["spurious"]:
        lines += [
            "",
            f"## Spurious values ({len(report['spurious'])}): read where the document prints none",
            "",
        ]
        lines += [f"- {s['file']}: {s['field']} = {s['got']}" for s in report["spurious"][:100]]
    return "\n".join(lines) + "\n"
