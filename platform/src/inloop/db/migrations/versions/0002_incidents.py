"""incidents: bug-report audit trail, screenshot metadata, action-item ids and acceptance

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bug_report_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bug_report_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['bug_report_id'], ['bug_reports.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bug_report_events', schema=None) as batch_op:
        batch_op.create_index('ix_bug_report_events_report', ['bug_report_id'], unique=False)

    with op.batch_alter_table('bug_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('screenshot_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('screenshot_media_type', sa.String(length=32), nullable=True))

    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ref', sa.String(length=16), server_default='', nullable=False))
        batch_op.add_column(sa.Column('accepted', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.drop_column('accepted')
        batch_op.drop_column('ref')

    with op.batch_alter_table('bug_reports', schema=None) as batch_op:
        batch_op.drop_column('screenshot_media_type')
        batch_op.drop_column('screenshot_sha256')

    with op.batch_alter_table('bug_report_events', schema=None) as batch_op:
        batch_op.drop_index('ix_bug_report_events_report')

    op.drop_table('bug_report_events')
