"""Inbox leases: what a dead instance held is taken over within a lease, never processed twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import DISPATCHER, create_app
from bot.events import Actor, ChatMessage, ChatRef
from storage import inbox
from storage.db import Database
from storage.models import InboxEvent, Order, OutboxMessage
from tests.conftest import Bot, Clock, make_settings


def order_event(event_id: str, text: str = "/下单 华为 A100×2@300 交期12-15") -> ChatMessage:
    return ChatMessage("local", event_id, ChatRef("local", "g1"), Actor("local", "u1", "张三"), text)


async def count(db: Database, model: Any, *where: Any) -> int:
    async with db.uow() as uow:
        return int((await uow.session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


async def test_a_dead_instances_event_is_taken_over_when_its_lease_runs_out(team: Bot, clock: Clock) -> None:
    dispatcher = team.app[DISPATCHER]
    event = order_event("dead-1")
    assert await inbox.record(team.db, "local", "dead-1", event.to_dict(), clock(), owner="dead-instance")
    assert await dispatcher.recover() == 0  # the other instance may still be working on it
    clock.advance(seconds=14)
    assert await dispatcher.recover() == 0
    clock.advance(seconds=2)  # 16 s: past the 15 s lease, long before the old 2-minute wait
    assert await dispatcher.recover() == 1
    assert await dispatcher.recover() == 0
    assert await count(team.db, Order) == 1
    assert await count(team.db, OutboxMessage, OutboxMessage.reply_to == "dead-1") == 1
    async with team.db.uow() as uow:
        row = (await uow.session.execute(select(InboxEvent).where(InboxEvent.event_id == "dead-1"))).scalar_one()
    assert (row.status, row.lease_owner, row.lease_until) == ("DONE", dispatcher.instance_id, None)


async def test_a_living_instance_keeps_its_events_by_renewing(team: Bot, clock: Clock) -> None:
    dispatcher = team.app[DISPATCHER]
    event = order_event("slow-1")
    assert await dispatcher.record(event)  # ours, still "in flight" (its handler never ran)
    dispatcher.leases.inflight.add(("local", "slow-1"))
    other = create_app(make_settings("sqlite://"), clock=clock, run_sender=False, migrate=False,
                       db=team.db)[DISPATCHER]  # a second instance on the same database
    for _ in range(4):  # a minute of renewals every 10 s: the other instance never takes it
        clock.advance(seconds=10)
        await inbox.renew(team.db, dispatcher.instance_id, list(dispatcher.leases.inflight), clock())
        assert await other.recover() == 0
    clock.advance(seconds=16)  # we died (no renewal): now it is the other instance's
    assert await other.recover() == 1
    assert await count(team.db, Order) == 1


async def test_two_processors_of_one_event_commit_its_effect_and_reply_once(team: Bot, clock: Clock) -> None:
    """A lease taken over from a processor that was only slow: the second commit is rolled back whole."""
    dispatcher = team.app[DISPATCHER]
    event = order_event("twice-1")
    assert await dispatcher.record(event)
    first, second = await asyncio.gather(dispatcher.process(event), dispatcher.process(event))
    assert await count(team.db, Order) == 1
    assert await count(team.db, OutboxMessage, OutboxMessage.reply_to == "twice-1") == 1
    assert sorted([bool(first), bool(second)]) == [False, True]  # one answered, one was dropped silently
    assert await dispatcher.process(event) == []  # a late third run: nothing
    assert await count(team.db, Order) == 1


async def test_a_restarted_server_replays_at_once(db_url: tuple[str, dict[str, Any]], clock: Clock) -> None:
    url, kwargs = db_url
    db = Database(url, **kwargs)
    first = create_app(make_settings(url), clock=clock, run_sender=False, db=db)
    client = TestClient(TestServer(first))
    await client.start_server()
    for user in ("u1",):
        await client.post("/local/message", json={"user": user, "chat": "g1", "text": "/帮助"})
    await client.close()  # the first instance is gone; what it had recorded still holds its lease
    db = Database(url, **kwargs)
    gone = clock() - timedelta(seconds=20)
    for n in range(3):
        assert await inbox.record(db, "local", f"killed-{n}", order_event(f"killed-{n}").to_dict(), gone,
                                  owner="killed-instance")
    await db.dispose()
    second = create_app(make_settings(url), clock=clock, run_sender=False, db=Database(url, **kwargs))
    client = TestClient(TestServer(second))
    await client.start_server()  # the recovery loop's first pass runs at start, not a minute later
    try:
        sdb = second[DISPATCHER].db
        async with asyncio.timeout(10):
            while await count(sdb, InboxEvent, InboxEvent.status == "PENDING") > 0:
                await asyncio.sleep(0.05)
        assert await count(sdb, Order) == 3
        assert await count(sdb, OutboxMessage, OutboxMessage.reply_to.like("killed-%")) == 3
    finally:
        await client.close()
