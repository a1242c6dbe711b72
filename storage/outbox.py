"""Writing and claiming outbox rows (the sender that delivers them lives in ``bot.outbox``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from storage.db import UnitOfWork
from storage.models import OutboxMessage


@dataclass(frozen=True)
class Envelope:
    """One message for one chat, not yet written."""

    platform: str
    chat_id: str
    chat_type: str
    message: dict[str, Any]
    event_key: str | None = None
    reply_to: str | None = None
    reply_hints: dict[str, Any] = field(default_factory=dict)
    op: str = "send"
    card_key: str | None = None


def enqueue(uow: UnitOfWork, envelopes: list[Envelope], now: datetime) -> None:
    """Add rows in the current transaction (so they exist iff the change that caused them does)."""
    for env in envelopes:
        uow.session.add(
            OutboxMessage(
                platform=env.platform, chat_id=env.chat_id, chat_type=env.chat_type, op=env.op,
                message=env.message, event_key=env.event_key, reply_to=env.reply_to,
                reply_hints=env.reply_hints, card_key=env.card_key or env.message.get("card_key"),
                status="PENDING", next_attempt_at=now, created_at=now,
            )
        )


async def claim_due(uow: UnitOfWork, now: datetime, limit: int = 100,
                    stale_after: timedelta = timedelta(minutes=15)) -> list[OutboxMessage]:
    """Claim due rows for sending (SKIP LOCKED on PostgreSQL so instances never share a row).

    Rows left SENDING by a crashed sender are taken again after ``stale_after``.
    """
    stmt = (
        select(OutboxMessage)
        .where(
            or_(
                (OutboxMessage.status == "PENDING") & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == "SENDING") & (OutboxMessage.claimed_at < now - stale_after),
            )
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if uow.dialect == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list((await uow.session.execute(stmt)).scalars())
    for row in rows:
        row.status = "SENDING"
        row.claimed_at = now
    return rows
