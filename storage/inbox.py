"""The inbox: inbound events recorded before the platform's ack, with a lease per event.

An event is recorded ``PENDING`` with a lease (``lease_owner``, ``lease_until``) held by the
instance that received it. That instance renews the leases of the events it is still
working on; when an instance dies (kill -9, a crash, a lost machine) its leases simply run
out, and whichever instance looks next (the same server restarted, or a survivor) takes the
events over at once instead of waiting minutes for them to look old.

Exactly once: :func:`mark_done` only moves a ``PENDING`` row, and raises
:class:`AlreadyProcessed` when another processor got there first. It runs in the
transaction of the event's effect, so of two processors that overlap (a lease taken over
from a processor that was merely slow) only one commits its effect and its replies.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from storage.db import Database, GroupCommit, UnitOfWork
from storage.models import InboxEvent
from storage.models.messaging import InboxStatus
from storage.outgoing import Outgoing, write_all

log = logging.getLogger("gendan.inbox")

#: how long a lease holds without renewal: an event of a dead instance waits at most this long
LEASE = timedelta(seconds=15)
#: inbox rows inserted by one statement at most (far below any driver's parameter limit)
MAX_BATCH = 200


class AlreadyProcessed(Exception):
    """The event was marked done (or given up) by another processor: roll back and say nothing."""


@dataclass(frozen=True)
class Replay:
    """A taken-over event, ready to process again."""

    id: int
    payload: dict[str, Any]


async def record(db: Database, platform: str, event_id: str, payload: dict[str, Any], now: datetime,
                 owner: str, lease: timedelta = LEASE) -> bool:
    """Insert the event with ``owner``'s lease; False when this platform event id was seen before."""
    row = _row(platform, event_id, payload, now, owner, lease)
    return (platform, event_id) in await record_many(db, [row])


def _row(platform: str, event_id: str, payload: dict[str, Any], now: datetime, owner: str,
         lease: timedelta) -> dict[str, Any]:
    return {"platform": platform, "event_id": event_id, "payload": payload, "status": InboxStatus.PENDING,
            "attempts": 0, "received_at": now, "lease_owner": owner, "lease_until": now + lease}


async def record_many(db: Database, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Insert many events in one statement and one commit; the (platform, event id) of those new.

    ``ON CONFLICT DO NOTHING``: an id seen before (a platform retry, or another instance's
    insert of the same event, which on PostgreSQL waits for that one's commit) is simply not
    new; a repeat inside ``rows`` counts once, for its first occurrence.
    """
    async with db.uow(urgent=True) as uow:  # the platform's ack waits for these rows: they go first
        return await _insert(uow, rows)


async def _insert(uow: UnitOfWork, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """INSERT … ON CONFLICT DO NOTHING; the (platform, event id) of the rows inserted."""
    fresh: set[tuple[str, str]] = set()
    insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    # in key order: two instances inserting the same events (a platform's retry sent to the other) wait
    # on each other's keys in one order, never in a deadlock
    rows = sorted(rows, key=lambda r: (r["platform"], r["event_id"]))
    # one statement built once and run with a list of parameter sets: SQLAlchemy writes it as one
    # multi-row INSERT per batch ("insertmanyvalues") from a cached compilation, where ``.values(rows)``
    # had no cache key and was compiled afresh for every batch
    table = cast(Table, InboxEvent.__table__)
    stmt = (insert(table).on_conflict_do_nothing(index_elements=["platform", "event_id"])
            .returning(table.c.platform, table.c.event_id))
    for start in range(0, len(rows), MAX_BATCH):
        fresh.update((p, e) for p, e in await uow.session.execute(stmt, rows[start:start + MAX_BATCH]))
    return fresh


async def record_batch(db: Database, rows: list[dict[str, Any]]) -> list[bool | BaseException]:
    """For :class:`storage.db.GroupCommit`: insert the events of ``rows`` together; whether each is new.

    A repeat inside the batch (WeCom's retry arriving while the first is still being written)
    is a duplicate, as is an id recorded before.
    """
    firsts = {(row["platform"], row["event_id"]): i for i, row in reversed(list(enumerate(rows)))}
    fresh = await record_many(db, [rows[i] for i in sorted(firsts.values())])
    return [firsts[(row["platform"], row["event_id"])] == i and (row["platform"], row["event_id"]) in fresh
            for i, row in enumerate(rows)]


class Recorder:
    """Inbox rows of concurrent events written together: one INSERT and one commit for all of them.

    Each caller returns after the commit that holds its row ("inbox before ack" holds for each);
    under load one statement answers dozens of acks. One per dispatcher.
    """

    def __init__(self, db: Database) -> None:
        self._group: GroupCommit[dict[str, Any], bool] = GroupCommit(lambda rows: record_batch(db, rows),
                                                                     "inbox-recorder")

    async def record(self, platform: str, event_id: str, payload: dict[str, Any], now: datetime, owner: str,
                     lease: timedelta = LEASE) -> bool:
        """Insert the event (with the others waiting now); False when its id was seen before."""
        return await self._group.submit(_row(platform, event_id, payload, now, owner, lease))

    async def close(self) -> None:
        """Wait for the batch being written (shutdown, tests)."""
        await self._group.close()


class AlreadyRecorded(Exception):
    """The event's id is in the inbox already: a platform retry or a second press of the same message."""


async def insert_done(uow: UnitOfWork, platform: str, event_id: str, payload: dict[str, Any], now: datetime,
                      owner: str) -> None:
    """Insert the event already DONE inside ``uow`` (the transaction of its effect, at its end);
    :class:`AlreadyRecorded` if its id was seen before.

    For callers that answer only after the commit (the local adapter, the terminal chat): the row, the
    effect and the "done" mark become durable together, in one statement of the one transaction. A
    concurrent insert of the same id waits on the unique key and then fails here, and its whole
    transaction (the effect included) rolls back.
    """
    # a Core INSERT from a statement built once: the ORM's add-and-flush of an object nobody reads back
    # was a tenth of a write command's CPU (unit-of-work bookkeeping for one row)
    row = {**_row(platform, event_id, payload, now, owner, LEASE), "status": InboxStatus.DONE, "processed_at": now,
           "lease_until": None}
    # the effect's own pending changes first, outside the guard: the execute below would autoflush them, and
    # their IntegrityError (a conflict, a bug) would then pass for a repeated event and be answered with nothing
    await uow.session.flush()
    try:
        await uow.session.execute(_INSERT, row)
    except IntegrityError:
        raise AlreadyRecorded(f"{platform}:{event_id}") from None


#: one event's inbox row, inserted in the transaction of its effect (built once)
_INSERT = cast(Table, InboxEvent.__table__).insert()
#: every write command's inbox mark, built once (a statement built per call cost more than running it); no
#: session synchronisation: inbox rows are never loaded as objects in a command's session, and matching
#: the criteria against every object the session holds cost ~5 % of a write
_MARK = (update(InboxEvent)
         .where(InboxEvent.platform == bindparam("mark_platform"), InboxEvent.event_id == bindparam("mark_event_id"),
                InboxEvent.status == InboxStatus.PENDING)
         .values(status=bindparam("mark_status"), processed_at=bindparam("mark_at"), error=bindparam("mark_error"),
                 lease_until=None)
         .execution_options(synchronize_session=False))


async def mark_done(uow: UnitOfWork, platform: str, event_id: str, now: datetime, error: str | None = None) -> None:
    """Mark the event processed, in the transaction of its effect; :class:`AlreadyProcessed` if it was."""
    result = await uow.session.execute(_MARK, {
        "mark_platform": platform, "mark_event_id": event_id, "mark_at": now, "mark_error": error,
        "mark_status": InboxStatus.FAILED if error else InboxStatus.DONE})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadyProcessed(f"{platform}:{event_id}")


@dataclass(frozen=True)
class Closing:
    """The closing write of an event whose handler committed nothing: its replies and its done mark."""

    platform: str
    event_id: str
    #: its replies (``Outbox.items``), written with the batch by the outbox API
    messages: Sequence[Outgoing]
    #: the event's inbox row, when it was not recorded before processing (it is inserted already DONE)
    payload: dict[str, Any] | None = None
    owner: str = ""


async def close_batch(db: Database, items: list[Closing], now: datetime) -> list[bool | BaseException | None]:
    """For :class:`storage.db.GroupCommit`: the closing writes of many events in one transaction.

    Per event: True once its replies are written and it is marked done; False when another
    processor marked it first (its replies stand, not ours: none written); None when an event
    not recorded before turns out to be in the inbox already (a duplicate: nothing written).
    Two statements on the inbox for the whole batch (an INSERT of the new rows, an UPDATE of
    the recorded ones, each telling which rows it took) and one INSERT of the outbox rows.
    """
    firsts: dict[tuple[str, str], int] = {}
    for i, item in enumerate(items):
        firsts.setdefault((item.platform, item.event_id), i)
    new: list[int] = []
    recorded: dict[str, list[str]] = {}
    for i, item in enumerate(items):
        if firsts[(item.platform, item.event_id)] != i:
            continue  # the same event twice in one batch: only its first closing write counts
        if item.payload is not None:
            new.append(i)
        else:
            recorded.setdefault(item.platform, []).append(item.event_id)
    taken: set[tuple[str, str]] = set()
    async with db.uow() as uow:
        if new:
            rows = [{**_row(items[i].platform, items[i].event_id, items[i].payload or {}, now, items[i].owner,
                            LEASE), "status": InboxStatus.DONE, "processed_at": now, "lease_until": None}
                    for i in new]
            taken |= await _insert(uow, rows)
        for platform in sorted(recorded):  # rows locked in one order by every instance
            ids = sorted(recorded[platform])
            for start in range(0, len(ids), MAX_BATCH):
                result = await uow.session.execute(
                    update(InboxEvent)
                    .where(InboxEvent.platform == platform, InboxEvent.event_id.in_(ids[start:start + MAX_BATCH]),
                           InboxEvent.status == InboxStatus.PENDING)
                    .values(status=InboxStatus.DONE, processed_at=now, error=None, lease_until=None)
                    .returning(InboxEvent.platform, InboxEvent.event_id)
                    .execution_options(synchronize_session=False))
                taken.update((p, e) for p, e in result)
        outcomes: list[bool | BaseException | None] = []
        messages: list[Outgoing] = []
        for i, item in enumerate(items):
            key = (item.platform, item.event_id)
            mine = firsts[key] == i and key in taken
            if mine:
                messages.extend(item.messages)
            outcomes.append(True if mine else (None if item.payload is not None else False))
        await write_all(uow, messages, now)
    return outcomes


async def renew(db: Database, owner: str, keys: Iterable[tuple[str, str]], now: datetime,
                lease: timedelta = LEASE) -> None:
    """Extend ``owner``'s leases on the events it is still working on."""
    by_platform: dict[str, list[str]] = {}
    for platform, event_id in keys:
        by_platform.setdefault(platform, []).append(event_id)
    if not by_platform:
        return
    async with db.uow() as uow:
        for platform, ids in by_platform.items():
            for start in range(0, len(ids), 500):  # stay far below any driver's parameter limit
                await uow.session.execute(
                    update(InboxEvent)
                    .where(InboxEvent.platform == platform, InboxEvent.event_id.in_(ids[start:start + 500]),
                           InboxEvent.status == InboxStatus.PENDING, InboxEvent.lease_owner == owner)
                    .values(lease_until=now + lease))


async def lease_holders(db: Database, now: datetime) -> list[str]:
    """The holders of leases still running on pending events (the caller tells which are dead)."""
    async with db.reader() as uow:
        return [h for h in (await uow.session.execute(
            select(InboxEvent.lease_owner)
            .where(InboxEvent.status == InboxStatus.PENDING, InboxEvent.lease_until >= now).distinct())).scalars() if h]


async def take_over(db: Database, owner: str, now: datetime, *, unleased_after: timedelta,
                    give_up_after: timedelta, limit: int = 200, lease: timedelta = LEASE,
                    dead: Collection[str] = ()) -> list[Replay]:
    """Claim pending events whose lease ran out (oldest first); give up on those too old to replay.

    The leases of ``dead`` holders (processes known to be gone) count as run out already.

    Rows recorded before leases existed have none: they are taken once older than
    ``unleased_after``. Each row is claimed by a compare-and-set on its ``attempts``, so two
    instances looking at once never both take it.
    """
    async with db.uow() as uow:
        await uow.session.execute(
            update(InboxEvent)
            .where(InboxEvent.status == InboxStatus.PENDING, InboxEvent.received_at < now - give_up_after)
            .values(status=InboxStatus.FAILED, processed_at=now, lease_until=None,
                    error="expired before it could be processed"))
        expired = or_(InboxEvent.lease_until < now,
                      and_(InboxEvent.lease_until.is_(None), InboxEvent.received_at < now - unleased_after),
                      InboxEvent.lease_owner.in_(list(dead)))
        rows = list((await uow.session.execute(
            select(InboxEvent.id, InboxEvent.attempts, InboxEvent.payload)
            .where(InboxEvent.status == InboxStatus.PENDING, expired)
            .order_by(InboxEvent.id).limit(limit))).all())
    taken: list[Replay] = []
    for row_id, attempts, payload in rows:
        async with db.uow() as uow:
            claimed = await uow.session.execute(
                update(InboxEvent)
                .where(InboxEvent.id == row_id, InboxEvent.attempts == attempts,
                       InboxEvent.status == InboxStatus.PENDING)
                .values(attempts=attempts + 1, lease_owner=owner, lease_until=now + lease))
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            taken.append(Replay(row_id, payload))
    return taken
