"""the ERP stand-in's bookings as they were created by raw SQLite (existing installations are stamped here)

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
        "bookings",
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
    )
    op.create_index("ix_bookings_key", "bookings", ["invoice_key"])


def downgrade() -> None:
    op.drop_table("bookings")
