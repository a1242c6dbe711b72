"""A killed process's leases and outbox claims are taken over at once by a restarted one on the same machine;
everyone else's run out as before."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import DISPATCHER
from bot.instances import dead_holders, host_tag, new_instance_id
from bot.sender import OutboxSender
from handlers.texts import shared_replies as replies
from storage import inbox
from storage.db import Database
from storage.models import InboxEvent, Order, OutboxMessage
from storage.outbox import claim_due
from tests.conftest import Bot, Clock
from tests.test_inbox_leases import count, order_event
from tests.test_outbox import FakeTransport, put


def gone_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_a_gone_process_of_this_host_tag_is_dead() -> None:
    me = new_instance_id()
    dead = f"{host_tag()}:{gone_pid()}:deadbeef"
    alive = f"{host_tag()}:{os.getppid()}:cafebabe"  # the process that started the tests
    same_pid = f"{host_tag()}:{os.getpid()}:01234567"  # our PID, another id: cannot tell
    elsewhere = f"otherhost.0badc0de:{gone_pid()}:deadbeef"  # another machine, container or boot
    assert dead_holders([me, dead, alive, same_pid, elsewhere, "garbage", "a:b:c"], me) == {dead}
    assert len(me) <= 40  # fits the lease_owner and claimed_by columns


async def test_a_killed_local_process_s_events_are_taken_at_once(team: Bot, clock: Clock) -> None:
    dispatcher = team.app[DISPATCHER]
    killed = f"{host_tag()}:{gone_pid()}:deadbeef"
    elsewhere = f"otherhost.0badc0de:{gone_pid()}:deadbeef"
    for owner, event_id in ((killed, "k-1"), (elsewhere, "e-1")):
        assert await inbox.record(team.db, "local", event_id, order_event(event_id).to_dict(), clock(), owner=owner)
    await dispatcher.recover()  # the lease of the killed one still runs, and is taken anyway
    async with team.db.uow() as uow:
        pending = list((await uow.session.execute(
            select(InboxEvent.event_id).where(InboxEvent.status == "PENDING"))).scalars())
    assert pending == ["e-1"] and await count(team.db, Order) == 1
    clock.advance(seconds=16)  # the other one's lease runs out as before
    await dispatcher.recover()
    assert await count(team.db, InboxEvent, InboxEvent.status == "PENDING") == 0
    assert await count(team.db, Order) == 2


async def test_a_killed_local_sender_s_claims_are_taken_at_once(db: Database, clock: Clock) -> None:
    await put(db, clock, 1, chat="u1", chat_type="single")
    await put(db, clock, 1, chat="u2", chat_type="single")
    async with db.uow() as uow:
        _first, second = await claim_due(uow, clock(), owner=f"{host_tag()}:{gone_pid()}:deadbeef")
        second.claimed_by = f"otherhost.0badc0de:{gone_pid()}:deadbeef"
    transport = FakeTransport()
    await OutboxSender(db, {"fake": transport}, replies, clock=clock).flush()
    assert [d.chat_id for d in transport.sent] == ["u1"]
    async with db.uow() as uow:
        statuses = list((await uow.session.execute(
            select(OutboxMessage.status).order_by(OutboxMessage.id))).scalars())
    assert statuses == ["SENT", "SENDING"]


async def test_a_recovery_pass_asked_for_during_another_waits_for_it(team: Bot, clock: Clock,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # the app's own pass (every 5 s) and one asked for meanwhile split the taken events between them:
    # the second returned at once while the first still processed, and what it reported was not yet so
    dispatcher = team.app[DISPATCHER]
    killed = f"{host_tag()}:{gone_pid()}:deadbeef"
    assert await inbox.record(team.db, "local", "k-2", order_event("k-2").to_dict(), clock(), owner=killed)
    inside, release = asyncio.Event(), asyncio.Event()
    process = dispatcher.process

    async def held(event: Any) -> Any:
        inside.set()
        await release.wait()
        return await process(event)

    monkeypatch.setattr(dispatcher, "process", held)
    first = asyncio.create_task(dispatcher.recover())
    await inside.wait()
    second = asyncio.create_task(dispatcher.recover())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not second.done()  # it waits for the pass under way
    release.set()
    assert await first == 1 and await second == 0
    assert await count(team.db, Order) == 1
