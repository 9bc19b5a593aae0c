"""The intake ledger's and the ERP stand-in's tables (SQLAlchemy Core), each with its own Alembic history.

Two databases, two histories: the ledger (``invoices``, ``submissions``, ``events``, ``refused_files``,
``corrections``) and the ERP stand-in (``bookings``). Both are SQLite files by default and PostgreSQL
by configuration (``INLOOP_INVOICE_LEDGER_URL``, ``INLOOP_INVOICE_ERP_URL``). Times stay ISO-8601
text as they always were (existing installations keep their rows); the lease is epoch seconds, so
"expired" is one numeric comparison on every database.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["ERP_METADATA", "LEDGER_METADATA", "bookings", "corrections", "events", "invoices", "refused_files",
           "submissions"]

LEDGER_METADATA = sa.MetaData()
ERP_METADATA = sa.MetaData()

invoices = sa.Table(
    "invoices", LEDGER_METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.Text, nullable=False, unique=True),
    sa.Column("original_name", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("received_at", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("state_since", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("claimed_by", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("reason_kind", sa.Text),
    sa.Column("fields", sa.Text),
    sa.Column("invoice_key", sa.Text),
    sa.Column("erp_booking_id", sa.BigInteger),
    sa.Column("booked_by", sa.Text),
    sa.Column("notice", sa.Text),
    sa.Column("extractor_version", sa.Text),
    #: Until when the claiming worker holds the invoice (epoch seconds), renewed by its heartbeat.
    sa.Column("lease_until", sa.Float),
    sa.CheckConstraint("state IN ('received','processing','booked','needs_review','rejected_with_notice')",
                       name="ck_invoices_state"),
    sa.Index("ix_invoices_state", "state"),
    sa.Index("ix_invoices_key", "invoice_key"),
)

submissions = sa.Table(
    "submissions", LEDGER_METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("original_name", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("received_at", sa.Text, nullable=False),
    sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False),
    sa.Column("duplicate", sa.Integer, nullable=False),
)

events = sa.Table(
    "events", LEDGER_METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("from_state", sa.Text),
    sa.Column("to_state", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
    sa.Index("ix_events_invoice", "invoice_id"),
)

refused_files = sa.Table(
    "refused_files", LEDGER_METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("first_seen", sa.Text, nullable=False),
    sa.Column("last_seen", sa.Text, nullable=False),
    sa.Column("scans", sa.Integer, nullable=False, server_default="1"),
    sa.Column("cleared_at", sa.Text),
    sa.Index("ux_refused_open", "name", unique=True, sqlite_where=sa.text("cleared_at IS NULL"),
             postgresql_where=sa.text("cleared_at IS NULL")),
)

corrections = sa.Table(
    "corrections", LEDGER_METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False),
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("extracted", sa.Text),
    sa.Column("corrected", sa.Text),
    sa.Column("clerk", sa.Text, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
)

bookings = sa.Table(
    "bookings", ERP_METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("invoice_key", sa.Text, nullable=False),
    sa.Column("ledger_invoice_id", sa.Integer, nullable=False),
    sa.Column("supplier_id", sa.Text, nullable=False),
    sa.Column("invoice_number", sa.Text, nullable=False),
    sa.Column("invoice_date", sa.Text, nullable=False),
    sa.Column("iban", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("net", sa.Text, nullable=False),
    sa.Column("vat", sa.Text, nullable=False),
    sa.Column("total", sa.Text, nullable=False),
    sa.Column("booked_by", sa.Text, nullable=False),
    sa.Column("booked_at", sa.Text, nullable=False),
    #: One booking per invoice key, enforced by the database: booking is INSERT ... ON CONFLICT DO NOTHING.
    sa.Index("ux_bookings_invoice_key", "invoice_key", unique=True),
)
