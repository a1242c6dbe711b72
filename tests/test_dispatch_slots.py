"""How many handlers run at once: a burst is bounded, and an event waiting for its closing write
(a group commit) does not keep a handler slot from the next event."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

import pytest

from bot.app import DISPATCHER
from bot.context import Context
from bot.dispatch import MAX_CONCURRENT_EVENTS, Dispatcher
from bot.events import Actor, ChatMessage, ChatRef
from bot.routing import Router
from storage import inbox
from tests.conftest import Bot


def _event(text: str) -> ChatMessage:
    return ChatMessage(platform="local", event_id="m-" + secrets.token_hex(6), chat=ChatRef("local", "g1", "group"),
                       actor=Actor("local", "u1", "张三", tenant="local"), text=text)


class Gauge:
    """Handlers running now, the most seen at once, and a gate they all wait on."""

    def __init__(self) -> None:
        self.running = self.most = self.entered = 0
        self.gate = asyncio.Event()

    async def hold(self, ctx: Context) -> None:
        self.running += 1
        self.entered += 1
        self.most = max(self.most, self.running)
        try:
            await self.gate.wait()
        finally:
            self.running -= 1
        ctx.reply("ok")


@pytest.fixture
async def gauge(bot: Bot) -> Gauge:
    gauge = Gauge()
    router = Router("slots")

    @router.command("等", read_only=True)
    async def wait(ctx: Context, _cmd: object) -> None:
        await gauge.hold(ctx)

    bot.app[DISPATCHER].include_routers(router)
    return gauge


async def _until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not reached in time")


async def test_a_burst_runs_at_most_the_slots_handlers_at_once(bot: Bot, gauge: Gauge) -> None:
    dispatcher: Dispatcher = bot.app[DISPATCHER]
    burst = [asyncio.create_task(dispatcher.handle(_event("/等"))) for _ in range(3 * MAX_CONCURRENT_EVENTS)]
    await _until(lambda: gauge.running == MAX_CONCURRENT_EVENTS)
    await asyncio.sleep(0.1)  # nobody else gets in while the slots are taken
    assert gauge.entered == MAX_CONCURRENT_EVENTS
    gauge.gate.set()
    replies = await asyncio.gather(*burst)
    assert all(r and r[0].text == "ok" for r in replies)
    assert gauge.most == MAX_CONCURRENT_EVENTS


async def test_events_waiting_for_their_closing_write_leave_the_slots_to_the_next(
        bot: Bot, gauge: Gauge, monkeypatch: pytest.MonkeyPatch) -> None:
    """The closing writes are held back; every handler of a burst bigger than the slots still runs."""
    dispatcher: Dispatcher = bot.app[DISPATCHER]
    commit = asyncio.Event()
    real_close = inbox.close_batch

    async def held_close(*args: object, **kwargs: object) -> object:
        await commit.wait()
        return await real_close(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inbox, "close_batch", held_close)
    gauge.gate.set()  # handlers finish at once; their events then wait for the closing commit
    burst = [asyncio.create_task(dispatcher.handle(_event("/等"))) for _ in range(3 * MAX_CONCURRENT_EVENTS)]
    await _until(lambda: gauge.entered == 3 * MAX_CONCURRENT_EVENTS)
    assert not any(task.done() for task in burst)  # none answered before its commit
    commit.set()
    replies = await asyncio.gather(*burst)
    assert all(r and r[0].text == "ok" for r in replies)
