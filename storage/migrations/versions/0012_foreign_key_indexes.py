"""foreign-key indexes: ``shipment_lines.order_line_id``, ``stock_moves.order_id``, ``quotes.order_id``

Deleting an order (an import's undo) or an order line checks these references; without an index each
deleted row scanned the whole child table (SQLite with foreign keys on, PostgreSQL's RI trigger).

Revision ID: 0012_foreign_key_indexes
Revises: 0011_order_line_progress
Create Date: 2026-12-07 17:10:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0012_foreign_key_indexes'
down_revision: str | None = '0011_order_line_progress'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (('shipment_lines', 'order_line_id'), ('stock_moves', 'order_id'), ('quotes', 'order_id'))


def upgrade() -> None:
    for table, column in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)


def downgrade() -> None:
    for table, column in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
