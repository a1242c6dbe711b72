"""Writing and claiming outbox rows (the sender that delivers them lives in ``bot.outbox``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from storage.db import UnitOfWork
from storage.models import LocalMessage, OutboxMessage


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


#: the local adapter's mailbox is a table of this database: its messages are delivered in the
#: transaction that writes them, with no claim, send and settle round trips
LOCAL_PLATFORM = "local"


def enqueue(uow: UnitOfWork, envelopes: list[Envelope], now: datetime) -> None:
    """Add rows in the current transaction (so they exist iff the change that caused them does).

    Rows for the local adapter are written as SENT and put into its mailbox before the commit;
    every other row waits for the sender, and ``uow.outbox_pending`` tells the caller to wake it.
    """
    local: list[Envelope] = []
    for env in envelopes:
        is_local = env.platform == LOCAL_PLATFORM
        uow.session.add(
            OutboxMessage(
                platform=env.platform, chat_id=env.chat_id, chat_type=env.chat_type, op=env.op,
                message=env.message, event_key=env.event_key, reply_to=env.reply_to,
                reply_hints=env.reply_hints, card_key=env.card_key or env.message.get("card_key"),
                status="SENT" if is_local else "PENDING", next_attempt_at=now, created_at=now,
                sent_at=now if is_local else None,
            )
        )
        if is_local:
            local.append(env)
        else:
            uow.outbox_pending = True
    if local:
        async def deliver(u: UnitOfWork) -> None:
            await _deliver_local(u, local)

        uow.before_commit.append(deliver)


async def _deliver_local(uow: UnitOfWork, envelopes: list[Envelope]) -> None:
    for env in envelopes:
        card = env.message.get("card")
        closed = bool(isinstance(card, dict) and card.get("closed"))
        card_key = env.card_key or env.message.get("card_key")
        if env.op == "update" and card_key:
            result = await uow.session.execute(
                update(LocalMessage).where(LocalMessage.chat_id == env.chat_id, LocalMessage.card_key == card_key)
                .values(message=env.message, closed=closed))
            if result.rowcount:  # type: ignore[attr-defined]
                continue  # else the card never arrived here: the decided version takes its place
        uow.session.add(LocalMessage(chat_id=env.chat_id, message=env.message, card_key=card_key, closed=closed))


async def has_due(uow: UnitOfWork, now: datetime, stale_after: timedelta = timedelta(minutes=15)) -> bool:
    """Whether :func:`claim_due` would find anything (asked in a reader, before taking the write lock)."""
    found = await uow.session.execute(
        select(OutboxMessage.id).where(
            or_(
                (OutboxMessage.status == "PENDING") & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == "SENDING") & (OutboxMessage.claimed_at < now - stale_after),
            )
        ).limit(1))
    return found.first() is not None


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
