"""What one command costs inside the server: CPU, SQL statements and thread hand-offs per command.

The ingest benchmark's req/s and p99 move with whatever else the machine runs; this one does not
need a quiet machine as much. It runs the real dispatcher (``bot.app.build_core``: every router,
the group commits, the identity cache) in this process, without HTTP, on a fresh database, and
sends it ``/查单`` and ``/下单`` (two lines) as the local adapter would: one after another, then 32 at
once. Per command it reports the process's CPU time (every thread: the SQLite drivers' threads work
too), the SQL statements the engines ran (the app's and, on SQLite, ``Database.read``'s reader threads') and,
on SQLite, the calls handed to other threads: aiosqlite's connection threads, one per statement, and
the reader threads, one per read (each a queue put, a thread wake-up, a GIL hand-over and a loop wake-up).

``python -m bench --only cost [--pg URL]``. A diagnostic: no goal, no exit status of its own.
"""

from __future__ import annotations

import asyncio
import collections
import os
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiosqlite
from sqlalchemy import event

from bench.ingest import READ, WRITE, fresh_pg_database
from bot.app import build_core
from bot.config import Settings
from bot.dispatch import Dispatcher
from bot.events import Actor, ChatMessage, ChatRef
from storage.migrate import upgrade
from storage.reads import Reads

SEQUENTIAL, CONCURRENT, AT_ONCE = 400, 640, 32


@dataclass(frozen=True)
class Cost:
    """One command on one backend, sent one at a time or 32 at once."""

    backend: str
    command: str
    mode: str
    cpu_ms: float
    wall_ms: float
    statements: float
    handoffs: float | None


def _event(text_: str) -> ChatMessage:
    return ChatMessage(platform="local", event_id="m-" + secrets.token_hex(8),
                       chat=ChatRef("local", "g1", "group"),
                       actor=Actor("local", "u1", "张三", tenant="local"), text=text_, mentioned_bot=False)


@contextmanager
def _handoffs() -> Iterator[collections.Counter[str]]:
    """Count the calls handed to other threads while inside: aiosqlite's (one per statement) and
    ``Database.read``'s (one per read, whatever its statements)."""
    seen: collections.Counter[str] = collections.Counter()
    original = aiosqlite.Connection._execute
    original_read = Reads._in_thread

    async def counting(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen["calls"] += 1
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    def counting_read(self: Reads, fn: Any) -> Any:
        seen["calls"] += 1
        return original_read(self, fn)

    aiosqlite.Connection._execute = counting  # type: ignore[method-assign]
    Reads._in_thread = counting_read  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        aiosqlite.Connection._execute = original  # type: ignore[method-assign]
        Reads._in_thread = original_read  # type: ignore[method-assign]


async def _measure(dispatcher: Dispatcher, backend: str, command: str, statements: list[int]) -> list[Cost]:
    async def one() -> None:
        replies = await dispatcher.handle(_event(command))
        if not replies or not replies[0].text.startswith("#"):
            raise RuntimeError(f"{command!r} was not answered with an order: {replies!r}")

    async def burst(n: int) -> None:
        async def client(k: int) -> None:
            for _ in range(k):
                await one()
        await asyncio.gather(*(client(n // AT_ONCE) for _ in range(AT_ONCE)))

    async def timed(mode: str, n: int, run: Callable[[], Awaitable[None]]) -> Cost:
        with _handoffs() as seen:
            statements[0] = 0
            cpu, wall = time.process_time(), time.perf_counter()
            await run()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        return Cost(backend, command.split()[0], mode, 1000 * cpu / n, 1000 * wall / n, statements[0] / n,
                    seen["calls"] / n if backend == "sqlite" else None)

    async def sequential() -> None:
        for _ in range(SEQUENTIAL):
            await one()

    for _ in range(50):  # warm: caches, compiled statements, pooled connections
        await one()
    return [await timed("one at a time", SEQUENTIAL, sequential),
            await timed(f"{AT_ONCE} at once", CONCURRENT, lambda: burst(CONCURRENT))]


async def _backend(backend: str, url: str) -> list[Cost]:
    env: dict[str, Any] = {"database_url": url, "local_enabled": True, "admins": "local:boss", "approval_t1": 1_000_000,
           "approval_t2": 2_000_000, "rate_person_per_minute": 10**9, "rate_chat_per_minute": 10**9}
    settings = Settings(_env_file=None, **env)  # type: ignore[call-arg]
    db, dispatcher = build_core(settings)
    statements = [0]

    def _count(*_args: Any) -> None:
        statements[0] += 1

    # the app's engine, and the reader threads' (SQLite's Database.read)
    for engine in (db.engine.sync_engine, *([db.read.thread_engine] if db.read.thread_engine else [])):
        event.listen(engine, "before_cursor_execute", _count)

    try:
        await upgrade(db.engine)
        await dispatcher.handle(_event(WRITE))  # order #1, which READ shows
        return [*await _measure(dispatcher, backend, READ, statements),
                *await _measure(dispatcher, backend, WRITE, statements)]
    finally:
        await dispatcher.drain()
        await db.dispose()


async def run_cost(pg_url: str | None, sqlite: bool = True) -> list[Cost]:
    """Both commands on SQLite (a temporary file) and on PostgreSQL (a fresh database) when given."""
    results: list[Cost] = []
    if sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            results += await _backend("sqlite", f"sqlite+aiosqlite:///{os.path.join(tmp, 'cost.db')}")
    if pg_url:
        async with fresh_pg_database(pg_url, "bench_cost") as url:
            results += await _backend("postgresql", url)
    return results


def print_cost(results: list[Cost]) -> None:
    """The table."""
    print(f"{'backend':<11} {'command':<6} {'sent':<14} {'CPU ms':>7} {'wall ms':>8} {'statements':>10} "
          f"{'hand-offs':>9}")
    for r in results:
        handoffs = f"{r.handoffs:9.1f}" if r.handoffs is not None else f"{'—':>9}"
        print(f"{r.backend:<11} {r.command:<6} {r.mode:<14} {r.cpu_ms:7.2f} {r.wall_ms:8.2f} {r.statements:10.1f} "
              f"{handoffs}")
