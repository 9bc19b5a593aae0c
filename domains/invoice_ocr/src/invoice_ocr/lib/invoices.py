"""Synthetic invoices: the content (seeded) and its ground truth.

Amounts are :class:`~decimal.Decimal` rounded half-up to cents, the way an ERP books them, so
``total == net + vat`` holds exactly in the ground truth.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from invoice_ocr.lib.suppliers import Supplier

__all__ = ["AS_OF", "BUYER", "Invoice", "LineItem", "cents", "format_amount", "format_date", "generate_invoice"]

#: Invoices are dated in the 180 days before this day, so a seed gives the same data on any day.
AS_OF = dt.date(2026, 10, 30)
BUYER = ("inloop Demo GmbH", "Accounts Payable", "Musterweg 1", "10115 Berlin", "Germany")
CENT = Decimal("0.01")

_CATALOGUE = (
    ("Copy paper A4 80 g, box of 5 x 500 sheets", 18, 42),
    ("Toner cartridge black, high yield", 60, 180),
    ("Consulting services (hours)", 85, 160),
    ("Pallet transport, regional", 90, 420),
    ("Cleaning service, monthly flat fee", 300, 1500),
    ("Steel bracket M8, galvanised (100 pcs)", 12, 40),
    ("Corrugated boxes 600x400x400 (bundle of 20)", 25, 60),
    ("Software licence, annual subscription", 200, 2400),
    ("Installation and setup", 150, 900),
    ("Cable duct 2 m, grey", 3, 9),
    ("Safety gloves size 9 (pair)", 2, 7),
    ("Catering for meeting, per person", 12, 35),
    ("Express delivery surcharge", 15, 45),
    ("Maintenance visit, technician", 120, 480),
    ("LED panel 60x60, 36 W", 35, 95),
    ("Office chair, ergonomic", 180, 650),
    ("Label rolls 100x50 mm", 8, 24),
    ("Printing of brochures, 1,000 copies", 250, 900),
    ("Cloud storage 1 TB, monthly", 8, 30),
    ("Drill bits HSS set, 25 pcs", 20, 75),
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def cents(value: Decimal | float | str | int) -> Decimal:
    """Round to cents, half up (the booking rule)."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineItem:
    description: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return cents(self.quantity * self.unit_price)


@dataclass(frozen=True)
class Invoice:
    """One invoice's content: what is printed on it, and so its ground truth."""

    index: int
    supplier: Supplier
    invoice_number: str
    invoice_date: dt.date
    due_date: dt.date
    customer_number: str
    order_number: str
    items: tuple[LineItem, ...]
    vat_rate: Decimal
    scan: dict[str, Any] = field(default_factory=dict)
    total_misprint: Decimal = Decimal("0.00")
    """Non-zero only for deliberately bad invoices whose printed total does not add up."""

    @property
    def currency(self) -> str:
        return self.supplier.currency

    @property
    def net(self) -> Decimal:
        return sum((item.amount for item in self.items), Decimal("0.00"))

    @property
    def vat(self) -> Decimal:
        return cents(self.net * self.vat_rate)

    @property
    def total(self) -> Decimal:
        return self.net + self.vat + self.total_misprint

    def ground_truth(self) -> dict[str, Any]:
        """The fields the pipeline must extract (strings, exactly as the ERP would book them)."""
        s = self.supplier
        return {
            "supplier_id": s.supplier_id,
            "supplier_name": s.name,
            "supplier_vat_id": s.vat_id,
            "invoice_number": self.invoice_number,
            "invoice_date": self.invoice_date.isoformat(),
            "due_date": self.due_date.isoformat(),
            "iban": s.iban,
            "currency": self.currency,
            "net": str(self.net),
            "vat": str(self.vat),
            "total": str(self.total),
            "vat_rate": str(self.vat_rate),
            "line_items": [
                {"description": it.description, "quantity": str(it.quantity), "unit_price": str(it.unit_price),
                 "amount": str(it.amount)}
                for it in self.items
            ],
            "layout": s.layout,
            "font": s.font,
            "language": s.language,
            "scan": self.scan,
        }


def format_amount(value: Decimal, style: str) -> str:
    """Print an amount the way a supplier does (``de`` 1.234,56 / ``en`` 1,234.56 / ``plain`` 1234.56)."""
    text = f"{value:,.2f}"
    if style == "de":
        return text.replace(",", "_").replace(".", ",").replace("_", ".")
    if style == "plain":
        return text.replace(",", "")
    return text


def format_date(value: dt.date, style: str) -> str:
    if style == "dmy_dot":
        return value.strftime("%d.%m.%Y")
    if style == "dmy_slash":
        return value.strftime("%d/%m/%Y")
    if style == "d_mon_y":
        return f"{value.day:02d} {_MONTHS[value.month - 1]} {value.year}"
    return value.isoformat()


def _quantity(rng: random.Random, description: str, unit_price: Decimal) -> Decimal:
    if "hours" in description or "per person" in description:
        return Decimal(rng.choice(["0.5", "1", "1.5", "2", "3", "4", "6", "8", "12", "16", "24"]))
    if unit_price > 250:
        return Decimal(rng.choice([1, 1, 1, 2, 3]))
    return Decimal(rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 6, 10, 12, 20, 25, 50]))


def generate_invoice(index: int, suppliers: list[Supplier], seed: int = 42) -> Invoice:
    """Invoice number ``index`` of the seeded stream (independent of how many are generated)."""
    rng = random.Random(f"invoice:{seed}:{index}")
    supplier = rng.choice(suppliers)
    date = AS_OF - dt.timedelta(days=rng.randint(0, 180))
    n = rng.randint(1, 99_999) if "{n:05d}" in supplier.number_pattern else rng.randint(1, 999_999)
    if "{n:04d}" in supplier.number_pattern:
        n = rng.randint(1, 9_999)
    number = supplier.number_pattern.format(year=date.year, yy=f"{date.year % 100:02d}", n=n)
    items = []
    for _ in range(rng.randint(1, 15)):
        description, low, high = rng.choice(_CATALOGUE)
        unit = cents(rng.uniform(low, high))
        items.append(LineItem(description, _quantity(rng, description, unit), unit))
    scan = {
        "format": rng.choices(["png", "jpeg", "pdf"], [0.35, 0.35, 0.30])[0],
        "rotation": round(rng.uniform(-1.5, 1.5), 2),
        "noise": round(rng.uniform(2.0, 7.0), 1),
        "blur": round(rng.uniform(0.0, 0.7), 2),
        "paper": rng.randint(232, 252),
        "jpeg_quality": rng.randint(60, 90),
        "grayscale": rng.random() < 0.7,
    }
    return Invoice(
        index=index,
        supplier=supplier,
        invoice_number=number,
        invoice_date=date,
        due_date=date + dt.timedelta(days=rng.choice([14, 30, 30, 45, 60])),
        customer_number=f"K{rng.randint(10_000, 99_999)}",
        order_number=f"PO-{rng.randint(100_000, 999_999)}",
        items=tuple(items),
        vat_rate=Decimal(supplier.vat_rate),
        scan=scan,
    )
