"""The background outbox sender as the server runs it (``run_sender=True``): woken by commits, it
delivers, retries after a transient error, survives a failing pass, and stops with the app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import DISPATCHER, SENDER, create_app
from bot.outbound import Message
from storage.db import Database
from storage.models import OutboxMessage
from storage.outbox import Envelope
from storage.outgoing import write_all
from tests.conftest import Clock, make_settings
from tests.test_outbox import FakeTransport


async def until(cond: Callable[[], Awaitable[bool]], what: str, timeout: float = 30.0) -> None:
    """Poll ``cond`` every 20 ms; fail naming ``what`` after a generous deadline."""
    async with asyncio.timeout(timeout):
        while not await cond():
            await asyncio.sleep(0.02)
    assert await cond(), what


class Running:
    def __init__(self, client: TestClient[Any, Any], transport: FakeTransport, clock: Clock) -> None:
        self.client, self.transport, self.clock = client, transport, clock
        self.app = client.app
        assert self.app is not None
        self.db: Database = self.app[DISPATCHER].db

    async def put(self, text: str) -> None:
        async with self.db.uow() as uow:
            await write_all(uow, [Envelope("fake", "u1", "single", Message.plain(text).to_dict())], self.clock())
        self.app[DISPATCHER].wake_sender()

    async def statuses(self) -> list[str]:
        async with self.db.uow() as uow:
            return list((await uow.session.execute(select(OutboxMessage.status).where(
                OutboxMessage.platform == "fake").order_by(OutboxMessage.id))).scalars())


@pytest.fixture
async def running(db_url: tuple[str, dict[str, Any]], clock: Clock) -> AsyncIterator[Running]:
    url, kwargs = db_url
    transport = FakeTransport()
    app = create_app(make_settings(url), clock=clock, transports={"fake": transport}, run_sender=True,
                     run_scheduler=False, db=Database(url, **kwargs))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Running(client, transport, clock)
    finally:
        await client.close()


async def test_a_committed_row_is_delivered_by_the_loop(running: Running) -> None:
    assert running.app[SENDER].running
    await running.put("后台发送")
    await until(lambda: _sent(running, 1), "the loop to deliver the row")
    assert [d.message.text for d in running.transport.sent] == ["后台发送"]
    # the platform has it; the row is settled by the sender's next commit
    await until(lambda: _statuses_are(running, ["SENT"]), "the row to be settled")
    assert [d.message.text for d in running.transport.sent] == ["后台发送"]  # once


async def test_the_loop_retries_a_transient_failure_when_it_is_due(running: Running) -> None:
    running.transport.fail_transient = 1
    await running.put("第二次才成功")
    await until(lambda: _attempts(running, 1), "the first attempt")
    assert await running.statuses() == ["PENDING"]
    running.clock.advance(seconds=5)  # past the first backoff (1 s)
    running.app[SENDER].wake()
    await until(lambda: _sent(running, 1), "the retry")
    await until(lambda: _statuses_are(running, ["SENT"]), "the retried row to be settled")
    assert running.transport.attempts == 2


async def test_a_failing_pass_does_not_stop_the_loop(running: Running, monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    sender = running.app[SENDER]
    real = sender.flush
    failures = []

    async def flaky() -> int:
        if not failures:
            failures.append(1)
            raise RuntimeError("database hiccup")
        return await real()

    async def failed() -> bool:
        return failures == [1]

    monkeypatch.setattr(sender, "flush", flaky)
    # the pass that fails comes first (a pass already under way when the patch landed could otherwise
    # deliver the row itself, and the failing pass would never be needed)
    sender.wake()
    await until(failed, "a failing pass")
    await running.put("挺过去")
    await until(lambda: _sent(running, 1), "delivery after the failed pass")
    assert [d.message.text for d in running.transport.sent] == ["挺过去"]
    assert any("outbox pass failed" in r.getMessage() for r in caplog.records)


async def test_the_loop_stops_with_the_app(db_url: tuple[str, dict[str, Any]], clock: Clock) -> None:
    url, kwargs = db_url
    app = create_app(make_settings(url), clock=clock, transports={"fake": FakeTransport()}, run_sender=True,
                     run_scheduler=False, db=Database(url, **kwargs))
    client = TestClient(TestServer(app))
    await client.start_server()
    sender = app[SENDER]
    assert sender.running
    await client.close()
    assert not sender.running


async def _sent(r: Running, n: int) -> bool:
    return len(r.transport.sent) >= n


async def _attempts(r: Running, n: int) -> bool:
    return r.transport.attempts >= n and (await r.statuses()) != ["SENDING"]


async def _statuses_are(r: Running, expected: list[str]) -> bool:
    return await r.statuses() == expected
