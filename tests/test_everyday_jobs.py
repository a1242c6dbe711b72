"""Issue 14, item 13: ``gendan jobs`` lists the reminders the rules will create next (who, when, why),
computed by the scheduler's own rule functions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from schedules.calendar import Calendar
from schedules.forecast import HORIZON, moments, planned
from schedules.listing import upcoming
from storage.db import Database
from storage.models import Reminder, Ticket
from tests.conftest import Clock, make_settings
from tests.test_schedule_jobs import World, at


@pytest.fixture
async def world(db: Database, clock: Clock) -> World:
    return World(db, clock)


async def test_an_order_due_tomorrow_shows_before_the_sweep(world: World) -> None:
    u1 = await world.person("u1", "张三", "sales")
    await world.person("w1", "仓库老陈", "warehouse")
    await world.order(u1, due=date(2026, 11, 28))  # Saturday; today is Friday 11-27
    lines = await upcoming(world.db, make_settings(world.db.url), at("2026-11-27", "10:00"))
    assert lines[3:] == [
        "0 pending reminder(s)",
        "planned by the rules, next 7 days (created when due):",
        "2026-11-26 09:00  delivery_soon local:u1 张三  #1 交期临近 (at the next sweep)",
        "2026-11-26 09:00  delivery_soon local:w1 仓库老陈  #1 交期临近 (at the next sweep)",
        "2026-11-30 09:00  delivery_overdue local:u1 张三  #1 交期已过",
        "3 planned reminder(s)",
    ]
    # once the sweep has stored them, they are listed as stored reminders and no longer as planned
    world.clock.set(at("2026-11-27", "10:00"))
    await world.jobs().plan(world.clock())
    lines = await upcoming(world.db, make_settings(world.db.url), at("2026-11-27", "10:01"))
    assert "2026-11-30 09:00  delivery_overdue local:u1 张三  #1 交期已过" in lines
    assert lines[-1] == "1 planned reminder(s)"


async def test_the_forecast_is_what_the_scheduler_then_creates(world: World) -> None:
    """Every kind of rule: the forecast made now equals the rows the ticks of the next week create."""
    m1 = await world.person("m1", "王经理", "manager")
    u1 = await world.person("u1", "张三", "sales", manager=m1)
    await world.person("w1", "仓库老陈", "warehouse")
    await world.person("f1", "财务小周", "finance")
    await world.person("s1", "客服小吴", "service")
    now = at("2026-11-27", "10:20")
    world.clock.set(now)
    waiting = await world.order(u1, state="PENDING_APPROVAL", due=date(2026, 12, 20))
    await world.approval(waiting, "manager", now - timedelta(hours=1))
    await world.order(u1, due=date(2026, 11, 30))
    await world.order(u1, due=date(2026, 11, 20))  # overdue already
    await world.order(u1, shipped=10, terms="月结30天", shipped_at=at("2026-09-30", "10:00"))  # payment late
    shipped = await world.order(u1, shipped=10, paid=1000)
    async with world.db.uow() as uow:
        uow.session.add(Ticket(no=1, order_id=shipped, text="坏点", status="RESOLVED", opened_by=u1,
                               resolved_at=at("2026-11-26", "16:00")))
    cal = Calendar.from_settings(make_settings(world.db.url))
    forecast = await planned(world.db, cal, now)
    assert {d.kind for d in forecast} >= {"approval", "delivery_soon", "delivery_overdue", "payment_overdue",
                                          "payment_escalation", "payment_dunning", "visit"}, forecast
    jobs = world.jobs()
    for t in moments(now, HORIZON):
        world.clock.set(t)
        await jobs.plan(t)
    async with world.db.uow() as uow:
        created = {(r.dedupe_key, r.kind, r.person_id, r.due_at) for r in
                   (await uow.session.execute(select(Reminder))).scalars()}
    assert created == {(d.key, d.kind, d.person_id, d.due_at) for d in forecast}
    assert await planned(world.db, cal, now) == []  # nothing left that is not stored
