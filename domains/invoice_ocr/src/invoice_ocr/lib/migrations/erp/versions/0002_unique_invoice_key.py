"""one booking per invoice key, enforced by the database (booking becomes INSERT ... ON CONFLICT DO NOTHING)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    doubles = op.get_bind().execute(sa.text(
        "SELECT invoice_key, COUNT(*) AS n FROM bookings GROUP BY invoice_key HAVING COUNT(*) > 1")).fetchall()
    if doubles:
        listed = ", ".join(f"{key} ({n}x)" for key, n in doubles[:10])
        raise RuntimeError(f"the ERP stand-in holds {len(doubles)} invoice key(s) booked more than once: {listed}. "
                           "Resolve these double bookings (keep one booking per key) before upgrading.")
    op.drop_index("ix_bookings_key", table_name="bookings")
    op.create_index("ux_bookings_invoice_key", "bookings", ["invoice_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_bookings_invoice_key", table_name="bookings")
    op.create_index("ix_bookings_key", "bookings", ["invoice_key"])
