"""What ages in this domain is the supplier master, not the extractor: its staleness curve and age check.

The OCR engine and the layout rules do not drift with time; the **supplier master** the booking
rules check every invoice against does. Suppliers change bank accounts and new suppliers start
sending invoices; an invoice checked against a master that has not been refreshed since goes to a
person (IBAN differs, supplier unknown), which costs straight-through processing. (Booking such an
invoice anyway would be worse: a changed IBAN is exactly what the fraud rule must catch.)

:func:`staleness_curve` measures that cost on time-ordered data: a week-by-week supplier history
(:func:`supplier_history`; rates :data:`BANK_CHANGES_PER_MONTH` and :data:`NEW_SUPPLIERS_PER_MONTH`
are the AP team's estimates, est.) and each month's invoices, checked by the real booking rules
against the master as it was *a* weeks earlier versus a fresh one. The value is the STP the aged
master costs; the card-side limit is :data:`MAX_STP_LOSS`. The curve is logged to MLflow with the
platform's :class:`~inloop.staleness.StalenessCurve`, and :func:`check_master_age` (run by every
processing run) alerts when the served master is older than the age limit the curve implies,
capped by :data:`CEILING` (which also catches a master refresh that simply stopped).
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import time
from typing import Any

from inloop.cards import Threshold
from inloop.readiness import rubric
from inloop.staleness import StalenessCurve, StalenessPoint, derived_threshold
from invoice_ocr.lib.extract import FIELDS
from invoice_ocr.lib.iban import make_iban
from invoice_ocr.lib.invoices import AS_OF, generate_invoice
from invoice_ocr.lib.suppliers import Supplier, generate_suppliers
from invoice_ocr.lib.validate import batch_frame, row_problems
from invoice_ocr.lib.workspace import Workspace

__all__ = ["BANK_CHANGES_PER_MONTH", "CEILING", "MAX_STP_LOSS", "NEW_SUPPLIERS_PER_MONTH", "STALENESS_FILE",
           "check_master_age", "log_curve", "staleness_curve", "supplier_history"]

#: Share of active suppliers that change their bank account in a month (est., AP team).
BANK_CHANGES_PER_MONTH = 0.015
#: New suppliers per month, as a share of the active ones (est., AP team).
NEW_SUPPLIERS_PER_MONTH = 0.025
#: An aged master may cost at most this much STP against a fresh one (2 points: about 80 extra reviews
#: a month at 4,000 invoices).
MAX_STP_LOSS = 0.02
#: The age the master may never exceed, whatever the curve says (days).
CEILING = Threshold(op="<=", value=90.0)
STALENESS_FILE = "master_staleness.json"
#: The history's time step (days): a week, so the limit is resolved to the week.
_STEP_DAYS = 7


def supplier_history(weeks: int, *, start: int = 40, seed: int = 7) -> list[list[Supplier]]:
    """The active suppliers (with their bank details) at the start of each week, oldest first."""
    rng = random.Random(f"supplier-history:{seed}")
    per_step = _STEP_DAYS / 30
    pool = generate_suppliers(start + weeks * max(1, round(start * NEW_SUPPLIERS_PER_MONTH * 3)), seed=seed)
    active = list(pool[:start])
    next_new = start
    history = [list(active)]
    for _ in range(weeks):
        for i, s in enumerate(active):
            if rng.random() < BANK_CHANGES_PER_MONTH * per_step:
                # Another account at the same bank: the BBAN's digits reversed, its letters (bank codes) kept,
                # so the new IBAN still has the country's BBAN format.
                bban = re.sub(r"\d+", lambda m: m.group(0)[::-1], s.iban[4:])
                active[i] = dataclasses.replace(s, iban=make_iban(s.iban[:2], bban))
        newcomers = sum(rng.random() < NEW_SUPPLIERS_PER_MONTH * per_step for _ in range(len(active)))
        active += pool[next_new:next_new + newcomers]
        next_new += newcomers
        history.append(list(active))
    return history


def _stp(invoices: list[dict[str, Any]], master: list[Supplier]) -> float:
    """Share of these (genuine, correctly read) invoices the booking rules book against ``master``."""
    items = [{"invoice_id": i, "fields": {f: {"value": inv[f], "confidence": 0.98} for f in FIELDS}}
             for i, inv in enumerate(invoices)]
    frame = batch_frame(items, [s.to_dict() for s in master], AS_OF)
    return sum(1 for _, row in frame.iterrows() if not row_problems(row)) / len(frame)


@rubric("model-4", how="manual", what="`python -m invoice_ocr staleness`: supplier-master age vs STP curve from a week-by-week supplier history "
        "and each month's invoices through the booking rules; logged to MLflow with the derived age limit")
def staleness_curve(*, snapshots: int = 4, max_age_weeks: int = 12, invoices_per_week: int = 100,
                    seed: int = 7) -> StalenessCurve:
    """For masters taken at several weeks, the STP they cost on each later week's invoices."""
    if snapshots < 1 or max_age_weeks < 1 or invoices_per_week < 1:
        raise ValueError("snapshots, max_age_weeks and invoices_per_week must be at least 1")
    history = supplier_history(snapshots + max_age_weeks, seed=seed)
    weekly = [[generate_invoice(w * 10_000 + i, history[w], 42).ground_truth() for i in range(invoices_per_week)]
              for w in range(len(history))]
    points = []
    for taken in range(snapshots):
        for age in range(max_age_weeks + 1):
            week = taken + age
            aged, fresh = _stp(weekly[week], history[taken]), _stp(weekly[week], history[week])
            points.append(StalenessPoint(trained_until=f"week-{taken}", age_days=float(age * _STEP_DAYS),
                                         quality=aged, value=aged - fresh, rows=len(weekly[week])))
    return StalenessCurve("stp_rate", "STP change vs a fresh master", Threshold(op=">=", value=-MAX_STP_LOSS),
                          tuple(points))


def log_curve(workspace: Workspace, curve: StalenessCurve) -> dict[str, Any]:
    """Store the curve in MLflow (CSV, PNG, the limit) and the limit beside the served master."""
    from inloop.tracking import start_run

    with start_run("invoice_ocr", "supplier-master-staleness", tags={"inloop.kind": "staleness"}) as run:
        run_id = run.info.run_id
    curve.log_to_run(run_id)
    record = {"limit_days": curve.limit_days, "censored": curve.censored, "run_id": run_id,
              "describe": curve.describe(), "max_stp_loss": MAX_STP_LOSS}
    (workspace.prepare().root / STALENESS_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
    return record


@rubric("monitor-4", how="automated", what="every processing run: the supplier master's age against the limit "
        "from its staleness curve (capped by a 90-day ceiling); too old raises an alert")
def check_master_age(workspace: Workspace, now: float | None = None, *, alert: bool = True) -> dict[str, Any]:
    """The served master's age (days since it was written) against the derived limit; alerts when too old."""
    path = workspace.supplier_master_path
    if not path.exists():
        raise FileNotFoundError(f"no supplier master at {path}: materialize invoice_ocr/supplier_master first")
    age = ((now or time.time()) - path.stat().st_mtime) / 86_400
    record_path = workspace.root / STALENESS_FILE
    limit = json.loads(record_path.read_text(encoding="utf-8")).get("limit_days") if record_path.exists() else None
    threshold = derived_threshold(limit, CEILING) or CEILING
    source = "the staleness curve" if limit is not None else "the ceiling (no curve logged yet)"
    result = {"age_days": round(age, 2), "threshold": f"{threshold.op} {threshold.value:g} days", "from": source,
              "passed": threshold.holds(age)}
    if not result["passed"] and alert:
        from inloop.alerts import raise_alert

        raise_alert(domain="invoice_ocr", source="staleness", cause_key="invoice_ocr:supplier-master-age",
                    title=f"Supplier master is {age:.0f} days old (limit {threshold.value:g} days)",
                    message=f"The supplier master was last written {age:.1f} days ago; the limit from {source} is "
                            f"{threshold.op} {threshold.value:g} days. Refresh it from the ERP (materialize "
                            "invoice_ocr/supplier_master): invoices from suppliers that changed since go to review.",
                    severity="WARN", evidence=result)
    return result
