"""Hostile input through the real platform routes: a 30,000-× AI-bot callback, NUL in every text
field of a DingTalk callback, and a WeCom ``response_url`` naming a foreign host."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import DISPATCHER
from bot.wecom import AIBOT_PATH
from storage.models import Chat, InboxEvent, Person
from tests.conftest import Clock
from tests.fakes import wecom_signing as ws
from tests.fakes.dingtalk_app import dingtalk_app
from tests.fakes.wecom_harness import BOT_NAME, World, now_ts, open_world
from tests.fakes.wecom_server import FakeWeCom


@pytest.fixture
async def world(db_url: tuple[str, dict[str, Any]], clock: Clock) -> AsyncIterator[World]:
    async with open_world(db_url, clock) as w:
        yield w


def aibot_callback(w: World, text: str, msgid: str, response_url: str) -> tuple[dict[str, str], str]:
    payload = ws.aibot_text(f"@{BOT_NAME}\u2005{text}", msgid=msgid, user="wangwu")
    payload["chatid"] = "wrkGROUP1"
    payload["response_url"] = response_url
    return ws.aibot_post(payload, timestamp=now_ts(), nonce=w.nonce())


async def timed_post(w: World, query: dict[str, str], body: str) -> float:
    started = time.monotonic()
    resp = await w.client.post(AIBOT_PATH, params=query, data=body.encode())
    assert resp.status == 200 and await resp.read() == b""
    return time.monotonic() - started


async def healthz_times(w: World, stop: asyncio.Event) -> list[float]:
    times = []
    while not stop.is_set():
        started = time.monotonic()
        assert (await w.client.get("/healthz")).status == 200
        times.append(time.monotonic() - started)
        await asyncio.sleep(0.01)
    return times


async def test_a_30000_times_aibot_callback_is_acked_at_once_and_the_server_stays_responsive(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """Measured against the same server's own short callback and idle /healthz, so a loaded machine
    slows both sides alike; the stall this guards against was 35 s of ack and 2.8 s of /healthz."""
    w = world
    base_url = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code="
    short = [await timed_post(w, *aibot_callback(w, "/帮助", f"short-{i}", f"{base_url}S{i}")) for i in range(3)]
    await w.settle()
    stop = asyncio.Event()
    idle_task = asyncio.create_task(healthz_times(w, stop))
    await asyncio.sleep(0.3)
    stop.set()
    idle = await idle_task
    hostile = "/下单 客户X A100" + "×" * 30_000
    query, body = aibot_callback(w, hostile, "hostile-1", f"{base_url}H1")
    assert len(body) > 80_000
    stop = asyncio.Event()
    busy_task = asyncio.create_task(healthz_times(w, stop))
    ack = await timed_post(w, query, body)
    await w.app[DISPATCHER].drain()
    await asyncio.sleep(0.2)
    stop.set()
    busy = await busy_task
    await w.settle()
    with capsys.disabled():
        print(f"\n30,000-× callback: ack {ack * 1000:.0f} ms "
              f"(short callbacks {statistics.median(short) * 1000:.0f} ms); "
              f"/healthz max {max(busy) * 1000:.0f} ms while it was handled (idle median "
              f"{statistics.median(idle) * 1000:.0f} ms)")
    assert ack <= 5 * max(short) + 0.5, (ack, short)
    assert max(busy) <= 10 * statistics.median(idle) + 0.25, (max(busy), statistics.median(idle))
    [answer] = w.aibot_answers("H1")
    assert "太长" in str(answer)


async def test_a_response_url_naming_a_foreign_host_sends_nothing_there(world: World) -> None:
    w = world
    async with FakeWeCom() as foreign:
        stolen = f"{foreign.url}/cgi-bin/aibot/response?response_code=F1"
        query, body = aibot_callback(w, "/帮助", "foreign-1", stolen)
        await timed_post(w, query, body)
        await w.settle()
        assert foreign.calls == []
    [answer] = w.aibot_answers("F1")  # the answer went to the configured WeCom API host only
    assert "可用命令" in str(answer)


NUL = "\x00\x01\x1f\x7f\ufffe"


async def test_nul_in_every_text_field_of_a_dingtalk_callback_is_answered(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock) as h:
        body = h.message("sales01", f"/帮助{NUL}", name=f"张{NUL}三", msg_id=f"nul{NUL}1==")
        body["senderStaffId"] = f"sales{NUL}01"
        body["conversationId"] = f"cid{NUL}NUL=="
        body["conversationTitle"] = f"销售{NUL}群"
        body["senderCorpId"] = body["chatbotCorpId"]
        resp = await h.post_message(body)
        assert resp.status == 200, await resp.text()
        await h.settle()
        answers = [s.text for s in h.sent() if s.route == "session"]
        assert answers and "可用命令" in answers[-1]
        async with h.db.uow() as uow:
            person = (await uow.session.execute(select(Person).where(Person.user_id == "sales01"))).scalar_one()
            chat = (await uow.session.execute(select(Chat).where(Chat.chat_id == "cidNUL=="))).scalar_one()
            event = (await uow.session.execute(select(InboxEvent))).scalars().one()
        assert (person.name, chat.title) == ("张三", "销售群")
        assert (event.event_id, event.status, event.error) == ("nul1==", "DONE", None)
