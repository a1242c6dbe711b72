"""The engine: per-dialect settings of every connection the bot makes.

SQLite is the embedded default: WAL mode, a busy timeout, foreign keys on, and every writing
transaction begins IMMEDIATE, so that two writers to the same order are serialised instead of failing
late with "database is locked"; it is reached through :mod:`storage.sqlite_driver`. PostgreSQL runs
without JIT, and a pooled connection the server closed is replaced when it is taken.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage import sqlite_driver

#: execution option marking a read-only unit of work (SQLite: a deferred transaction)
READ_ONLY = "gendan_read_only"
#: connections kept open, and opened beyond them at a peak (then closed on return). SQLAlchemy's
#: default of 5 + 10 was below what one instance holds at once under load (8 commands, the inbox's
#: and the closing writes' group commits, the outbox sender, the scheduler, dashboard and API
#: readers), so a burst opened and closed a connection for most commands: on SQLite a new thread,
#: a file open and four PRAGMAs each (a quarter of a /查单's CPU); on PostgreSQL a new server
#: process each. Two instances on one PostgreSQL keep 2 × 16 of its 100 default connections.
POOL_SIZE = 16
POOL_OVERFLOW = 16


def make_engine(url: str, *, foreign_keys: bool = True, **kwargs: Any) -> AsyncEngine:
    """Create the async engine for ``url`` with the per-dialect settings above.

    ``foreign_keys=False`` is for migrations only: SQLite's batch ALTER rebuilds a table by
    dropping it, which with foreign keys on would cascade into every child table.
    """
    parsed = make_url(url)
    if "poolclass" not in kwargs and not is_memory(parsed):  # in memory: one connection's own (a StaticPool)
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", POOL_OVERFLOW)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30})
        if parsed.get_driver_name() == "aiosqlite":
            # one thread hand-off per statement instead of four (see storage/sqlite_driver.py)
            kwargs.setdefault("module", sqlite_driver.dbapi())
        engine = create_async_engine(url, **kwargs)
        _sqlite_setup(engine, foreign_keys)
        return engine
    # no JIT: compiling a dashboard aggregate or an export's read took 0.2–0.5 s, longer than running it,
    # and the bot's short statements never gain from it
    connect_args = dict(kwargs.get("connect_args") or {})
    connect_args["server_settings"] = {"jit": "off", **connect_args.get("server_settings", {})}
    kwargs["connect_args"] = connect_args
    if parsed.get_driver_name() != "asyncpg":
        kwargs.setdefault("pool_pre_ping", True)  # the checkout check below knows asyncpg's connections only
    engine = create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _drop_closed_at_checkout(engine)
    return engine


def is_memory(url: URL) -> bool:
    """Whether ``url`` is an in-memory SQLite database (no file another connection could open)."""
    return url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or url.query.get("mode") == "memory")


def _drop_closed_at_checkout(engine: AsyncEngine) -> None:
    """A pooled connection the server closed is replaced when it is taken, without a round trip.

    A restart, an idle timeout or ``pg_terminate_backend`` closes the socket, and asyncpg knows as
    soon as the event loop has read that: this check replaces ``pool_pre_ping``, whose ``SELECT``
    per checkout cost 0.2 ms of CPU, two per command. A connection that dies unseen (a silent
    network) still fails its first statement, and the pool then drops every connection of that age.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        is_closed = getattr(record.driver_connection, "is_closed", None)
        if is_closed is not None and is_closed():
            # the pool discards it and takes another (SQLAlchemy's documented disconnect handling)
            raise DisconnectionError("the database server closed this connection")


def _sqlite_setup(engine: AsyncEngine, foreign_keys: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver so that we can BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # readers (dashboard pages, exports) take no write lock, so they never hold up a command
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")
