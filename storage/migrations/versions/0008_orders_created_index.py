"""orders by creation time: exports, statements and sales reports select a period

Revision ID: 0008_orders_created_index
Revises: 0007_reliability
Create Date: 2026-12-07 14:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0008_orders_created_index'
down_revision: str | None = '0007_reliability'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_created', ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_created')
