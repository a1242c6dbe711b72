"""inbox.lease_owner / lease_until: an instance's hold on the events it is working on

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 23:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # nullable columns and an index: plain ALTERs on SQLite too (no table rebuild). Rows recorded
    # before this migration have no lease; the dispatcher takes them over by age.
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_inbox_lease', ['status', 'lease_until'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_inbox_lease', table_name='inbox')
    op.drop_column('inbox', 'lease_until')
    op.drop_column('inbox', 'lease_owner')
