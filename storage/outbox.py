"""Writing and claiming outbox rows (the sender that delivers them lives in ``bot.outbox``)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, text, update

from storage.db import Database, UnitOfWork
from storage.models import LocalMessage, OutboxMessage, RateSlot


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


#: how long a sender's claim on a row holds without renewal: the rows of a killed sender go out again
#: this long after its last renewal (it renews every few seconds while it sends)
CLAIM_LEASE = timedelta(seconds=15)
#: rows claimed before claims had leases are taken again after this long
UNLEASED_STALE = timedelta(minutes=15)
#: statuses of rows still to be delivered: a chat's later rows wait behind its earliest one
UNDELIVERED = ("PENDING", "SENDING")
#: any constant: the claim's lock on PostgreSQL (see :func:`claim_due`)
_CLAIM_LOCK = 0x67656E64616E


def _claimable(now: datetime, dead: Collection[str]) -> Any:
    return or_(
        (OutboxMessage.status == "PENDING") & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.status == "SENDING") & (OutboxMessage.lease_until < now),
        (OutboxMessage.status == "SENDING") & OutboxMessage.lease_until.is_(None)
        & (OutboxMessage.claimed_at < now - UNLEASED_STALE),
        (OutboxMessage.status == "SENDING") & OutboxMessage.claimed_by.in_(list(dead)),
    )


async def claim_holders(uow: UnitOfWork, now: datetime) -> list[str]:
    """The senders holding claims that still run (the caller tells which are dead)."""
    return [h for h in (await uow.session.execute(
        select(OutboxMessage.claimed_by).where(OutboxMessage.status == "SENDING", OutboxMessage.lease_until >= now)
        .distinct())).scalars() if h]


async def has_due(uow: UnitOfWork, now: datetime, dead: Collection[str] = ()) -> bool:
    """Whether :func:`claim_due` may find anything (asked in a reader, before taking the write lock)."""
    found = await uow.session.execute(select(OutboxMessage.id).where(_claimable(now, dead)).limit(1))
    return found.first() is not None


async def claim_due(uow: UnitOfWork, now: datetime, limit: int = 100, owner: str = "",
                    lease: timedelta = CLAIM_LEASE, dead: Collection[str] = ()) -> list[OutboxMessage]:
    """Claim due rows for sending, under ``owner``'s lease; a chat's rows only in their order.

    Rows claimed by ``dead`` senders (processes known to be gone) are taken at once.

    A row is taken only when no earlier row of its chat is still undelivered and not taken
    with it (waiting for its retry, or being sent by someone), so a chat's messages arrive in
    the order they were written, also across an outage. One exception: a card's live copy
    that waits for a retry does not hold back the decided version that replaces it.
    On PostgreSQL the claim is serialised by a transaction-level advisory lock, so two
    instances never split one chat's rows between them; on SQLite writers are serial anyway.
    """
    if uow.dialect == "postgresql":
        await uow.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CLAIM_LOCK})
    due = list((await uow.session.execute(
        select(OutboxMessage).where(_claimable(now, dead)).order_by(OutboxMessage.id).limit(limit))).scalars())
    if not due:
        return []
    chats = {(r.platform, r.chat_id) for r in due}
    due_ids = {r.id for r in due}
    waiting = (await uow.session.execute(
        select(OutboxMessage.id, OutboxMessage.platform, OutboxMessage.chat_id, OutboxMessage.op,
               OutboxMessage.card_key)
        .where(OutboxMessage.status.in_(UNDELIVERED), OutboxMessage.chat_id.in_({c for _, c in chats}))
        .order_by(OutboxMessage.id))).all()
    replaced = {(r.platform, r.chat_id, r.card_key) for r in due if r.op == "update" and r.card_key}
    blocked_from: dict[tuple[str, str], int] = {}
    for row_id, platform, chat_id, op, card_key in waiting:
        key = (platform, chat_id)
        if key not in chats or key in blocked_from or row_id in due_ids:
            continue
        if op == "send" and card_key and (platform, chat_id, card_key) in replaced:
            continue
        blocked_from[key] = row_id
    rows = [r for r in due if r.id < blocked_from.get((r.platform, r.chat_id), r.id + 1)]
    for row in rows:
        row.status = "SENDING"
        row.claimed_at = now
        row.claimed_by = owner
        row.lease_until = now + lease
    return rows


async def renew_claims(db: Database, owner: str, ids: list[int], now: datetime,
                       lease: timedelta = CLAIM_LEASE) -> None:
    """Extend ``owner``'s claims on the rows it is still sending."""
    if not ids:
        return
    async with db.uow() as uow:
        await uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "SENDING", OutboxMessage.claimed_by == owner)
            .values(lease_until=now + lease))


async def reserve_slots(db: Database, key: str, count: int, period: float, want: int,
                        now: datetime) -> tuple[int, datetime]:
    """Take up to ``want`` of the ``count`` sends allowed per ``period`` seconds for ``key``.

    Returns how many were granted and when the next slot frees. The window lives in the
    database, so every instance counts the same sends: on PostgreSQL a transaction-level
    advisory lock per key makes count-and-take atomic; SQLite's writers are serial.
    """
    since = now - timedelta(seconds=period)
    async with db.uow() as uow:
        if uow.dialect == "postgresql":
            await uow.session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})
        await uow.session.execute(delete(RateSlot).where(RateSlot.key == key, RateSlot.at <= since))
        taken = list((await uow.session.execute(
            select(RateSlot.at).where(RateSlot.key == key).order_by(RateSlot.at))).scalars())
        granted = max(0, min(want, count - len(taken)))
        uow.session.add_all([RateSlot(key=key, at=now) for _ in range(granted)])
    times = sorted([*taken, *([now] * granted)])
    free_at = times[len(times) - count] + timedelta(seconds=period) if len(times) >= count else now
    return granted, free_at


async def release_slots(db: Database, key: str, n: int, now: datetime) -> None:
    """Give back ``n`` slots taken at ``now`` and not used (the send failed or was not made)."""
    if n <= 0:
        return
    async with db.uow() as uow:
        ids = list((await uow.session.execute(
            select(RateSlot.id).where(RateSlot.key == key, RateSlot.at == now).limit(n))).scalars())
        if ids:
            await uow.session.execute(delete(RateSlot).where(RateSlot.id.in_(ids)))


async def parked(uow: UnitOfWork, limit: int = 200) -> list[OutboxMessage]:
    """Rows that could not be delivered, oldest first (``gendan outbox``)."""
    return list((await uow.session.execute(
        select(OutboxMessage).where(OutboxMessage.status == "PARKED").order_by(OutboxMessage.id).limit(limit)
    )).scalars())


async def retry_parked(uow: UnitOfWork, now: datetime, row_id: int | None = None) -> int:
    """Put one parked row (or all) back in line, with fresh attempts; returns how many."""
    stmt = update(OutboxMessage).where(OutboxMessage.status == "PARKED")
    if row_id is not None:
        stmt = stmt.where(OutboxMessage.id == row_id)
    result = await uow.session.execute(stmt.values(status="PENDING", attempts=0, next_attempt_at=now,
                                                   sent_at=None, claimed_by=None, lease_until=None))
    if result.rowcount:  # type: ignore[attr-defined]
        uow.outbox_pending = True
    return int(result.rowcount)  # type: ignore[attr-defined]
