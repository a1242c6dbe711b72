"""orders.external_ref: the 订单号 of a historic order imported from Excel/CSV

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 12:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a nullable column and a unique index: both are plain ALTERs on SQLite, so the batch
    # does not recreate the orders table (and its many foreign keys stay untouched)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_ref', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_orders_external_ref'), ['external_ref'], unique=True)


def downgrade() -> None:
    # not batch mode: on SQLite a batch drop_column recreates the table, and with foreign keys on
    # dropping the old orders table cascades into every child table; SQLite ≥ 3.35 drops a column
    # in place
    op.drop_index('ix_orders_external_ref', table_name='orders')
    op.drop_column('orders', 'external_ref')
