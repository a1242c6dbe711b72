"""Sessions, the unit of work (one transaction per command), group commit and the database.

The engine and its per-dialect settings are :mod:`storage.engine`'s. PostgreSQL uses row locks
(``SELECT … FOR UPDATE``) plus the orders' optimistic version column; SQLite serialises writers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, UOWTransaction

from storage.conflicts import busy, translate
from storage.engine import READ_ONLY, make_engine
from storage.reads import Reads
from storage.repos import Repositories

log = logging.getLogger("gendan.storage")

Hook = Callable[["UnitOfWork"], Awaitable[None]]
#: how long a writer of this process waits for its turn on SQLite (as the busy timeout below)
WRITE_QUEUE_TIMEOUT = 30.0


#: tables whose rows make up who someone is (person, roles, tenant, chat): a committed change to
#: any of them moves ``Database.identity_version``, which in-process identity caches compare against
IDENTITY_TABLES = frozenset({"people", "person_roles", "tenants", "chats"})
_IDENTITY_CHANGED = "gendan_identity_changed"


@event.listens_for(Session, "after_flush")
def _note_identity_change(session: Session, _flush: UOWTransaction) -> None:
    if session.info.get(_IDENTITY_CHANGED):
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if getattr(obj, "__tablename__", None) in IDENTITY_TABLES:
            session.info[_IDENTITY_CHANGED] = True
            return


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (replies render from them)."""
    return async_sessionmaker(engine, expire_on_commit=False)


class WriteGate:
    """First come, first served turns for this process's SQLite writers, with a fast lane.

    SQLite has one writer at a time. Writers queue here instead of in SQLite's busy handler,
    which sleeps up to 100 ms between retries and so turned 32 concurrent commands into
    seconds of waiting. ``urgent`` turns (recording an inbound event before the platform is
    acked) go before the queued ordinary ones: an ack must not wait behind the commands of
    earlier events. Other processes (a CLI import next to the server) still meet the busy timeout.
    """

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    async def acquire(self, urgent: bool = False) -> None:
        """Wait for the turn (cancellable: a cancelled waiter never keeps the turn)."""
        if not self._held and not self._urgent and not self._normal:
            self._held = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._normal
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the turn was handed to us as we were cancelled: pass it on
            else:
                queue.remove(waiter)
            raise

    def release(self) -> None:
        """Hand the turn to the next waiter (urgent first), or free it."""
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # ownership passes directly: nobody can cut in
                    return
        self._held = False


class UnitOfWork(Repositories):
    """One transaction: ``async with uow:`` commits on success and rolls back on error.

    Repositories never commit; this does. ``before_commit`` hooks run inside the
    transaction (the outbox is written there, so a message exists if and only if
    the change that caused it does); ``after_commit`` hooks run once it is durable.
    A driver's conflict leaving the transaction (a duplicate key, "database is locked", a
    stale row) leaves it as storage's own exception (:mod:`storage.conflicts`).
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, read_only: bool = False,
                 on_identity_change: Callable[[], None] | None = None,
                 write_gate: WriteGate | None = None, urgent: bool = False) -> None:
        self._sessionmaker = sessionmaker
        self.read_only = read_only
        self._gate = None if read_only else write_gate
        self._urgent = urgent
        self._holding = False
        self._on_identity_change = on_identity_change
        #: run last inside the transaction (the event's replies, notifications and inbox row)
        self.before_commit: list[Hook] = []
        self.after_commit: list[Callable[[], None]] = []
        #: set by the outbox API (``storage.outgoing``) when a row now waits for the sender (wake it after commit)
        self.outbox_pending = False
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        """The open session (only inside ``async with``)."""
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside 'async with'")
        return self._session

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.session.get_bind().dialect.name

    def writing(self, what: str) -> None:
        """Refuse a Core write in a reader (writes through the ORM are caught at its commit)."""
        if self.read_only:
            raise RuntimeError(f"a read-only unit of work wrote {what}")

    async def __aenter__(self) -> UnitOfWork:
        if self._gate is not None:
            try:
                await asyncio.wait_for(self._gate.acquire(self._urgent), WRITE_QUEUE_TIMEOUT)
            except TimeoutError:
                # what SQLite's own busy timeout would have said: a conflict, retried by the caller
                raise busy("BEGIN IMMEDIATE", "database is locked (write queue)") from None
            self._holding = True
        try:
            self._session = self._sessionmaker()
            await self._session.begin()
        except BaseException as exc:
            if self._session is not None:
                try:
                    await self._session.rollback()
                    await self._session.close()
                finally:
                    self._session = None
            self._release()
            conflict = translate(exc)
            if conflict is not None:
                raise conflict from exc
            raise
        if self.read_only:
            # procure the connection now, marked, so that its BEGIN is a deferred one
            await self._session.connection(execution_options={READ_ONLY: True})
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if exc_type is None:
                if self.read_only and (session.new or session.dirty or session.deleted):
                    # a reader takes no write lock on SQLite: a write here could fail late; say so now
                    raise RuntimeError("a read-only unit of work changed rows")
                for hook in self.before_commit:
                    await hook(self)
                await session.commit()
                if self._on_identity_change is not None and session.info.get(_IDENTITY_CHANGED):
                    self._on_identity_change()
                for callback in self.after_commit:
                    callback()
            else:
                await session.rollback()
        except BaseException as failure:
            await session.rollback()
            conflict = translate(failure)
            if conflict is not None:
                raise conflict from failure
            raise
        finally:
            try:
                await session.close()
            finally:
                self._session = None
                self._release()
        if exc is not None:
            conflict = translate(exc)
            if conflict is not None:
                raise conflict from exc

    def _release(self) -> None:
        if self._gate is not None and self._holding:
            self._holding = False
            self._gate.release()


T = TypeVar("T")
R = TypeVar("R")
#: items written by one batch at most
GROUP_MAX = 200


class GroupCommit(Generic[T, R]):
    """Group commit: the items submitted while a batch is being written go together in the next one.

    ``write(items)`` writes a batch in one transaction and returns one outcome per item (a
    value, or an exception for that item alone). Each caller waits for the commit of the batch
    that holds its item, so whatever it answers afterwards (an ack, an HTTP reply) follows a
    durable write. A lone item waits for nothing: its batch starts at once; under load the
    batch is whatever arrived during the previous one (no timer, so no added latency). Should a
    whole batch fail, each item is written alone, so that one bad item fails only its caller.
    """

    def __init__(self, write: Callable[[list[T]], Awaitable[list[R | BaseException]]], name: str) -> None:
        self._write = write
        self._name = name
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Write ``item`` with the others waiting now; its outcome once the batch is committed."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._run(), name=self._name)
        # the batch is the writer task's: a caller that gives up (its client went away) only stops waiting
        return await done

    async def _run(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:GROUP_MAX], self._waiting[GROUP_MAX:]
                await self._write_batch(batch)
        except BaseException as exc:
            # cancelled (loop teardown) or a bug: no caller may wait for ever
            waiting, self._waiting = self._waiting, []
            for _item, done in [*batch, *waiting]:
                _resolve(done, exc)
            raise

    async def _write_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            outcomes = await self._write([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _resolve(batch[0][1], exc)
                return
            log.warning("%s: a batch of %s failed (%r); writing each alone", self._name, len(batch), exc)
            for item, done in batch:
                try:
                    _resolve(done, (await self._write([item]))[0])
                except Exception as alone:
                    _resolve(done, alone)
            return
        for (_item, done), outcome in zip(batch, outcomes, strict=True):
            _resolve(done, outcome)

    async def close(self) -> None:
        """Wait for the batch being written (shutdown, tests)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.gather(self._writer, return_exceptions=True)


def _resolve(done: asyncio.Future[R], outcome: R | BaseException) -> None:
    if done.done():
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
        done.exception()  # retrieved here: a caller that went away must not leave a warning behind
    else:
        done.set_result(outcome)


class Database:
    """The engine plus a factory of units of work; owned by the app (never global)."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessionmaker = make_sessionmaker(self.engine)
        #: moves whenever this process commits a change to a person, their roles, a tenant or a chat
        self.identity_version = 0
        #: SQLite: this process's writers take turns here (see :class:`WriteGate`)
        self._write_gate = WriteGate() if self.engine.dialect.name == "sqlite" else None
        #: ``await db.read(fn)``: ``fn(connection)`` in one read-only transaction, one hand-off on SQLite
        self.read = Reads(self.engine)

    def uow(self, *, urgent: bool = False) -> UnitOfWork:
        """A new unit of work (``urgent``: a short write that a platform's ack waits for goes first on SQLite)."""
        return UnitOfWork(self.sessionmaker, on_identity_change=self._identity_changed, write_gate=self._write_gate,
                          urgent=urgent)

    def _identity_changed(self) -> None:
        self.identity_version += 1

    def reader(self) -> UnitOfWork:
        """A unit of work for reading only (pages, exports): on SQLite it takes no write lock."""
        return UnitOfWork(self.sessionmaker, read_only=True)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    async def ping(self) -> bool:
        """Whether the database answers."""
        try:
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:  # any driver error means "not healthy"
            log.warning("database ping failed", exc_info=True)
            return False

    async def dispose(self) -> None:
        """Close every pooled connection (and the readers' threads)."""
        await self.read.close()
        await self.engine.dispose()
