"""the intake ledger as it was created by raw SQLite (existing installations are stamped here)

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoices",
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
        sa.CheckConstraint("state IN ('received','processing','booked','needs_review','rejected_with_notice')",
                           name="ck_invoices_state"),
    )
    op.create_index("ix_invoices_state", "invoices", ["state"])
    op.create_index("ix_invoices_key", "invoices", ["invoice_key"])
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("original_name", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("received_at", sa.Text, nullable=False),
        sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("duplicate", sa.Integer, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("from_state", sa.Text),
        sa.Column("to_state", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_events_invoice", "events", ["invoice_id"])
    op.create_table(
        "refused_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("first_seen", sa.Text, nullable=False),
        sa.Column("last_seen", sa.Text, nullable=False),
        sa.Column("scans", sa.Integer, nullable=False, server_default="1"),
        sa.Column("cleared_at", sa.Text),
    )
    op.create_index("ux_refused_open", "refused_files", ["name"], unique=True,
                    sqlite_where=sa.text("cleared_at IS NULL"), postgresql_where=sa.text("cleared_at IS NULL"))
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("extracted", sa.Text),
        sa.Column("corrected", sa.Text),
        sa.Column("clerk", sa.Text, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("corrections", "refused_files", "events", "submissions", "invoices"):
        op.drop_table(table)
