"""SQLite writers of one process take turns: first come first served, inbox records first, no lost turns."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from storage import db as storage_db
from storage.db import Database, WriteGate
from storage.models import KeyValue


async def _holder(gate: WriteGate, name: str, order: list[str], urgent: bool = False,
                  hold: asyncio.Event | None = None) -> None:
    await gate.acquire(urgent)
    order.append(name)
    if hold is not None:
        await hold.wait()
    gate.release()


async def test_turns_are_first_come_first_served_with_urgent_ones_first() -> None:
    gate = WriteGate()
    order: list[str] = []
    hold = asyncio.Event()
    first = asyncio.create_task(_holder(gate, "first", order, hold=hold))
    await asyncio.sleep(0)
    tasks = [asyncio.create_task(_holder(gate, name, order, urgent=name.startswith("ack")))
             for name in ("cmd1", "cmd2", "ack1", "cmd3", "ack2")]
    for _ in range(5):
        await asyncio.sleep(0)
    assert order == ["first"]  # everyone else waits for the turn
    hold.set()
    await asyncio.gather(first, *tasks)
    assert order == ["first", "ack1", "ack2", "cmd1", "cmd2", "cmd3"]


async def test_a_cancelled_waiter_never_keeps_the_turn() -> None:
    gate = WriteGate()
    order: list[str] = []
    await gate.acquire()
    gone = asyncio.create_task(gate.acquire())
    later = asyncio.create_task(_holder(gate, "later", order))
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    gate.release()
    await later
    assert order == ["later"]
    await asyncio.wait_for(gate.acquire(), 1)  # free again
    gate.release()


async def test_a_turn_handed_over_during_cancellation_is_passed_on() -> None:
    gate = WriteGate()
    order: list[str] = []
    await gate.acquire()
    racing = asyncio.create_task(gate.acquire())
    later = asyncio.create_task(_holder(gate, "later", order))
    await asyncio.sleep(0)
    gate.release()  # the turn goes to ``racing`` ...
    racing.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await racing
    await asyncio.wait_for(later, 5)
    assert order == ["later"]


async def test_concurrent_units_of_work_all_commit_in_turn(db: Database) -> None:
    async def write(i: int) -> None:
        async with db.uow(urgent=i % 3 == 0) as uow:
            uow.session.add(KeyValue(key=f"k{i}", value=str(i)))
            await asyncio.sleep(0.001)  # hold the turn across an await, as a command does

    await asyncio.gather(*(write(i) for i in range(40)))
    async with db.reader() as uow:
        assert await uow.session.scalar(
            select(func.count()).select_from(KeyValue).where(KeyValue.key.startswith("k"))) == 40


async def test_a_writer_that_waits_too_long_gets_a_conflict_not_a_hang(tmp_path: Any,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    monkeypatch.setattr(storage_db, "WRITE_QUEUE_TIMEOUT", 0.2)
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/gate.db")
    try:
        async with db.uow():
            with pytest.raises(OperationalError, match="write queue"):
                async with db.uow():
                    pass  # a second writer of the same task would wait forever for the first
        async with db.uow():
            pass  # and the turn is free again afterwards
    finally:
        await db.dispose()
