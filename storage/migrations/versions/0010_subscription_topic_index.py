"""notification look-up by topic: ``ix_chat_subscriptions_topic`` (topic, chat_pk)

Every command that notifies asks which groups subscribed to its topics; the primary key starts with the
chat, so that look-up scanned every chat (every person's 1:1 chat included, so it grew with the staff).

Revision ID: 0010_subscription_topic_index
Revises: 0009_dashboard_indexes
Create Date: 2026-12-07 16:40:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0010_subscription_topic_index'
down_revision: str | None = '0009_dashboard_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('chat_subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_chat_subscriptions_topic', ['topic', 'chat_pk'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('chat_subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_subscriptions_topic')
