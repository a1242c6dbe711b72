"""dashboard indexes: line progress by order, and the sales page's periods

- ``ix_order_lines_progress`` (order_id, qty, shipped_qty, product_id) replaces ``ix_order_lines_order_id``:
  every lookup by order still uses it, and the stage of an order (``storage.stage_sql``), the kanban
  counts, the overdue filters and the shortage list read it without touching the lines themselves.
- ``ix_orders_confirmed`` (confirmed_at, state, owner_id, amount), ``ix_shipments_shipped``
  (shipped_at, order_id, amount) and ``ix_payments_paid`` (paid_on, order_id, amount): the sales page
  sums a period of each from the index alone.

Revision ID: 0009_dashboard_indexes
Revises: 0008_orders_created_index
Create Date: 2026-12-07 16:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0009_dashboard_indexes'
down_revision: str | None = '0008_orders_created_index'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index('ix_order_lines_progress', ['order_id', 'qty', 'shipped_qty', 'product_id'],
                              unique=False)
        batch_op.drop_index('ix_order_lines_order_id')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_confirmed', ['confirmed_at', 'state', 'owner_id', 'amount'], unique=False)
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index('ix_shipments_shipped', ['shipped_at', 'order_id', 'amount'], unique=False)
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_paid', ['paid_on', 'order_id', 'amount'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_paid')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index('ix_shipments_shipped')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_confirmed')
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index('ix_order_lines_order_id', ['order_id'], unique=False)
        batch_op.drop_index('ix_order_lines_progress')
