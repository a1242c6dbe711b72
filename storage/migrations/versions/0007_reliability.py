"""outbox claim leases and parked rows; rate_slots: send windows shared by every instance

Revision ID: 0007_reliability
Revises: 0005_quotes_purchasing
Create Date: 2026-12-07 09:40:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_reliability'
down_revision: str | None = '0005_quotes_purchasing'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # nullable columns: plain ALTERs on SQLite too. Rows claimed before this migration have no
    # lease; the sender takes them over by the age of their claim, as before.
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
    # rows the old sender gave up on are what the new one parks
    op.execute("UPDATE outbox SET status = 'PARKED' WHERE status = 'DEAD'")
    op.create_table(
        'rate_slots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_rate_slots_key_at', 'rate_slots', ['key', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_rate_slots_key_at', table_name='rate_slots')
    op.drop_table('rate_slots')
    op.execute("UPDATE outbox SET status = 'DEAD' WHERE status = 'PARKED'")
    op.drop_column('outbox', 'lease_until')
    op.drop_column('outbox', 'claimed_by')
