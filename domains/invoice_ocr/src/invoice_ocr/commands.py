"""Command line for the invoice pipeline: ``python -m invoice_ocr <command>``.

Also meant to be mounted by the platform CLI (``inloop invoice ...``): :data:`app` is a Typer app.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from invoice_ocr.lib.workspace import Workspace

app = typer.Typer(help="invoice_ocr: intake, processing, the review queue and the evaluation.", no_args_is_help=True)
review_app = typer.Typer(help="The clerk's review queue.", no_args_is_help=True)
app.add_typer(review_app, name="review")

RootOption = Annotated[Path | None, typer.Option("--root", help="Installation folder (default: the data dir's).")]


def _workspace(root: Path | None) -> Workspace:
    """The default workspace, or its databases and stored files (as configured) with another folder."""
    import dataclasses

    default = Workspace.default()
    return dataclasses.replace(default, root=root.resolve()) if root else default


@app.command()
def intake(root: RootOption = None, settle_seconds: float = 2.0) -> None:
    """Take settled files from the inbox into the ledger (durably), then remove them from the inbox."""
    from invoice_ocr.lib.intake import take_inbox

    scan = take_inbox(_workspace(root), settle_seconds=settle_seconds)
    typer.echo(f"taken {len(scan.taken)} ({len(scan.new)} new, {len(scan.taken) - len(scan.new)} duplicate "
               f"submissions); still being written: {len(scan.still_writing)}; failed: {len(scan.failed)}; "
               f"refused at the door: {len(scan.refused)}")
    for name, error in scan.failed.items():
        typer.echo(f"  could not take {name} (tried again next scan): {error}", err=True)
    for name, refusal in scan.refused.items():
        typer.echo(f"  refused at the door: {name}: {refusal.reason}; to do: {refusal.action}", err=True)


@app.command()
def read(files: Annotated[list[Path], typer.Argument(help="Invoice files: PDF (e-invoice, born-digital or scanned), "
                                                          "image, or UBL/CII XML.", show_default=False)],
         root: RootOption = None,
         json_: Annotated[bool, typer.Option("--json", help="A JSON array, one object per file.")] = False,
         ) -> None:
    """What the machine reads from each file (fields with confidence and source, the path taken, the reasons it
    would go to review), without booking anything or writing to the ledger. Exit 1 if any file was unreadable."""
    from invoice_ocr.lib.reading import read_invoice

    suppliers = _suppliers_if_any(_workspace(root))
    engine = None
    results = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            from invoice_ocr.lib.reading import InvoiceReading

            reading = InvoiceReading(file=str(path), path_taken="unreadable", error=f"cannot open the file ({exc})",
                                     error_kind="cannot_open", review_reasons=[f"cannot_open: {exc}"])
        else:
            if engine is None:
                from invoice_ocr.lib.ocr import OcrEngine

                engine = OcrEngine()  # created once; its models load only if a file needs OCR
            reading = read_invoice(data, str(path), suppliers=suppliers, engine=engine)
        results.append(reading)
        if not json_:
            _echo_reading(reading)
    if json_:
        typer.echo(json.dumps([r.to_json() for r in results], indent=2, ensure_ascii=False))
    raise typer.Exit(1 if any(r.path_taken == "unreadable" for r in results) else 0)


def _suppliers_if_any(workspace: Workspace) -> list[dict]:  # type: ignore[type-arg]
    """The served supplier master, or none (reading works without one; the supplier stays unknown)."""
    path = workspace.supplier_master_path
    if not path.exists():
        return []
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        typer.echo(f"warning: the supplier master at {path} cannot be read ({exc}); reading without it", err=True)
        return []


def _echo_reading(reading) -> None:  # type: ignore[no-untyped-def]
    typer.echo(f"{reading.file}: {reading.path_taken}" + (f" ({reading.language})" if reading.language else ""))
    if reading.error:
        typer.echo(f"  unreadable: {reading.error}")
        return
    for name, f in reading.fields.items():
        typer.echo(f"  {name:<15} {str(f.value):<30} {f.confidence:>5.2f}  {f.source[:60]}")
    for reason in reading.review_reasons:
        typer.echo(f"  review: {reason}")
    for note in reading.notes:
        typer.echo(f"  note: {note}")


@app.command()
def process(root: RootOption = None, limit: int = 0, erp_attempts: int = 4, erp_wait_s: float = 1.0,
            batch_size: int = 8) -> None:
    """Process every pending invoice (OCR, extraction, validation, booking or review)."""
    from invoice_ocr.lib.pipeline import InvoiceProcessor, ProcessingConfig

    summary = InvoiceProcessor(_workspace(root), config=ProcessingConfig(
        erp_attempts=erp_attempts, erp_wait_initial_s=erp_wait_s, batch_size=batch_size)).run(limit=limit or None)
    typer.echo(f"processed {summary.processed}: booked {summary.booked}, review {summary.needs_review} "
               f"{summary.review_reasons or ''}; resumed {summary.resumed}; {summary.seconds:.1f} s")
    from invoice_ocr.lib.clerk_notifications import notify_clerks

    for notice in notify_clerks(_workspace(root)):
        typer.echo(f"clerk notified (alert #{notice.alert_id}, {', '.join(notice.routes)}): "
                   f"{len(notice.invoice_ids)} invoice(s) in review for {notice.reason_kind}")


@app.command()
def work(root: RootOption = None,
         workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes claiming invoices side by side.")] = 1,
         until_idle: Annotated[bool, typer.Option(help="Stop when nothing is pending (default: keep polling).")] = False,
         poll_seconds: Annotated[float, typer.Option(min=0.1, help="Wait between polls when idle.")] = 2.0,
         lease_seconds: Annotated[float, typer.Option(min=5, help="How long a claim holds without a heartbeat.")] = 60.0,
         batch_size: Annotated[int, typer.Option(min=1, max=256)] = 8,
         erp_attempts: Annotated[int, typer.Option(min=1)] = 4,
         erp_wait_s: Annotated[float, typer.Option(min=0)] = 1.0) -> None:
    """Process invoices with N concurrent workers (claims are leases renewed by heartbeat; a dead worker's are
    taken over). SIGTERM or Ctrl-C stops them cleanly: each finishes the invoices it holds."""
    from invoice_ocr.lib.pipeline import ProcessingConfig
    from invoice_ocr.lib.workers import StopFlag, run_worker, supervise, worker_command

    config = ProcessingConfig(erp_attempts=erp_attempts, erp_wait_initial_s=erp_wait_s, batch_size=batch_size,
                              lease_seconds=lease_seconds)
    stop = StopFlag().install()
    if workers == 1:
        import os

        typer.echo(f"worker {os.getpid()} ready")
        report = run_worker(_workspace(root), config, stop=stop, until_idle=until_idle, poll_seconds=poll_seconds)
        typer.echo(f"worker done: processed {report.processed}: booked {report.booked}, review {report.needs_review}; "
                   f"resumed {report.resumed}; claims lost {report.claims_lost}; "
                   f"database outages waited out {report.database_outages}")
        return
    command = worker_command(str(root.resolve()) if root else None, config, until_idle=until_idle,
                             poll_seconds=poll_seconds)
    counts = supervise(command, workers, until_idle=until_idle, stop=stop, echo=typer.echo)
    typer.echo(f"workers done: started {counts['started']}, replaced {counts['replaced']}, "
               f"finished {counts['finished']}, killed at stop {counts['killed']}")


@app.command("move-storage")
def move_storage_command(
        to_database: Annotated[str, typer.Option(help="Target database for the ledger (and the ERP stand-in), "
                                                      "e.g. postgresql://user@host/invoices.")],
        to_files: Annotated[str, typer.Option(help="Target for the stored files: s3://bucket/prefix or a folder.")],
        to_erp_database: Annotated[str | None, typer.Option(help="A separate database for the ERP stand-in.")] = None,
        root: RootOption = None) -> None:
    """Copy this installation's ledger, ERP stand-in and stored files to new places, then verify counts and
    hashes. Refuses a target that already holds data; the source stays as it is."""
    from inloop.settings import get_settings
    from inloop.stored_files import DamagedFile
    from invoice_ocr.lib.move_storage import TargetNotEmpty, move_storage

    try:
        report = move_storage(_workspace(root), to_database=to_database, to_files=to_files,
                              to_erp_database=to_erp_database, files_endpoint_url=get_settings().mlflow_s3_endpoint_url)
    except (TargetNotEmpty, DamagedFile, ValueError) as exc:
        typer.echo(f"not moved: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"moved and verified: {', '.join(f'{k} {n}' for k, n in report.rows.items())}; {report.files} stored "
               f"files (every hash checked) to {report.files_url}")
    typer.echo(f"now set INLOOP_INVOICE_LEDGER_URL={report.ledger_url} INLOOP_INVOICE_ERP_URL={report.erp_url} "
               f"INLOOP_STORED_FILES_URL={report.files_url} (passwords not shown)")


@app.command()
def status(root: RootOption = None) -> None:
    """Reconciliation: received = booked + in review + rejected + in flight; files refused at the door beside it.

    Exits 1 when the gap is not 0. Refused entries (links, hidden files, devices left in the inbox) are
    not invoices received, so they do not fail the status, but each is listed with its reason on stderr.
    """
    from invoice_ocr.lib.monitoring import double_bookings, reconcile

    workspace = _workspace(root)
    recon = reconcile(workspace)
    typer.echo(json.dumps({**recon.to_dict(), "double_bookings": double_bookings(workspace)}, indent=2))
    for item in recon.refused:
        typer.echo(f"refused at the door: {item['name']} ({item['kind']}, since {item['first_seen'][:16]}): "
                   f"{item['reason']}; to do: {item['action']}", err=True)
    raise typer.Exit(1 if recon.gap else 0)


@app.command()
def explain(invoice_id: int, root: RootOption = None,
            boxes: Annotated[bool, typer.Option(help="Print every OCR text box too.")] = False) -> None:
    """Replay one invoice: OCR boxes, fields with confidence, each booking rule, the route, the diff to the ledger."""
    from invoice_ocr.lib.explain import explain as replay

    try:
        result = replay(_workspace(root), invoice_id)
    except KeyError as exc:
        typer.echo(f"no such invoice: {exc}", err=True)
        raise typer.Exit(1) from None
    if not boxes:
        result["ocr"]["boxes"] = f"{len(result['ocr']['boxes'])} boxes (--boxes to print them)"
    typer.echo(json.dumps(result, indent=2, default=str))
    raise typer.Exit(0 if result["replay_matches_record"] or not result["recorded"]["has_fields"] else 2)


@app.command("tune-policy")
def tune_policy(root: RootOption = None, invoices: int = 40, seed: int = 42, budget: int = 6,
                adopt: Annotated[bool, typer.Option(help="Serve the best policy if it passes every gate.")] = True,
                ) -> None:
    """Tune the review cut-off on a synthetic evaluation set (trials to MLflow), gate it, and serve it if it passes."""
    from invoice_ocr.lib import policy as P
    from invoice_ocr.lib.dataset import write_invoices
    from invoice_ocr.lib.invoices import AS_OF
    from invoice_ocr.lib.suppliers import generate_suppliers

    if invoices < 1 or budget < 1:
        typer.echo("--invoices and --budget must be at least 1", err=True)
        raise typer.Exit(2)
    workspace = _workspace(root).prepare()
    suppliers = generate_suppliers(40, seed=7)
    scans = write_invoices(invoices, suppliers, workspace.root / "evaluation" / f"seed-{seed}", seed=seed)
    cases = P.read_cases([g.path for g in scans])
    master = [s.to_dict() for s in suppliers]
    result = P.tune(cases, master, AS_OF, budget=budget, seed=seed, incumbent=P.load_policy(workspace))
    typer.echo(result.summary())
    if not adopt:
        return
    try:
        record = P.adopt(workspace, P.ReviewPolicy(**result.best_params), cases, master, AS_OF,
                         search_run_id=result.run_id)
    except P.PolicyRefused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"serving min_confidence={record['policy']['min_confidence']} (fingerprint {record['fingerprint']})")


@app.command("rollback-policy")
def rollback_policy(by: Annotated[str, typer.Option(help="Who rolls back.")], root: RootOption = None) -> None:
    """Serve the previously adopted review policy again (or the defaults); the next run uses it."""
    from invoice_ocr.lib.policy import rollback

    try:
        record = rollback(_workspace(root), by=by)
    except (LookupError, ValueError) as exc:
        typer.echo(f"not rolled back: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"serving min_confidence={record['policy']['min_confidence']} (fingerprint {record['fingerprint']}), "
               f"rolled back from {record['rolled_back_from']} by {by}")


@app.command("retention-sweep")
def retention_sweep(root: RootOption = None,
                    dry_run: Annotated[bool, typer.Option(help="Count what would be erased; change nothing.")] = False,
                    ) -> None:
    """Erase the content of finished invoices past the card's retention period (file, read fields, ERP IBAN)."""
    from invoice_ocr.lib.retention import sweep_retention

    receipt = sweep_retention(_workspace(root), dry_run=dry_run)
    typer.echo(f"retention {receipt.period_days} days: {len(receipt.expired)} invoice(s) "
               f"{'would be ' if dry_run else ''}erased; {receipt.kept_undecided} past the period kept "
               "(still undecided: in review or in flight)")
    for store in receipt.stores:
        typer.echo(f"  {store.store:<40} {store.action:<11} {store.removed:>5}  ({store.detail})")


@app.command()
def staleness(root: RootOption = None) -> None:
    """Measure what an aging supplier master costs in STP (curve to MLflow), then check the served master's age."""
    from invoice_ocr.lib.master_staleness import check_master_age, log_curve, staleness_curve

    workspace = _workspace(root)
    record = log_curve(workspace, staleness_curve())
    typer.echo(f"{record['describe']} (MLflow run {record['run_id']})")
    try:
        age = check_master_age(workspace)
    except FileNotFoundError as exc:
        typer.echo(f"no age check: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(age))
    raise typer.Exit(0 if age["passed"] else 1)


@review_app.command("list")
def review_list(root: RootOption = None) -> None:
    """Invoices waiting for a person, oldest first."""
    from invoice_ocr.lib.review import ReviewService

    queue = ReviewService(_workspace(root)).queue()
    if not queue:
        typer.echo("the review queue is empty")
    for item in queue:
        typer.echo(f"#{item.invoice_id:<6} {item.original_name:<32} {item.waiting_hours:>6.1f} h  "
                   f"{item.reason_kind}: {item.reason}")


@review_app.command("show")
def review_show(invoice_id: int, root: RootOption = None) -> None:
    """The file, the fields read (with confidence), the reason and the history of one invoice."""
    from invoice_ocr.lib.review import ReviewService

    typer.echo(json.dumps(ReviewService(_workspace(root)).show(invoice_id), indent=2, default=str))


@review_app.command("approve")
def review_approve(invoice_id: int, clerk: Annotated[str, typer.Option(help="Who approves.")],
                   set_: Annotated[list[str] | None, typer.Option("--set", help="field=value correction")] = None,
                   root: RootOption = None) -> None:
    """Correct fields (``--set total=123.45``) and book the invoice."""
    from invoice_ocr.lib.review import ReviewError, ReviewService

    corrections = {}
    for item in set_ or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--set takes field=value, got {item!r}")
        corrections[name.strip()] = value
    try:
        entry = ReviewService(_workspace(root)).approve(invoice_id, clerk, corrections)
    except (ReviewError, KeyError) as exc:
        typer.echo(f"not approved: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"#{entry.id} booked (ERP booking {entry.erp_booking_id})")


@review_app.command("reject")
def review_reject(invoice_id: int, clerk: Annotated[str, typer.Option(help="Who rejects.")],
                  notice: Annotated[str, typer.Option(help="Notice text for the supplier.")],
                  root: RootOption = None) -> None:
    """Reject with a notice to the supplier."""
    from invoice_ocr.lib.review import ReviewError, ReviewService

    try:
        entry = ReviewService(_workspace(root)).reject(invoice_id, clerk, notice)
    except (ReviewError, KeyError) as exc:
        typer.echo(f"not rejected: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"#{entry.id} rejected with notice")
