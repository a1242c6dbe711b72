"""``ReminderScheduler``'s guard around the jobs, driven by ``run_now`` (no APScheduler timing involved):
which job runs, when the sender is woken, errors logged and retried, one job at a time, and a stop
that waits for the running job even when its caller was cancelled."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from schedules.jobs import TickReport
from schedules.scheduler import ReminderScheduler
from storage.db import Database
from tests.conftest import Clock, make_settings
from tests.test_schedule_jobs import World, at


def scheduler(db: Database, clock: Clock, woken: list[int]) -> ReminderScheduler:
    return ReminderScheduler(db, make_settings(db.url), clock=clock, wake=lambda: woken.append(1))


async def test_run_now_digest_wakes_the_sender_once_per_day(db: Database, clock: Clock) -> None:
    world = World(db, clock)
    await world.person("m1", "王经理", "manager")
    u1 = await world.person("u1", "张三", "sales")
    pending = await world.order(u1, state="PENDING_APPROVAL")
    await world.approval(pending, "manager", at("2026-11-27", "10:00"))
    clock.set(at("2026-11-30", "09:00"))
    woken: list[int] = []
    sched = scheduler(db, clock, woken)
    await sched.run_now("digest")
    assert len(await world.sent("m1", prefix="digest:")) == 1 and woken == [1]
    await sched.run_now("digest")  # the day's marker is taken: nothing written, nobody woken
    assert len(await world.sent("m1", prefix="digest:")) == 1 and woken == [1]


async def test_run_now_weekly_without_subscribers_wakes_nobody(db: Database, clock: Clock) -> None:
    clock.set(at("2026-11-30", "09:00"))
    woken: list[int] = []
    await scheduler(db, clock, woken).run_now("weekly")
    assert woken == [] and await World(db, clock).sent(prefix="weekly:") == []


async def test_a_tick_is_logged_only_when_it_did_something(db: Database, clock: Clock,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    world = World(db, clock)
    woken: list[int] = []
    sched = scheduler(db, clock, woken)
    with caplog.at_level(logging.INFO, logger="gendan.schedules"):
        await sched.run_now("tick")
        assert not [r for r in caplog.records if r.getMessage().startswith("tick:")] and woken == []
        u1 = await world.person("u1", "张三", "sales")
        await world.remind(u1, clock(), "给华为打电话")
        await sched.run_now("tick")
    [logged] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("tick:")]
    assert "sent=1" in logged and "messages=1" in logged and woken == [1]
    assert await world.sent("u1") == ["⏰ 提醒：给华为打电话"]


async def test_a_failing_job_is_logged_with_a_reference_and_the_next_run_retries(
        db: Database, clock: Clock, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    sched = scheduler(db, clock, [])
    calls: list[str] = []

    async def broken() -> TickReport:
        calls.append("tick")
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return TickReport()

    monkeypatch.setattr(sched.jobs, "tick", broken)
    with caplog.at_level(logging.ERROR, logger="gendan.schedules"):
        await sched.run_now("tick")  # does not raise: the scheduler keeps running
        await sched.run_now("tick")
        await sched.run_now("fortnightly")  # an unknown job name is an error, logged the same way
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [re.sub(r"ref [0-9a-f]{6}", "ref X", r.getMessage()) for r in failures] == [
        "scheduler job tick failed (ref X)", "scheduler job fortnightly failed (ref X)"]
    assert [r.exc_info[0] if r.exc_info else None for r in failures] == [RuntimeError, ValueError]
    assert calls == ["tick", "tick"]


async def test_one_job_at_a_time_and_stop_waits_for_the_running_one(db: Database, clock: Clock,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    sched = scheduler(db, clock, [])
    started = asyncio.Event()
    release = asyncio.Event()
    trace: list[str] = []

    async def slow() -> TickReport:
        trace.append("enter")
        started.set()
        await release.wait()
        trace.append("exit")
        return TickReport()

    monkeypatch.setattr(sched.jobs, "tick", slow)
    first = asyncio.create_task(sched.run_now("tick"))
    await started.wait()
    second = asyncio.create_task(sched.run_now("tick"))
    first.cancel()  # as APScheduler cancels its coroutine jobs at shutdown: the work itself goes on
    stopping = asyncio.create_task(sched.stop())
    for _ in range(5):
        await asyncio.sleep(0)
    assert trace == ["enter"] and not stopping.done()  # the second waits for the lock; stop for both
    release.set()
    await stopping
    assert trace == ["enter", "exit", "enter", "exit"]
    await second
    assert first.cancelled() and second.exception() is None
    assert not sched.running and sched.next_runs() == []
