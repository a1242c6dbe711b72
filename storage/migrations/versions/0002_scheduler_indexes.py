"""scheduler indexes: resolved tickets (回访 rule), reminders by order

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 00:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # the 回访 rule scans tickets by (status, resolved_at) every tick
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_resolved', ['status', 'resolved_at'], unique=False)
    # reminders of one order: the ON DELETE CASCADE from orders, and per-order look-ups
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index('ix_reminders_order', ['order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_reminders_order')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_resolved')
