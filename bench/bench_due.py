"""Scheduler benchmark: the due set with 1,000,000 orders (100,000 open), and claiming 10,000 reminders.

Goals (README, "Reminders and scheduled jobs"): every per-tick due-set query and the hourly delivery sweep
query under 50 ms (median of several runs); 10,000 due reminders claimed and handed to
the outbox in under 10 s. The daily payment sweep is reported without a goal.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.data import Shape, Tables, build, load_postgres, load_sqlite
from bot.config import Settings
from schedules import facts
from schedules.calendar import Calendar
from schedules.jobs import Jobs
from storage.db import Database
from storage.migrate import upgrade
from storage.models import OutboxMessage, Reminder

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=TZ)  # a Wednesday, in working hours
DUE_SET_GOAL_MS = 50.0
CLAIM_GOAL_S = 10.0


@dataclass
class Result:
    """One measured figure."""

    backend: str
    name: str
    value: float
    unit: str
    goal: float | None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.goal is None or self.value <= self.goal


async def _median_ms(fn: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, Any]:
    out: Any = None
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = await fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), out


async def measure(db: Database, backend: str, shape: Shape, runs: int) -> list[Result]:
    """The due-set queries (read-only, rolled back) and then the claim of every due reminder."""
    settings = Settings(_env_file=None, database_url=db.url)  # type: ignore[call-arg]
    cal = Calendar.from_settings(settings)
    today = cal.today(NOW)
    res: list[Result] = []

    async def in_tx(fn: Callable[[Any], Awaitable[Any]]) -> Any:
        uow = db.uow()
        async with uow:
            value = await fn(uow)
            await uow.session.rollback()  # nothing is claimed by a measurement
            return value

    def due_reminders(at: datetime) -> Callable[[Any], Awaitable[int]]:
        async def query(uow: Any) -> int:
            return len(await uow.agenda.claim_due(at, False, 5000))
        return query

    # the 10,000 due reminders are spread over the last 10,000 s: 100 s earlier, 100 are due
    typical = NOW - timedelta(seconds=shape.due_reminders - 100)
    checks: list[tuple[str, Callable[[Any], Awaitable[Any]], float | None]] = [
        ("due set: reminders (a tick with ~100 due)", due_reminders(typical), DUE_SET_GOAL_MS),
        ("reminders: a 5000-row batch of the backlog", due_reminders(NOW), None),
        ("due set: approvals waiting ≥ 4 h", lambda u: facts.waiting_approvals(u, NOW), DUE_SET_GOAL_MS),
        ("due set: tickets to 回访", lambda u: facts.resolved_tickets(u, NOW), DUE_SET_GOAL_MS),
        ("due set: deliveries (hourly sweep)", lambda u: facts.delivery_candidates(u, cal, today), DUE_SET_GOAL_MS),
        ("payments (daily sweep)", lambda u: u.agenda.unpaid_orders(), None),
    ]
    for name, fn, goal in checks:
        ms, out = await _median_ms(lambda fn=fn: in_tx(fn), runs)  # type: ignore[misc]
        rows = out if isinstance(out, int) else len(out)
        res.append(Result(backend, name, ms, "ms", goal, f"{rows} rows"))
    jobs = Jobs(db, settings, lambda: NOW)
    t0 = time.perf_counter()
    rep = await jobs.deliver(NOW)  # only the custom reminders exist yet: the 10,000 due ones
    elapsed = time.perf_counter() - t0
    async with db.uow() as uow:
        left = (await uow.session.execute(select(func.count()).where(
            Reminder.status == "PENDING", Reminder.due_at <= NOW))).scalar_one()
        outbox = (await uow.session.execute(select(func.count(OutboxMessage.id)))).scalar_one()
    assert left == 0 and rep.sent == shape.due_reminders, (left, rep)
    res.append(Result(backend, f"claim {rep.sent:,} due reminders → outbox", elapsed, "s", CLAIM_GOAL_S,
                      f"{outbox} messages to {shape.people} people"))
    t0 = time.perf_counter()
    created = await jobs.plan(NOW)
    res.append(Result(backend, "plan: rules → reminder rows (first of the day)",
                      (time.perf_counter() - t0) * 1000, "ms", None, f"{created:,} rows created"))
    t0 = time.perf_counter()
    again = await jobs.plan(NOW + timedelta(hours=1))
    res.append(Result(backend, "plan: the next hour's sweep", (time.perf_counter() - t0) * 1000, "ms", None,
                      f"{again:,} rows created"))
    t0 = time.perf_counter()
    rep = await jobs.deliver(NOW + timedelta(hours=1))
    res.append(Result(backend, "deliver the rule reminders", time.perf_counter() - t0, "s", None,
                      f"{rep.sent:,} sent in {rep.messages:,} messages"))
    return res


async def run_sqlite(shape: Shape, runs: int, tables: Tables) -> list[Result]:
    """A fresh SQLite file in a temporary directory."""
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        db = Database(f"sqlite+aiosqlite:///{path}")
        await upgrade(db.engine)
        t0 = time.perf_counter()
        await asyncio.to_thread(load_sqlite, path, tables)
        load = time.perf_counter() - t0
        try:
            return [Result("sqlite", "bulk load", load, "s", None), *await measure(db, "sqlite", shape, runs)]
        finally:
            await db.dispose()


async def run_postgres(url: str, shape: Shape, runs: int, tables: Tables) -> list[Result]:
    """A fresh schema on the given server, dropped afterwards."""
    schema = "bench_" + secrets.token_hex(4)
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        await upgrade(db.engine)
        t0 = time.perf_counter()
        await load_postgres(db.engine, schema, tables)
        load = time.perf_counter() - t0
        return [Result("postgresql", "bulk load", load, "s", None), *await measure(db, "postgresql", shape, runs)]
    finally:
        await db.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def build_tables(shape: Shape) -> tuple[Tables, float]:
    """The rows (built once, loaded into each backend)."""
    t0 = time.perf_counter()
    return build(shape, NOW), time.perf_counter() - t0
