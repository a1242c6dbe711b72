"""``Database.read``: one read-only transaction, one hand-off on SQLite, nothing written."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from storage.db import Database
from storage.models import Counter


async def _set(db: Database, value: int) -> None:
    async with db.uow() as uow:
        if await uow.session.get(Counter, "t") is None:
            uow.session.add(Counter(name="t", value=value))
        else:
            await uow.session.execute(update(Counter).where(Counter.name == "t").values(value=value))


def _value(conn: Connection) -> int | None:
    return conn.execute(select(Counter.value).where(Counter.name == "t")).scalar_one_or_none()


async def test_a_read_sees_what_was_committed(db: Database) -> None:
    assert await db.read(_value) is None
    await _set(db, 7)
    assert await db.read(_value) == 7
    await _set(db, 8)
    assert await db.read(_value) == 8


async def test_a_read_that_writes_fails_and_writes_nothing(db: Database) -> None:
    await _set(db, 1)

    def write(conn: Connection) -> None:
        conn.execute(update(Counter).where(Counter.name == "t").values(value=99))

    with pytest.raises(RuntimeError, match="tried to write") as refused:  # a bug to fix, not a conflict to retry
        await db.read(write)
    assert "read" in str(refused.value.__cause__).lower()  # the database's own refusal, kept as the cause
    assert await db.read(_value) == 1


async def test_reads_go_on_while_a_writer_holds_its_transaction(db: Database) -> None:
    """A reader takes no write lock and waits for none: it sees the last commit, not the open change."""
    await _set(db, 1)
    async with db.uow() as uow:
        await uow.session.execute(update(Counter).where(Counter.name == "t").values(value=2))
        await uow.session.flush()
        assert await asyncio.wait_for(db.read(_value), 5) == 1
    assert await db.read(_value) == 2


async def test_on_sqlite_the_whole_read_is_one_hand_off_to_a_reader_thread(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL reads run on the event loop's own async connection: there is no thread")
    await _set(db, 3)
    handoffs = 0
    original = aiosqlite.Connection._execute

    async def counting(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal handoffs
        handoffs += 1
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    threads: list[int] = []

    def three(conn: Connection) -> list[int | None]:
        threads.append(threading.get_ident())
        return [_value(conn) for _ in range(3)]

    assert await db.read(three) == [3, 3, 3]
    assert handoffs == 0  # no statement went through aiosqlite's per-statement hand-off
    assert threads and threads[0] != threading.get_ident()  # and none ran on the event loop's thread


async def test_closing_waits_for_a_running_read(db: Database) -> None:
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL reads have no threads of their own to wait for: they hold a pooled connection")
    await _set(db, 5)
    started = threading.Event()

    def slow(conn: Connection) -> int | None:
        started.set()
        threading.Event().wait(0.2)
        return _value(conn)

    read = asyncio.create_task(db.read(slow))
    await asyncio.to_thread(started.wait, 5)
    await db.read.close()
    assert read.done()  # close returned only once the running read had finished
    assert await read == 5
    with pytest.raises(RuntimeError, match="closed"):
        await db.read(_value)


async def test_an_in_memory_database_reads_on_its_own_connection() -> None:
    """No file a second connection could open: reads run on the async engine (and the engine builds at all)."""
    memory = Database("sqlite+aiosqlite://")
    try:
        assert memory.read.thread_engine is None
        assert await memory.read(lambda conn: conn.exec_driver_sql("SELECT 41 + 1").scalar()) == 42
    finally:
        await memory.dispose()
