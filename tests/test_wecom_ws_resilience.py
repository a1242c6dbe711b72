"""WeCom AI-bot long connection under trouble: drops mid-burst, a socket down while replies wait,
a wrong secret, eviction by a second connection, a zombie socket.

The real app against the fake WebSocket WeCom; intervals come from the harness's fast
``Timing`` (milliseconds instead of seconds), so each test runs in about a second.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import pytest

from bot.app import SENDER
from tests.conftest import Clock
from tests.fakes.wecom_ws_harness import FAST, GROUP, open_ws_world, until
from tests.fakes.wecom_ws_server import BOT_SECRET

SMALL_ORDER = "/下单 小米 A100×2@300 交期12-15"
LOG = "gendan.wecom.longconn"


async def test_drop_mid_burst_loses_nothing_and_handles_nothing_twice(
        db_url: tuple[str, dict[str, Any]], clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    async with open_ws_world(db_url, clock, monkeypatch) as w:
        await w.say("wangwu", SMALL_ORDER, chat=GROUP)  # customer and product exist from here on
        w.fake.drop_after_next(7)
        reqs = [await w.fake.deliver(w.fake.text("wangwu", f"/下单 Shop{i} A100×2@300 交期12-15", chat=GROUP))
                for i in range(20)]
        await w.fake.wait_subscribed(2)
        await w.settle(21)
        await w.settle()  # replies written by handlers that finished during the first pass
        orders = await w.orders()
        assert [o.no for o in orders] == list(range(1, 22))
        assert sorted(o.customer.name for o in orders[1:]) == sorted(f"Shop{i}" for i in range(20))
        answers = [w.answer(r) for r in reqs]  # exactly one answer on each req_id
        numbers = [int(re.match(r"#(\d+) ", a).group(1)) for a in answers]  # type: ignore[union-attr]
        assert sorted(numbers) == list(range(2, 22))
        assert w.fake.unanswered == {}
        # the seven that went out before the cut came again after it; the inbox took each once
        assert sorted(w.fake.deliveries[r] for r in reqs) == [1] * 13 + [2] * 7
        assert await w.inbox() == 21 and await w.inbox("DONE") == 21
        assert w.conn.status.reconnects == 1
        assert await w.outbox_status() == {"SENT": 21}


async def test_replies_wait_in_the_outbox_while_the_socket_is_down(
        db_url: tuple[str, dict[str, Any]], clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    async with open_ws_world(db_url, clock, monkeypatch) as w:
        req = await w.fake.deliver(w.fake.text("wangwu", SMALL_ORDER, chat=GROUP))
        await w.settle(1)
        # the reply is still to be sent when the socket goes and cannot come back yet
        [row_status] = (await w.outbox_status()).items()
        assert row_status == ("SENT", 1)
        req2 = await w.fake.deliver(w.fake.text("wangwu", "/下单 小米 A100×1@300 交期12-15", chat=GROUP))
        await until(lambda: w.conn.status.acks == 2, "second frame recorded")
        w.fake.accepting = False
        w.fake.drop()
        await until(lambda: not w.conn.connected, "the connection to notice")
        await w.app[SENDER].flush()
        await w.settle()
        assert (await w.outbox_status()).get("PENDING") == 1
        assert w.fake.answers(req2) == []
        w.fake.accepting = True
        await w.fake.wait_subscribed(2)
        await until(lambda: w.conn.connected, "reconnected")
        clock.advance(seconds=600)
        await w.settle()
        assert w.answer(req2).startswith("#2 小米")
        assert len(w.fake.answers(req)) == 1
        assert await w.outbox_status() == {"SENT": 2}


async def test_wrong_secret_is_logged_backs_off_and_recovers(
        db_url: tuple[str, dict[str, Any]], clock: Clock, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOG)
    async with open_ws_world(db_url, clock, monkeypatch, secret="wrong-secret", wait=False) as w:
        await w.fake.wait_attempts(3)
        await until(lambda: w.conn.status.state == "auth_failed", "auth_failed")
        assert not any(w.fake.subscribes)
        health = (await (await w.client.get("/healthz")).json())["connections"]["wecom_aibot"]
        assert health["state"] in ("auth_failed", "connecting")
        assert health["last_error"] == "subscribe refused: errcode 40001 invalid bot_id or secret"
        refused = [r for r in caplog.records if "subscribe refused" in r.getMessage()]
        assert refused and all(r.levelno == logging.ERROR for r in refused)
        assert len(refused) <= len(w.fake.subscribes)  # one line per attempt at most
        assert "GENDAN_WECOM_AIBOT_SECRET" in refused[0].getMessage()
        assert not any("wrong-secret" in r.getMessage() for r in caplog.records)
        # slow retries: 0.2 s doubling to 0.4 s here (60 s to 15 min in production), never a tight loop
        attempts = len(w.fake.subscribes)
        await asyncio.sleep(0.3)
        assert len(w.fake.subscribes) <= attempts + 1
        # the admin puts the right secret in place (here: WeCom starts accepting the one we send)
        w.fake.secret = "wrong-secret"
        await w.fake.wait_subscribed(1)
        await until(lambda: w.conn.connected, "connected")
        assert w.conn.status.last_error == ""
        req = await w.say("wangwu", SMALL_ORDER, chat=GROUP)
        assert w.answer(req).startswith("#1 小米")


async def test_eviction_waits_instead_of_fighting(
        db_url: tuple[str, dict[str, Any]], clock: Clock, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOG)
    async with open_ws_world(db_url, clock, monkeypatch) as w:
        await w.fake.evict()
        await until(lambda: w.conn.status.state == "evicted", "evicted")
        connections = w.fake.connections
        # a reconnect would come within FAST.max_backoff (0.1 s); nothing comes for 5 times that
        await asyncio.sleep(5 * FAST.max_backoff)
        assert w.fake.connections == connections == 1
        assert w.conn.status.state == "evicted"
        warnings = [r for r in caplog.records
                    if r.levelno == logging.WARNING and "another connection" in r.getMessage()]
        assert len(warnings) == 1 and "run one per bot" in warnings[0].getMessage()
        health = (await (await w.client.get("/healthz")).json())["connections"]["wecom_aibot"]
        assert health["state"] == "evicted"
    # shutting down while waiting out an eviction is prompt (the wait watches the stop event)


async def test_zombie_socket_is_replaced_after_the_idle_timeout(
        db_url: tuple[str, dict[str, Any]], clock: Clock, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOG)
    async with open_ws_world(db_url, clock, monkeypatch) as w:
        w.fake.go_silent()  # TCP stays open, pongs and acks stop
        loop = asyncio.get_running_loop()
        started = loop.time()
        await w.fake.wait_subscribed(2)
        took = loop.time() - started
        assert took >= FAST.idle  # never before the idle timeout (no upper bound: CI machines are slow)
        assert any("considered dead" in r.getMessage() and "no frame" in r.getMessage() for r in caplog.records)
        await until(lambda: w.conn.connected, "reconnected")
        assert w.conn.status.reconnects == 1
        req = await w.say("wangwu", SMALL_ORDER, chat=GROUP)
        assert w.answer(req).startswith("#1 小米")


async def test_the_secret_is_checked_by_the_fake(
        db_url: tuple[str, dict[str, Any]], clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    async with open_ws_world(db_url, clock, monkeypatch, secret=BOT_SECRET) as w:
        assert w.fake.subscribes == [True]
