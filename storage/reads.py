"""Reads in one hand-off: a function of a synchronous connection, run in one read-only transaction.

The hot read of the bot (the card of ``/查单``, its history and its shortage line) is a few short
statements. Through the async stack each of them cost more than the work it asked for: on SQLite
every statement is a hand-off to aiosqlite's connection thread and back (a queue put, a thread
wake-up, two GIL hand-overs, a loop wake-up), and the async session around them (pool checkout,
BEGIN, COMMIT, return, each through a greenlet) cost as much again. Measured in-process, 32 at once:
an empty async reader cost 0.65 ms of CPU and the card's statements 0.6 ms more, where the same
statements as one synchronous function on a worker thread cost 0.2 ms in all.

So :class:`Reads` runs ``fn(connection)``:

* SQLite (a file): on a synchronous connection of its own small pool, in one of its own worker
  threads, inside ``BEGIN`` … ``COMMIT`` (one snapshot for every statement of ``fn``). The event
  loop awaits the thread's future and never blocks; the connection is ``query_only``, so a read
  that tried to write fails instead of taking SQLite's write lock behind the writers' queue.
* PostgreSQL (and an in-memory SQLite database, which no second connection can see): on the async
  engine through ``run_sync`` in one transaction; asyncpg has no thread to hand off to, and the
  session machinery is skipped all the same.

``fn`` runs SQLAlchemy Core statements on the connection it is given, the same statements on both
databases; it must only read, and must do bounded work (it holds a worker thread or a connection).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.conflicts import translate
from storage.engine import READ_ONLY, is_memory

T = TypeVar("T")

#: worker threads (and synchronous connections) for SQLite reads: SQLite runs a statement with the GIL
#: released, so a few threads keep reads going while the loop works; more would only queue for the GIL
READ_THREADS = 4
#: how long a read waits for a lock SQLite holds briefly (a WAL checkpoint's restart), as the writers do
BUSY_TIMEOUT_S = 30


class Reads:
    """``await reads(fn)``: ``fn(connection)`` in one read-only transaction, one hand-off on SQLite."""

    def __init__(self, engine: AsyncEngine, threads: int = READ_THREADS) -> None:
        self._engine = engine
        self._sync: Engine | None = None
        self._threads: ThreadPoolExecutor | None = None
        url = engine.url
        if url.get_backend_name() == "sqlite" and not is_memory(url):
            self._sync = _sqlite_reader(url.set(drivername="sqlite").render_as_string(hide_password=False), threads)
            self._threads = ThreadPoolExecutor(threads, thread_name_prefix="gendan-read")

    async def __call__(self, fn: Callable[[Connection], T]) -> T:
        """The value of ``fn(connection)``; a driver's conflict leaves as storage's own exception."""
        try:
            if self._sync is not None:
                if self._threads is None:
                    raise RuntimeError("Database.read used after the database was closed")
                return await asyncio.get_running_loop().run_in_executor(self._threads, self._in_thread, fn)
            async with self._engine.connect() as conn:
                # on PostgreSQL REPEATABLE READ READ ONLY: one snapshot for every statement of ``fn`` (as on
                # SQLite), and a read that tried to write fails (as on SQLite's query_only connections); both
                # are reset when the connection goes back to the pool
                options: dict[str, Any] = {READ_ONLY: True}
                if conn.dialect.name == "postgresql":
                    options.update(postgresql_readonly=True, isolation_level="REPEATABLE READ")
                reader = await conn.execution_options(**options)
                async with reader.begin():
                    return await reader.run_sync(fn)
        except Exception as exc:
            if _tried_to_write(exc):
                raise RuntimeError("a read (Database.read) tried to write") from exc
            conflict = translate(exc)
            if conflict is not None:
                raise conflict from exc
            raise

    @property
    def thread_engine(self) -> Engine | None:
        """The synchronous engine of the reader threads (SQLite files), or None (reads use the async engine)."""
        return self._sync

    def _in_thread(self, fn: Callable[[Connection], T]) -> T:
        assert self._sync is not None
        with self._sync.connect() as conn, conn.begin():
            return fn(conn)

    async def close(self) -> None:
        """Let running reads finish, then close the threads and connections."""
        if self._threads is not None:
            threads, self._threads = self._threads, None
            await asyncio.to_thread(threads.shutdown, True)
        if self._sync is not None:
            self._sync.dispose()


def _tried_to_write(exc: BaseException) -> bool:
    """A write refused by a read-only transaction: a bug in the read function, not a conflict to retry."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, sqlite3.OperationalError):
        return "readonly" in str(orig).lower() or "read-only" in str(orig).lower()
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return str(code) == "25006"  # PostgreSQL: read_only_sql_transaction


def _sqlite_reader(url: str, threads: int) -> Engine:
    """Synchronous connections to the same file: deferred transactions, reading only."""
    engine = create_engine(url, pool_size=threads, max_overflow=0,
                           connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # transactions are ours (below), not the driver's
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA query_only=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")  # deferred: a snapshot at the first read, no write lock

    return engine
