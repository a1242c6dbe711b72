"""The SQLite adapter (storage/sqlite_driver.py): one hand-off per statement, and the same answers.

The whole suite runs on it; these tests pin what it exists for (how many calls cross to the
connection's thread) and the corners that a one-call statement could get wrong: rowcount,
lastrowid, many-row executes, errors, and a transaction left open when a connection goes back
to the pool.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage import sqlite_driver
from storage.db import Database
from storage.migrate import upgrade


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    await upgrade(database.engine)
    async with database.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    yield database
    await database.dispose()


@pytest.fixture
def handoffs(monkeypatch: pytest.MonkeyPatch) -> Iterator[collections.Counter[str]]:
    """Every call aiosqlite runs on a connection's thread, by name."""
    seen: collections.Counter[str] = collections.Counter()
    original = aiosqlite.Connection._execute

    async def counting(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen[getattr(fn, "__qualname__", repr(fn))] += 1
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    yield seen


def test_the_engine_uses_the_adapter(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    assert isinstance(database.engine.sync_engine.dialect.loaded_dbapi, sqlite_driver.OneHopDBAPI)


async def test_a_read_is_one_handoff_per_statement_and_no_rollback_after_commit(
        sqlite_db: Database, handoffs: collections.Counter[str]) -> None:
    async with sqlite_db.reader() as uow:  # warm: the pool's first connection
        await uow.session.execute(text("SELECT 1"))
    handoffs.clear()
    async with sqlite_db.reader() as uow:
        assert (await uow.session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
        assert (await uow.session.execute(text("SELECT 2"))).scalar_one() == 2
    # BEGIN, two SELECTs, COMMIT; SQLAlchemy's own adapter takes 4 calls per statement and rolls
    # back the committed connection as the pool takes it back (16 in all)
    assert sum(handoffs.values()) == 4, handoffs
    assert handoffs["Connection.rollback"] == 0


async def test_rowcount_lastrowid_and_many(sqlite_db: Database) -> None:
    async with sqlite_db.engine.begin() as conn:
        first = await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert first.lastrowid == 1 and first.rowcount == 1
        many = await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "b"}, {"v": "c"}, {"v": "d"}])
        assert many.rowcount == 3
        changed = await conn.execute(text("UPDATE t SET v = v || '!' WHERE id > 1"))
        assert changed.rowcount == 3
        rows = (await conn.execute(text("SELECT id, v FROM t ORDER BY id"))).all()
        assert [tuple(r) for r in rows] == [(1, "a"), (2, "b!"), (3, "c!"), (4, "d!")]
        streamed = await conn.stream(text("SELECT v FROM t ORDER BY id"))  # server-side: SQLAlchemy's cursor
        assert [r[0] async for r in streamed] == ["a", "b!", "c!", "d!"]


async def test_an_error_rolls_back_what_the_transaction_wrote(sqlite_db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with sqlite_db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (v) VALUES ('x')"))
            await conn.execute(text("INSERT INTO t (v) VALUES ('x')"))  # UNIQUE
    async with sqlite_db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0


async def test_a_connection_returned_mid_transaction_is_rolled_back(sqlite_db: Database) -> None:
    # the pool's reset is the rollback the adapter skips only when no transaction is open
    conn = await sqlite_db.engine.connect()  # begins (BEGIN IMMEDIATE) with its first statement
    await conn.exec_driver_sql("INSERT INTO t (v) VALUES ('left open')")
    raw = await conn.get_raw_connection()
    assert raw.dbapi_connection is not None and not raw.dbapi_connection.idle
    await conn.close()  # back to the pool without a commit
    async with sqlite_db.engine.begin() as other:  # the write lock was given back
        assert (await other.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
        await other.exec_driver_sql("INSERT INTO t (v) VALUES ('next')")


async def test_a_streamed_write_still_commits_and_gives_the_lock_back(sqlite_db: Database) -> None:
    # a server-side cursor is SQLAlchemy's own, which does not say whether a transaction is open: the
    # adapter must not then skip the commit (the row would stay uncommitted, the write lock held)
    async with sqlite_db.engine.connect() as conn:
        streaming = await conn.execution_options(stream_results=True)
        result = await streaming.stream(text("INSERT INTO t (v) VALUES ('streamed') RETURNING id"))
        assert [row[0] async for row in result] == [1]
        await streaming.commit()
    other = Database(str(sqlite_db.engine.url), connect_args={"timeout": 1})
    try:
        async with other.uow() as uow:  # BEGIN IMMEDIATE: the lock is free
            assert (await uow.session.execute(text("SELECT v FROM t"))).scalar_one() == "streamed"
    finally:
        await other.dispose()
    async with sqlite_db.uow() as uow:  # the pooled connection is usable again
        await uow.session.execute(text("INSERT INTO t (v) VALUES ('next')"))
