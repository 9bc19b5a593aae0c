"""prediction log: the client's X-Request-ID kept as a correlation id beside the server's request id

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable column and a plain index: an ALTER TABLE ADD COLUMN on both SQLite and PostgreSQL,
    # no table rewrite of a large prediction log.
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_request_id", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_predictions_client_request_id", ["client_request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_index("ix_predictions_client_request_id")
        batch_op.drop_column("client_request_id")
