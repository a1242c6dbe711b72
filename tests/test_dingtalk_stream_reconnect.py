"""DingTalk Stream reconnects end to end: SYSTEM disconnect (warm), a dropped socket, a gateway
outage, a bad secret (slow retries, one ERROR line) and a zombie socket (watchdog).

Timeouts are injected (``bot.dingtalk.stream.TIMINGS``) so each case takes about a second.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

import bot.dingtalk.stream as stream
from storage.models import Order
from tests.conftest import Clock
from tests.fakes.dingtalk_app import DingTalkHarness, dingtalk_app
from tests.fakes.dingtalk_stream import OPEN_PATH, until
from tests.test_dingtalk_stream import FAST, SMALL


@pytest.fixture(autouse=True)
def fast_timings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(stream, "TIMINGS", FAST)
    yield


async def _orders(h: DingTalkHarness) -> int:
    async with h.db.uow() as uow:
        return int((await uow.session.execute(select(func.count()).select_from(Order))).scalar_one())


async def test_disconnect_opens_the_new_connection_before_closing_the_old(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock, dingtalk_mode="stream") as h:
        s = h.fake.stream
        old = await h.connected()
        bye = await s.system("disconnect", {"reason": "server restart"}, old)
        # a message already on its way over the old socket is still taken and acked there
        late = h.message("sales01", SMALL, name="张三")
        late_mid = await s.robot(late, sock=old)
        new = await s.wait_sockets(2)
        await until(lambda: not old.open, what="the old socket to close")
        assert new.ticket != old.ticket and len(h.fake.calls_to(OPEN_PATH)) == 2
        assert old.closed_at is not None and new.opened_at < old.closed_at  # warm: new first, then close
        assert (await s.ack_for(bye))[0] is old
        assert (await s.ack_for(late_mid))[0] is old
        await until(lambda: h.status.connected and h.status.reconnects == 1, what="reconnect counted")
        # and the new socket carries the next message
        # another customer: two first orders for one new customer at once may collide (and say so)
        body = h.message("sales02", "/下单 OPPO A100×2@300 交期12-15", name="李四")
        mid = await s.robot(body, sock=new)
        assert (await s.ack_for(mid))[0] is new
        await h.settle()
        assert await _orders(h) == 2
        assert len(h.to("session", f"s-{late['msgId']}")) == 1 and len(h.to("session", f"s-{body['msgId']}")) == 1
    assert not new.open  # the bot closed its socket on shutdown


async def test_dropped_socket_reopens_with_a_new_ticket(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock, dingtalk_mode="stream") as h:
        s = h.fake.stream
        first = await h.connected()
        s.drop(first)
        second = await h.connected(sockets=2)
        assert second.ticket != first.ticket and len(h.fake.calls_to(OPEN_PATH)) == 2
        reply = await h.stream_say("sales01", SMALL, name="张三")
        assert len(reply) == 1 and "小米" in reply[0]
        # the gateway down for two attempts: backoff, then back
        h.fake.fail_next(OPEN_PATH, 503, {"code": "ServiceUnavailable"}, times=2)
        s.drop(second)
        await h.connected(sockets=3)
        assert len(h.fake.calls_to(OPEN_PATH)) == 5 and h.status.reconnects == 2
        health = await (await h.client.get("/healthz")).json()
        conn = health["connections"]["dingtalk"]
        assert conn["state"] == "connected" and conn["reconnects"] == 2
        assert conn["frames_in"] >= 1 and conn["frames_out"] >= 1 and conn["acks"] >= 1
        metrics = await (await h.client.get("/metrics")).text()
        for line in (r'gendan_connection_reconnects_total\{name="dingtalk"\} 2\.0',
                     r'gendan_connection_frames_total\{direction="in",name="dingtalk"\} [1-9]',
                     r'gendan_connection_acks_total\{name="dingtalk"\} [1-9]',
                     r'gendan_connection_up\{name="dingtalk"\} 1\.0'):
            assert re.search(line, metrics), (line, metrics)


async def test_bad_secret_retries_slowly_with_one_clear_error(db_url: Any, clock: Clock,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with dingtalk_app(db_url, clock, dingtalk_mode="stream", dingtalk_app_secret="wrong-secret-77") as h:
        await until(lambda: len(h.fake.calls_to(OPEN_PATH)) >= 4, what="four gateway attempts")
        assert h.status.state == "auth_failed" and "401" in h.status.last_error
        assert not h.fake.stream.sockets
        errors = [r for r in caplog.records if r.name == "gendan.dingtalk.stream" and r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "refused" in errors[0].getMessage()
        assert "GENDAN_DINGTALK_APP_SECRET" in errors[0].getMessage()
        assert not any("crashed" in r.getMessage() for r in caplog.records)
        assert "wrong-secret-77" not in caplog.text
        health = await (await h.client.get("/healthz")).json()
        assert health["connections"]["dingtalk"]["state"] == "auth_failed"
        # slow and growing: 0.1 s, 0.2 s, then the 0.4 s cap (jittered ±25 %) between attempts
        count = len(h.fake.calls_to(OPEN_PATH))
        await asyncio.sleep(0.6)
        assert len(h.fake.calls_to(OPEN_PATH)) - count <= 3
        # the secret fixed on DingTalk's side (rotated back): the next attempt connects
        h.fake.app_secret = "wrong-secret-77"
        await h.connected()


async def test_zombie_socket_is_replaced(db_url: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "TIMINGS", stream.Timings(
        idle=4.0, heartbeat=0.2, open_timeout=3.0, close_timeout=0.5, first_retry=0.05, max_retry=0.2,
        auth_retry=0.1, auth_retry_max=0.4, proven_after=0.3))
    async with dingtalk_app(db_url, clock, dingtalk_mode="stream") as h:
        s = h.fake.stream
        first = await h.connected()
        # DingTalk's pings keep a socket alive well past the idle limit (4.8 s of pings 0.3 s apart; a
        # stall of the loaded test machine would have to last over 3.5 s to open a gap as long as the
        # limit: with a 1.5 s limit a suite running beside a benchmark once did) ...
        for _ in range(16):
            await s.ack_for(await s.system("ping", {}, first))
            await asyncio.sleep(0.3)
        assert len(s.sockets) == 1 and first.open
        # ... silence (while TCP and WebSocket pongs still work) does not
        await h.connected(sockets=2)
        await until(lambda: not first.open, what="the zombie to be closed")
        assert "no frame" in h.status.last_error and h.status.reconnects == 1
        reply = await h.stream_say("sales01", SMALL, name="张三")
        assert len(reply) == 1
