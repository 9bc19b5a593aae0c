"""Forgetting a person: the deletion register, the platform's stores, and each domain's own.

:func:`forget` records the request in the deletion register *first* (so a training run that
starts meanwhile already leaves the person out), then removes or anonymises the subject in

* the prediction log (entries whose ``subject_id`` is the person; inputs, outputs, request ids),
* labels (by subject, and every label of a removed prediction),
* bug reports (the link to a removed prediction, mentions of the person in the text and the
  status notes, and the screenshot, which cannot be redacted and is deleted),
* alerts (mentions of the person or of a removed request id in title, message and evidence) and
  check results (failing examples kept in their details),
* spilled prediction-log lines and generated reports under the data directory,
* the domain's own stores, through its ``subject_eraser`` hook (:class:`SubjectEraser`):
  parquet/CSV files under its data folder, its pipelines' stored outputs, anything else it names,

and finally scans every store again: the receipt says per store what was removed and what is
still there (0 everywhere, or the request is ``incomplete`` and the CLI/API say so). Asking
again is safe: it scans again, removes what reappeared, and counts one more run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from inloop import db
from inloop import domains as domain_registry
from inloop.db.models import (
    Alert,
    BugReport,
    BugReportEvent,
    CheckResult,
    Label,
    Prediction,
    SubjectErasure,
    utcnow,
)
from inloop.privacy import stores
from inloop.readiness import rubric
from inloop.settings import get_settings

__all__ = ["ErasureError", "ErasureReceipt", "StoreReceipt", "SubjectEraser", "drop_erased", "erased_count",
           "find_erased", "forget", "locate", "subject_key"]

HOOK = "subject_eraser"
#: Said on every receipt (docs/privacy.md, "What is not covered").
PLATFORM_NOT_COVERED = (
    "Dagster's event log and compute logs (run metadata; pipelines keep subject ids out of it)",
    "model versions already in MLflow (they hold no rows; the next training run is without the subject)",
    "database backups and PostgreSQL dead rows until VACUUM (they age out with their retention)",
)
_DEFAULT_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


class ErasureError(ValueError):
    """A request that cannot be carried out (unknown domain, bad id, no eraser); nothing was changed."""

    def __init__(self, message: str, *, status_code: int = 422) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass
class StoreReceipt:
    """What one store held of the subject: removed in this run, and still there afterwards."""

    store: str
    action: str  # "deleted", "anonymised", "rewritten"
    removed: int = 0
    files: int = 0
    remaining: int = 0
    detail: str = ""


@dataclass
class ErasureReceipt:
    domain: str
    subject_id: str
    erasure_id: int
    status: str  # "done" | "incomplete"
    requested_at: dt.datetime
    completed_at: dt.datetime
    runs: int
    already_erased: bool
    stores: list[StoreReceipt] = field(default_factory=list)
    #: what this erasure does not reach, said to the requester rather than left out of the receipt
    not_covered: list[str] = field(default_factory=list)

    @property
    def removed(self) -> int:
        return sum(s.removed for s in self.stores)

    @property
    def remaining(self) -> int:
        return sum(s.remaining for s in self.stores)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["requested_at"], out["completed_at"] = self.requested_at.isoformat(), self.completed_at.isoformat()
        out["removed"], out["remaining"] = self.removed, self.remaining
        return out

    def lines(self) -> list[str]:
        head = (f"{self.domain}: subject {self.subject_id} — {self.status.upper()} "
                f"(erasure #{self.erasure_id}, run {self.runs}{', already erased before' if self.already_erased else ''})")
        rows = [f"  {s.store:<34} {s.action:<11} removed {s.removed:>6}"
                + (f" in {s.files} file(s)" if s.files else "") + f", remaining {s.remaining}"
                + (f"  ({s.detail})" if s.detail else "") for s in self.stores]
        notes = [f"  not covered: {note}" for note in self.not_covered]
        return [head, *rows, f"  total removed {self.removed}, remaining {self.remaining}", *notes]


def subject_key(domain: str, subject_id: str) -> str:
    """What the register keeps instead of the id: SHA-256 of ``domain:subject_id``."""
    return hashlib.sha256(f"{domain}:{subject_id}".encode()).hexdigest()


class SubjectEraser:
    """A domain's subject stores, for the ``subject_eraser`` field of its :class:`~inloop.domains.DomainPlugin`.

    The defaults cover the usual shapes: the subject id sits in ``key_columns`` of the domain's
    parquet files and pipeline outputs and is the prediction log's ``subject_id``; free text names
    it verbatim. Override :meth:`log_subject_ids`, :meth:`mentions`, :meth:`normalise` or add
    stores in :meth:`erase_extra` / :meth:`find_extra` where a domain differs.
    """

    #: what a subject is, in the domain's words (receipts and docs)
    subject: str = "subject"
    #: columns (frames) and attributes (records) that hold the subject id
    key_columns: tuple[str, ...] = ()
    id_pattern: re.Pattern[str] = _DEFAULT_ID

    def __init__(self, domain: str) -> None:
        self.domain = domain

    # identity --------------------------------------------------------------------------------
    def normalise(self, subject_id: str) -> str:
        value = (subject_id or "").strip()
        if not self.id_pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid {self.subject} id for {self.domain} "
                             f"(expected {self.id_pattern.pattern})")
        return value

    def log_subject_ids(self, subject_id: str) -> list[str]:
        """How the subject appears in the prediction log's and labels' ``subject_id`` column."""
        return [subject_id]

    def mentions(self, subject_id: str) -> list[re.Pattern[str]]:
        """How free text (bug reports, reports, drafts) names the subject."""
        return [re.compile(rf"(?<![A-Za-z0-9._:-]){re.escape(subject_id)}(?![A-Za-z0-9_-])")]

    def matches(self, subject_id: str, value: Any) -> bool:
        """Whether a key-column value is this subject (compared as text: ints and strings alike)."""
        if value is None or (isinstance(value, float) and value != value):
            return False
        return str(value) == subject_id

    # stores ---------------------------------------------------------------------------------
    def data_dir(self) -> Path:
        return get_settings().domain_dir(self.domain)

    def stored_output_files(self) -> list[Path]:
        """Files Dagster's filesystem IO manager keeps for the domain's assets."""
        storage = get_settings().dagster_home_dir / "storage"
        if not storage.is_dir():
            return []
        keys = []
        for asset in domain_registry.get_domain(self.domain).definitions().assets or []:
            keys.extend(getattr(asset, "keys", ()) or ())
        out = []
        for key in keys:
            path = storage.joinpath(*key.path)
            if path.is_file():
                out.append(path)
            elif path.is_dir():  # partitioned assets keep one file per partition
                out.extend(p for p in path.rglob("*") if p.is_file())
        return sorted(out)

    def _run(self, subject_id: str, *, erase: bool) -> list[StoreReceipt]:
        """Each store: in a scan (``erase=False``) a file that cannot be read counts as still holding them."""
        match = partial(self.matches, subject_id)
        root = self.data_dir()
        bad: list[Path] = []
        rows, files = stores.scrub_parquet_tree(root, self.key_columns, match, erase=erase, unreadable=bad)
        out = [StoreReceipt(f"{self.domain}: parquet files", "deleted", rows + (0 if erase else len(bad)), files,
                            detail=f"rows keyed by {', '.join(self.key_columns)} under {root}" + _unreadable(bad))]
        mentions, files = stores.scrub_text_tree(root, self.mentions(subject_id), erase=erase)
        out.append(StoreReceipt(f"{self.domain}: text/CSV files", "anonymised", mentions, files,
                                detail="CSV/JSONL lines deleted, mentions in other text replaced"))
        outputs, bad = self.stored_output_files(), []
        rows, files = stores.scrub_pickle_files(outputs, self.key_columns, match, erase=erase, unreadable=bad)
        out.append(StoreReceipt(f"{self.domain}: pipeline outputs", "deleted", rows + (0 if erase else len(bad)),
                                files, detail=f"Dagster-stored asset values ({len(outputs)} files scanned)"
                                + _unreadable(bad)))
        return out + (self.erase_extra(subject_id) if erase else self.find_extra(subject_id))

    def erase(self, subject_id: str) -> list[StoreReceipt]:
        return self._run(subject_id, erase=True)

    def find(self, subject_id: str) -> list[StoreReceipt]:
        """The same stores, counted, nothing changed (the verification scan)."""
        return self._run(subject_id, erase=False)

    def erase_extra(self, subject_id: str) -> list[StoreReceipt]:
        return []

    def not_covered(self) -> list[str]:
        """Stores this eraser knows it does not reach (shown on every receipt)."""
        return []

    def find_extra(self, subject_id: str) -> list[StoreReceipt]:
        return []


def _unreadable(paths: list[Path]) -> str:
    if not paths:
        return ""
    names = ", ".join(p.name for p in paths[:3]) + (f" (+{len(paths) - 3})" if len(paths) > 3 else "")
    return f"; {len(paths)} unreadable file(s), not vouched for: {names}"


def _domain_stores(eraser: SubjectEraser, subject_id: str, *, erase: bool) -> list[StoreReceipt]:
    """The domain's stores; an eraser that fails is a store that still holds the subject, not a crash."""
    try:
        return eraser.erase(subject_id) if erase else eraser.find(subject_id)
    except Exception as exc:
        return [StoreReceipt(f"{eraser.domain}: domain stores", "failed", remaining=1,
                             detail=f"{type(exc).__name__}: {exc}"[:500])]


# The platform's own stores ----------------------------------------------------------------------


def _redact(text: str | None, patterns: Sequence[re.Pattern[str]]) -> tuple[str | None, int]:
    if not text:
        return text, 0
    hits = 0
    for pattern in patterns:
        text, n = pattern.subn(stores.REDACTED, text)
        hits += n
    return text, hits


def _redact_json(value: Any, patterns: Sequence[re.Pattern[str]]) -> tuple[Any, int]:
    raw = json.dumps(value, ensure_ascii=False)
    new, hits = _redact(raw, patterns)
    return (json.loads(new) if hits else value), hits


def _platform_stores(domain: str, log_ids: list[str], patterns: list[re.Pattern[str]], *, erase: bool,
                     db_url: str | None) -> list[StoreReceipt]:
    settings = get_settings()
    out: list[StoreReceipt] = []
    context = db.session(db_url) if erase else db.read_session(db_url)
    with context as sess:
        if erase and sess.get_bind().dialect.name == "sqlite":
            # Deleted rows would otherwise stay readable in free pages of the database file.
            sess.execute(sa.text("PRAGMA secure_delete = ON"))
        # Prediction log: inputs, outputs and request ids of the subject's predictions.
        where = sa.and_(Prediction.domain == domain, Prediction.subject_id.in_(log_ids))
        request_ids = list(sess.scalars(sa.select(Prediction.request_id).where(where)))
        if erase and request_ids:
            sess.execute(sa.delete(Prediction).where(where))
        out.append(StoreReceipt("prediction log", "deleted", len(request_ids),
                                detail="entries with their inputs, outputs and request ids"))
        rid_patterns = [re.compile(re.escape(r)) for r in request_ids]
        text_patterns = [*patterns, *rid_patterns]

        # Labels: by subject, and every label of one of the removed predictions.
        label_where = sa.and_(Label.domain == domain, sa.or_(
            Label.subject_id.in_(log_ids), Label.request_id.in_(request_ids) if request_ids else sa.false()))
        labels = sess.scalar(sa.select(sa.func.count()).select_from(Label).where(label_where)) or 0
        if erase and labels:
            sess.execute(sa.delete(Label).where(label_where))
        out.append(StoreReceipt("labels", "deleted", labels, detail="observed outcomes"))

        # Bug reports: the link to a removed prediction, mentions in text and notes, the screenshot.
        reports = sess.scalars(sa.select(BugReport).where(BugReport.domain == domain)).all()
        touched = mentions = shots = 0
        orphan_candidates: set[str] = set()
        for report in reports:
            linked = report.request_id is not None and report.request_id in request_ids
            text, hits = _redact(report.text, text_patterns)
            events = sess.scalars(sa.select(BugReportEvent).where(BugReportEvent.bug_report_id == report.id)).all()
            event_hits = 0
            for event in events:
                note, n = _redact(event.note, text_patterns)
                event_hits += n
                if erase and n:
                    event.note = note
            if not (linked or hits or event_hits):
                continue
            touched += 1
            mentions += hits + event_hits
            if report.screenshot_path:
                shots += 1
            if erase:
                report.text = text or ""
                if linked:
                    report.request_id = None
                if report.screenshot_path:
                    orphan_candidates.add(report.screenshot_path)
                    report.screenshot_path = report.screenshot_sha256 = report.screenshot_media_type = None
                report.updated_at = utcnow()
        if erase and orphan_candidates:
            sess.flush()
            still_used = set(sess.scalars(sa.select(BugReport.screenshot_path)
                                          .where(BugReport.screenshot_path.in_(orphan_candidates))))
            for relative in orphan_candidates - still_used:
                (settings.files_dir / relative).unlink(missing_ok=True)
        out.append(StoreReceipt("bug reports", "anonymised", touched,
                                detail=f"{mentions} mention(s) redacted, {shots} screenshot(s) deleted, "
                                       "links to removed predictions cleared"))

        # Alerts: mentions in title, message and evidence.
        alert_hits = 0
        for alert in sess.scalars(sa.select(Alert).where(Alert.domain == domain)).all():
            title, a = _redact(alert.title, text_patterns)
            message, b = _redact(alert.message, text_patterns)
            evidence, c = _redact_json(alert.evidence, text_patterns)
            if a + b + c:
                alert_hits += 1
                if erase:
                    alert.title, alert.message, alert.evidence = title or "", message or "", evidence
        out.append(StoreReceipt("alerts", "anonymised", alert_hits, detail="mentions in title, message, evidence"))

        # Check results: failing examples (e.g. a duplicated id) are kept in their details.
        check_hits = 0
        for result in sess.scalars(sa.select(CheckResult).where(CheckResult.domain == domain)).all():
            details, n = _redact_json(result.details, text_patterns)
            if n:
                check_hits += 1
                if erase:
                    result.details = details
        out.append(StoreReceipt("check results", "anonymised", check_hits, detail="examples in the metric history"))

    if erase:
        out.append(_compact_database(db_url))

    # Prediction-log lines spilled to disk while the database was down.
    log_set = set(log_ids)

    def spilled_line(line: str) -> bool:
        try:
            entry = json.loads(line)
        except ValueError:
            return False
        return isinstance(entry, dict) and entry.get("domain") == domain and entry.get("subject_id") in log_set

    spill_rows = spill_files = 0
    for path in sorted((settings.data_dir / "spill").glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if not spilled_line(line)]
        if len(kept) != len(lines):
            spill_rows, spill_files = spill_rows + len(lines) - len(kept), spill_files + 1
            if erase:
                stores._atomic_write(path, lambda h, kept=kept: h.write("".join(kept)), mode="w")
    out.append(StoreReceipt("prediction log spill files", "deleted", spill_rows, spill_files))

    # Generated reports: the domain's (data-quality examples, exports) and the shared ones (drift HTML).
    hits, files = stores.scrub_text_tree(settings.reports_dir, text_patterns, erase=erase)
    out.append(StoreReceipt("reports", "anonymised", hits, files, detail=f"text and HTML under {settings.reports_dir}"))
    return out


def _compact_database(db_url: str | None) -> StoreReceipt:
    """SQLite keeps old page versions in its write-ahead log: fold it into the (zeroed) file and empty it."""
    eng = db.engine(db_url)
    if eng.dialect.name != "sqlite":
        return StoreReceipt("database files", "deleted", detail="PostgreSQL: dead rows are reclaimed by (auto)VACUUM; "
                            "backups and WAL archives age out with their retention (docs/privacy.md)")
    raw = eng.raw_connection()
    try:
        cursor = raw.cursor()
        busy, frames, done = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    finally:
        raw.close()
    detail = ("deleted rows zeroed (secure_delete), write-ahead log checkpointed and emptied" if not busy else
              f"write-ahead log busy (readers active): {done} of {frames} frames checkpointed; run again later")
    return StoreReceipt("database files", "deleted", remaining=0 if not busy else 1, detail=detail)


# The request ----------------------------------------------------------------------------------


def _eraser(domain: str) -> SubjectEraser:
    try:
        dom = domain_registry.get_domain(domain)
    except domain_registry.UnknownDomainError as exc:
        raise ErasureError(str(exc), status_code=404) from None
    if dom.subject_eraser is None:
        raise ErasureError(
            f"domain {domain!r} declares no person-level subjects (no {HOOK!r} in its DomainPlugin), so there is "
            "nothing to erase by subject id; see docs/privacy.md", status_code=404)
    return dom.subject_eraser()


def _validate_text(name: str, value: str | None, *, minimum: int, maximum: int) -> str:
    value = (value or "").strip()
    if len(value) < minimum:
        raise ErasureError(f"{name}: say {'why' if name == 'reason' else 'who asks'} (at least {minimum} characters)")
    if len(value) > maximum:
        raise ErasureError(f"{name}: at most {maximum} characters")
    return value


def _merge(done: list[StoreReceipt], found: list[StoreReceipt]) -> list[StoreReceipt]:
    remaining = {s.store: s.removed + s.remaining for s in found}
    for receipt in done:
        receipt.remaining = max(receipt.remaining, remaining.pop(receipt.store, 0))
    return done + [StoreReceipt(store, "found", 0, remaining=n) for store, n in remaining.items() if n]


def _register(domain: str, key: str, reason: str, requested_by: str,
              db_url: str | None) -> tuple[int, dt.datetime, int]:
    """The register row for the subject (created if new): (id, first requested at, runs so far)."""
    for attempt in (1, 2):
        try:
            with db.session(db_url) as sess:
                row = sess.scalars(sa.select(SubjectErasure).where(SubjectErasure.domain == domain,
                                                                   SubjectErasure.subject_key == key)).one_or_none()
                if row is None:
                    row = SubjectErasure(domain=domain, subject_key=key, reason=reason, requested_by=requested_by,
                                         status="pending", runs=0, receipt={})
                    sess.add(row)
                    sess.flush()
                return row.id, row.requested_at, row.runs
        except sa.exc.IntegrityError:
            if attempt == 2:  # a concurrent request created it: the second pass reads it
                raise
    raise AssertionError("unreachable")


@rubric("data-5", what="forget(): deletes or anonymises a person in every store, records it in the deletion "
        "register and proves, by scanning again, that nothing is left", how="manual")
def forget(domain: str, subject_id: str, *, reason: str, requested_by: str, db_url: str | None = None) -> ErasureReceipt:
    """Erase ``subject_id`` from ``domain``'s stores; returns the per-store receipt.

    Raises :class:`ErasureError` before changing anything when the domain, id, reason or
    requester is not acceptable. Idempotent: a repeat scans again and removes what reappeared.
    """
    reason = _validate_text("reason", reason, minimum=3, maximum=2000)
    requested_by = _validate_text("requested_by", requested_by, minimum=1, maximum=200)
    eraser = _eraser(domain)
    try:
        subject_id = eraser.normalise(subject_id)
    except ValueError as exc:
        raise ErasureError(str(exc)) from None
    key = subject_key(domain, subject_id)

    # 1. the register first: from now on training runs leave the subject out
    erasure_id, requested_at, previous_runs = _register(domain, key, reason, requested_by, db_url)

    # 2. remove, 3. scan again
    log_ids, patterns = eraser.log_subject_ids(subject_id), eraser.mentions(subject_id)
    done = (_platform_stores(domain, log_ids, patterns, erase=True, db_url=db_url)
            + _domain_stores(eraser, subject_id, erase=True))
    found = (_platform_stores(domain, log_ids, patterns, erase=False, db_url=db_url)
             + _domain_stores(eraser, subject_id, erase=False))
    receipts = _merge(done, found)
    status = "done" if not sum(r.remaining for r in receipts) else "incomplete"
    completed_at = utcnow()

    # 4. the register keeps the receipt (counts per store; never the id itself)
    with db.session(db_url) as sess:
        row = sess.get(SubjectErasure, erasure_id)
        assert row is not None
        history = list(row.receipt.get("runs", []))
        history.append({"at": completed_at.isoformat(), "requested_by": requested_by, "reason": reason,
                        "status": status, "stores": [asdict(r) for r in receipts]})
        row.receipt = {"runs": history[-20:]}
        row.status, row.completed_at, row.runs = status, completed_at, row.runs + 1
        runs = row.runs
    return ErasureReceipt(domain, subject_id, erasure_id, status, requested_at, completed_at,
                          runs, previous_runs > 0, receipts, [*PLATFORM_NOT_COVERED, *eraser.not_covered()])


def locate(domain: str, subject_id: str, db_url: str | None = None) -> list[StoreReceipt]:
    """Where ``subject_id`` is, per store, without changing anything (``inloop forget --dry-run``).

    Each receipt's ``remaining`` is what an erasure would remove now. Nothing is written, not
    even to the register.
    """
    eraser = _eraser(domain)
    try:
        subject_id = eraser.normalise(subject_id)
    except ValueError as exc:
        raise ErasureError(str(exc)) from None
    found = (_platform_stores(domain, eraser.log_subject_ids(subject_id), eraser.mentions(subject_id), erase=False,
                              db_url=db_url) + _domain_stores(eraser, subject_id, erase=False))
    return [StoreReceipt(s.store, s.action, 0, s.files, s.removed + s.remaining, s.detail) for s in found]


# What training pipelines call ------------------------------------------------------------------


def _erased_keys(domain: str, db_url: str | None = None) -> set[str]:
    with db.read_session(db_url) as sess:
        return set(sess.scalars(sa.select(SubjectErasure.subject_key).where(SubjectErasure.domain == domain)))


def erased_count(domain: str, db_url: str | None = None) -> int:
    return len(_erased_keys(domain, db_url))


def find_erased(domain: str, subject_ids: Iterable[Any], db_url: str | None = None) -> list[str]:
    """The ids in ``subject_ids`` that were erased from ``domain`` (each once, sorted)."""
    keys = _erased_keys(domain, db_url)
    if not keys:
        return []
    return sorted({str(s) for s in subject_ids if s is not None and subject_key(domain, str(s)) in keys})


def drop_erased(domain: str, frame: pd.DataFrame, column: str, db_url: str | None = None) -> tuple[pd.DataFrame, int]:
    """``frame`` without rows whose ``column`` names an erased subject, and how many were dropped."""
    if column not in frame.columns:
        raise KeyError(f"drop_erased: no column {column!r} in the frame (columns: {', '.join(map(str, frame.columns))})")
    erased = set(find_erased(domain, frame[column].unique(), db_url))
    if not erased:
        return frame, 0
    mask = frame[column].astype(str).isin(erased)
    return frame.loc[~mask].reset_index(drop=True), int(mask.sum())
