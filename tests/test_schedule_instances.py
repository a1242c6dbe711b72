"""Several server instances on one PostgreSQL database, and the APScheduler wrapper's lifecycle."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from schedules.jobs import Jobs
from schedules.scheduler import DIGEST_ID, TICK_ID, WEEKLY_ID, ReminderScheduler
from storage.db import Database
from storage.migrate import upgrade
from storage.models import OutboxMessage, Reminder
from tests.conftest import Clock, make_settings
from tests.test_schedule_jobs import World, at


async def test_two_instances_claim_the_same_due_set_each_reminder_once(
        db_url: tuple[str, dict[str, Any]], clock: Clock) -> None:
    url, kwargs = db_url
    if not url.startswith("postgresql"):
        pytest.skip("SQLite is single-writer (BEGIN IMMEDIATE): several instances need PostgreSQL")
    first, second = Database(url, **kwargs), Database(url, **kwargs)
    try:
        await upgrade(first.engine)
        world = World(first, clock)
        people = [await world.person(f"u{i}", f"销售{i}", "sales") for i in range(20)]
        managers = [await world.person(f"m{i}", f"主管{i}", "manager") for i in range(3)]
        for i in range(400):
            await world.remind(people[i % 20], at("2026-11-27", "09:00") + timedelta(seconds=i), f"R{i}")
        for i in range(10):  # rule reminders: both instances materialise the same keys at once
            order = await world.order(people[i], state="PENDING_APPROVAL")
            await world.approval(order, "manager", at("2026-11-26", "10:00"))
        settings = make_settings(url)
        a = Jobs(first, settings, clock, batch_size=25)
        b = Jobs(second, settings, clock, batch_size=25)
        clock.set(at("2026-11-27", "10:00"))
        for _ in range(3):
            await asyncio.gather(a.tick(), b.tick())
        async with first.uow() as uow:
            sent = list((await uow.session.execute(select(OutboxMessage.chat_id, OutboxMessage.message).where(
                OutboxMessage.event_key.like("remind:%")))).all())
            statuses = dict((await uow.session.execute(
                select(Reminder.status, func.count()).group_by(Reminder.status))).all())
        lines = Counter(re.findall(r"提醒：(R\d+)", "\n".join(m["text"] for _, m in sent)))
        assert set(lines) == {f"R{i}" for i in range(400)} and set(lines.values()) == {1}
        approval_lines = Counter((chat, no) for chat, m in sent for no in re.findall(r"#(\d+) 待你审批", m["text"]))
        assert len(approval_lines) == 30 and set(approval_lines.values()) == {1}  # 10 steps × 3 主管, once each
        assert statuses == {"SENT": 430} and len(managers) == 3
    finally:
        await first.dispose()
        await second.dispose()


def test_scheduler_is_cheap_to_construct_without_a_loop_or_database(tmp_path: Path) -> None:
    sched = ReminderScheduler(Database(f"sqlite+aiosqlite:///{tmp_path / 'never' / 'opened.db'}"),
                              make_settings("sqlite+aiosqlite://"))
    assert not sched.running and sched.next_runs() == []


async def test_scheduler_runs_a_first_tick_at_start_and_stops_cleanly(db: Database, clock: Clock) -> None:
    world = World(db, clock)
    u1 = await world.person("u1", "张三", "sales")
    await world.remind(u1, clock() - timedelta(hours=1), "开机补发")
    woken: list[int] = []
    sched = ReminderScheduler(db, make_settings(db.url), clock=clock, wake=lambda: woken.append(1),
                              tick_seconds=3600)
    sched.start()
    try:
        assert {job for job, _ in sched.next_runs()} == {TICK_ID, DIGEST_ID, WEEKLY_ID}
        for _ in range(200):
            if await world.sent("u1"):
                break
            await asyncio.sleep(0.02)
    finally:
        await sched.stop()
    assert await world.sent("u1") == ["⏰ 提醒：开机补发"] and woken
    assert not sched.running
    sched.start()  # a second start after stop re-registers the same ids
    await sched.stop()
