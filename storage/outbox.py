"""The outbox queue: claiming and settling rows, card copies and the local mailbox.

Every query of the outbox lives here, but rows are written only through the outbox API
(``storage.outgoing``); the sender that delivers the rows is ``bot.sender``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, text, update

from storage.db import Database, UnitOfWork
from storage.models import Chat, LocalMessage, OutboxMessage, RateSlot, SentCard
from storage.models.messaging import SETTLED, UNDELIVERED, OutboxStatus

log = logging.getLogger("gendan.outbox")


@dataclass(frozen=True)
class Envelope:
    """One message for one chat, not yet written (made only by the outbox API, ``storage.outgoing``)."""

    platform: str
    chat_id: str
    chat_type: str
    message: dict[str, Any]
    event_key: str | None = None
    reply_to: str | None = None
    reply_hints: dict[str, Any] = field(default_factory=dict)
    op: str = "send"
    card_key: str | None = None


#: how long a sender's claim on a row holds without renewal: the rows of a killed sender go out again
#: this long after its last renewal (it renews every few seconds while it sends)
CLAIM_LEASE = timedelta(seconds=15)
#: rows claimed before claims had leases are taken again after this long
UNLEASED_STALE = timedelta(minutes=15)
#: any constant: the claim's lock on PostgreSQL (see :func:`claim_due`)
_CLAIM_LOCK = 0x67656E64616E


def _claimable(now: datetime, dead: Collection[str]) -> Any:
    return or_(
        (OutboxMessage.status == OutboxStatus.PENDING) & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.status == OutboxStatus.SENDING) & (OutboxMessage.lease_until < now),
        (OutboxMessage.status == OutboxStatus.SENDING) & OutboxMessage.lease_until.is_(None)
        & (OutboxMessage.claimed_at < now - UNLEASED_STALE),
        (OutboxMessage.status == OutboxStatus.SENDING) & OutboxMessage.claimed_by.in_(list(dead)),
    )


async def claim_holders(uow: UnitOfWork, now: datetime) -> list[str]:
    """The senders holding claims that still run (the caller tells which are dead)."""
    holders = await uow.session.execute(
        select(OutboxMessage.claimed_by)
        .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.lease_until >= now).distinct())
    return [h for h in holders.scalars() if h]


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
        row.status = OutboxStatus.SENDING
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
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.SENDING,
                   OutboxMessage.claimed_by == owner)
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
        select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PARKED).order_by(OutboxMessage.id).limit(limit)
    )).scalars())


async def retry_parked(uow: UnitOfWork, now: datetime, row_id: int | None = None) -> int:
    """Put one parked row (or all) back in line, with fresh attempts; returns how many."""
    stmt = update(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PARKED)
    if row_id is not None:
        stmt = stmt.where(OutboxMessage.id == row_id)
    result = await uow.session.execute(stmt.values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now,
                                                   sent_at=None, claimed_by=None, lease_until=None))
    if result.rowcount:  # type: ignore[attr-defined]
        uow.outbox_pending = True
    return int(result.rowcount)  # type: ignore[attr-defined]


# ---- what handlers ask of the queue ----------------------------------------------------------
async def card_chats(uow: UnitOfWork, card_key: str) -> list[tuple[str, str, str]]:
    """The chats (platform, chat id, chat type) a card was sent to: where its copies are to be updated."""
    rows = await uow.session.execute(
        select(OutboxMessage.platform, OutboxMessage.chat_id, OutboxMessage.chat_type)
        .where(OutboxMessage.card_key == card_key, OutboxMessage.op == "send").distinct())
    return [(platform, chat_id, chat_type) for platform, chat_id, chat_type in rows]


async def already_written(uow: UnitOfWork, event_key: str, platform: str, chat_id: str) -> bool:
    """Whether a message with this notification key was written for this chat before (tell once)."""
    found = await uow.session.execute(select(OutboxMessage.id).where(
        OutboxMessage.event_key == event_key, OutboxMessage.platform == platform,
        OutboxMessage.chat_id == chat_id).limit(1))
    return found.first() is not None


# ---- what the sender reads and writes around a delivery --------------------------------------
async def group_webhooks(uow: UnitOfWork, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], Chat]:
    """The chats among ``keys`` (platform, chat id) that have a group webhook configured."""
    if not keys:
        return {}
    chats = await uow.session.execute(
        select(Chat).where(Chat.chat_id.in_([k[1] for k in keys]), Chat.webhook_url.is_not(None)))
    return {(c.platform, c.chat_id): c for c in chats.scalars() if (c.platform, c.chat_id) in keys and c.webhook_url}


async def card_copies(db: Database, card_key: str | None, platform: str, chat_id: str) -> list[SentCard]:
    """The delivered copies of a card in one chat (with the platform's handles to update them)."""
    async with db.uow() as uow:
        return list((await uow.session.execute(select(SentCard).where(
            SentCard.card_key == card_key, SentCard.platform == platform, SentCard.chat_id == chat_id))).scalars())


async def supersede_unsent(db: Database, card_key: str | None, platform: str, chat_id: str, by: int,
                           now: datetime) -> None:
    """Mark the card's sends to one chat that still wait as merged into row ``by`` (its decided version)."""
    async with db.uow() as uow:
        await uow.session.execute(
            update(OutboxMessage).where(
                OutboxMessage.card_key == card_key, OutboxMessage.op == "send",
                OutboxMessage.platform == platform, OutboxMessage.chat_id == chat_id,
                OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.MERGED, merged_into=by, sent_at=now))


async def add_card_copy(db: Database, card_key: str, platform: str, chat_id: str, ref: dict[str, Any],
                        now: datetime) -> None:
    """Remember a delivered card copy and the platform's handle to update it."""
    async with db.uow() as uow:
        uow.session.add(SentCard(card_key=card_key, platform=platform, chat_id=chat_id, ref=ref, created_at=now))


async def replace_card_ref(db: Database, copy_id: int, ref: dict[str, Any]) -> None:
    """A card copy was sent again (the old one could no longer be edited): keep the new handle."""
    async with db.uow() as uow:
        copy = await uow.session.get_one(SentCard, copy_id)
        copy.ref = ref


@dataclass(frozen=True)
class CardCopy:
    """A card delivered by a send, to remember with the send's outcome."""

    card_key: str
    platform: str
    chat_id: str
    ref: dict[str, Any]


async def settle(db: Database, rows: list[OutboxMessage], status: OutboxStatus, now: datetime, *,
                 retry_in: float | None = None, error: str | None = None, merged_into: int | None = None,
                 count_attempt: bool = False, cards: Sequence[CardCopy] = ()) -> list[float]:
    """Record how the claimed ``rows`` went, in one transaction; returns the age in seconds of each row now SENT.

    One UPDATE per claim (rows claimed together share their claim's time), so settling a whole
    pass costs one transaction. A row that another sender took over meanwhile (this pass
    outlived its claim) is left alone: the other sender's outcome stands.
    """
    if not rows:
        return []
    col = OutboxMessage  # every column the outcome does not name keeps its value
    outcome = update(OutboxMessage).values(
        status=status, lease_until=None,
        last_error=error if error is not None else col.last_error,
        attempts=col.attempts + 1 if count_attempt else col.attempts,
        next_attempt_at=now + timedelta(seconds=retry_in) if retry_in is not None else col.next_attempt_at,
        merged_into=merged_into if merged_into is not None else col.merged_into,
        sent_at=now if status in SETTLED else col.sent_at)
    claims: dict[tuple[str | None, datetime | None], list[int]] = {}
    for row in rows:
        claims.setdefault((row.claimed_by, row.claimed_at), []).append(row.id)
    settled: dict[int, datetime] = {}
    async with db.uow() as uow:
        for (owner, claimed_at), ids in claims.items():
            result = await uow.session.execute(
                outcome.where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.SENDING,
                              OutboxMessage.claimed_by == owner, OutboxMessage.claimed_at == claimed_at)
                .returning(OutboxMessage.id, OutboxMessage.created_at)
                .execution_options(synchronize_session=False))
            settled.update((row_id, created) for row_id, created in result)
        uow.session.add_all([SentCard(card_key=c.card_key, platform=c.platform, chat_id=c.chat_id, ref=c.ref,
                                      created_at=now) for c in cards])
    for row in rows:
        if row.id not in settled:
            log.warning("outbox %s was reclaimed by another sender; not settling it", row.id)
    return [(now - created).total_seconds() for created in settled.values()] if status == OutboxStatus.SENT else []


# ---- the local adapter's mailbox -------------------------------------------------------------
async def store_local(db: Database, chat_id: str, message: dict[str, Any], card_key: str | None,
                      closed: bool) -> int:
    """Put a message into a local chat's mailbox (a send through the local transport); its row id."""
    async with db.uow() as uow:
        row = LocalMessage(chat_id=chat_id, message=message, card_key=card_key, closed=closed)
        uow.session.add(row)
        await uow.session.flush()
        return row.id


async def replace_local(db: Database, row_id: int, message: dict[str, Any], closed: bool) -> None:
    """Replace a local card copy in place."""
    async with db.uow() as uow:
        row = await uow.session.get_one(LocalMessage, row_id)
        row.message = message
        row.closed = closed


async def local_mailbox(db: Database, chat_id: str) -> list[LocalMessage]:
    """What was delivered to a local chat, oldest first (``GET /local/sent``)."""
    async with db.reader() as uow:
        return await delivered(uow, [chat_id])


async def delivered(uow: UnitOfWork, chats: Sequence[str], after_id: int = 0) -> list[LocalMessage]:
    """What the local adapter delivered to ``chats`` with an id above ``after_id``, oldest first
    (``gendan chat`` reads it back)."""
    stmt = (select(LocalMessage).where(LocalMessage.chat_id.in_(chats), LocalMessage.id > after_id)
            .order_by(LocalMessage.id))
    return list((await uow.session.execute(stmt)).scalars())
