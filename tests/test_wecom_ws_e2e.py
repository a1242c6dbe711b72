"""WeCom AI bot over its long connection, end to end: the real app, a fake WebSocket WeCom on 127.0.0.1.

No public address, no self-built app: commands arrive as ``aibot_msg_callback`` frames,
answers go back on their ``req_id``, approval cards and stage notices are pushed with
``aibot_send_msg``, and a press updates the pressed card with ``aibot_respond_update_msg``.
Reconnects, eviction, bad secrets and dead sockets are in ``test_wecom_ws_resilience.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import Clock
from tests.fakes.wecom_ws_harness import ADMIN, GROUP, WsWorld, open_ws_world, until
from tests.fakes.wecom_ws_server import BOT_ID, BOT_SECRET

BIG_ORDER = "/下单 华为 A100×20@600 交期12-15"  # ¥12,000: at or above T1, one 主管 must approve
SMALL_ORDER = "/下单 小米 A100×2@300 交期12-15"  # ¥600: confirmed at once


@pytest.fixture
async def world(db_url: tuple[str, dict[str, Any]], clock: Clock,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WsWorld]:
    async with open_ws_world(db_url, clock, monkeypatch) as w:
        yield w


async def grant(w: WsWorld, user: str, role: str) -> None:
    """``user`` talks to the bot once (so it knows them); the admin grants ``role`` in their 1:1 chat."""
    await w.say(user, "/帮助")
    req = await w.say(ADMIN, f"/角色 {user} {role}")
    assert w.answer(req) == f"{user} 的角色：{role}"


async def test_subscribes_with_id_and_secret_before_anything_else(world: WsWorld) -> None:
    w = world
    first = w.fake.frames[0]
    assert first["cmd"] == "aibot_subscribe"
    assert first["body"] == {"bot_id": BOT_ID, "secret": BOT_SECRET}
    assert first["headers"]["req_id"].startswith("aibot_subscribe_")
    assert w.fake.subscribes == [True] and w.fake.frames_before_subscribe == 0
    # the heartbeat follows, every 0.2 s here (30 s in production)
    await until(lambda: sum(f["cmd"] == "ping" for f in w.fake.frames) >= 2, "two pings")
    assert w.http.calls == []  # nothing by HTTP: no public address, no app


async def test_group_order_is_answered_on_its_req_id(world: WsWorld) -> None:
    w = world
    req = await w.say("wangwu", SMALL_ORDER, chat=GROUP)
    [answer] = w.fake.answers(req)
    assert answer.cmd == "aibot_respond_msg"
    assert answer.body["msgtype"] == "stream"
    stream = answer.body["stream"]
    assert stream["finish"] is True and stream["id"]
    assert stream["content"].startswith("#1 小米 金额 ¥600") and "已自动确认" in stream["content"]
    [order] = await w.orders()
    assert (order.origin_platform, order.origin_chat_id, order.origin_chat_type) == ("wecom", GROUP, "group")
    assert w.fake.unanswered == {}
    assert await w.outbox_status() == {"SENT": 1}
    assert w.conn.status.acks == 1


async def test_voice_is_taken_as_typed_text(world: WsWorld) -> None:
    w = world
    req = await w.say("zhangsan", SMALL_ORDER, msgtype="voice")
    assert w.answer(req).startswith("#1 小米 金额 ¥600")


async def test_enter_chat_is_welcomed_within_its_window(world: WsWorld) -> None:
    w = world
    req = await w.fake.deliver(w.fake.enter_chat("zhangsan"), cmd="aibot_event_callback")
    await w.settle(1)
    [welcome] = w.fake.answers(req)
    assert welcome.cmd == "aibot_respond_welcome_msg"
    assert welcome.body["msgtype"] == "text" and welcome.body["text"]["content"]


async def test_the_same_frame_twice_has_one_effect(world: WsWorld) -> None:
    w = world
    body = w.fake.text("wangwu", SMALL_ORDER, chat=GROUP, msgid="MSG-TWICE")
    req = await w.fake.deliver(body)
    await w.fake.redeliver(req)
    await w.fake.deliver(body)  # and once more with a new req_id, as after a reconnect
    await until(lambda: w.conn.status.acks >= 3, "three frames recorded")
    await w.settle()
    assert len(await w.orders()) == 1
    assert await w.inbox() == 1
    assert len(w.fake.answers(req)) == 1
    assert len([s for s in w.fake.accepted if s.cmd == "aibot_respond_msg"]) == 1


async def test_approval_card_pushed_pressed_and_updated(world: WsWorld) -> None:
    w = world
    await grant(w, "mgr1", "主管")
    req = await w.say("wangwu", BIG_ORDER, chat=GROUP)
    assert "已提交审批" in w.answer(req)
    [push] = w.fake.pushes("mgr1")
    assert push.body["msgtype"] == "template_card"
    card = push.body["template_card"]
    assert card["card_type"] == "button_interaction"
    assert card["main_title"]["title"] == "订单审批 #1 ¥12,000"
    approve = next(b["key"] for b in card["button_list"] if b["text"] == "通过")

    before = await w.inbox()
    press = await w.fake.deliver(w.fake.click("mgr1", approve, card["task_id"]), cmd="aibot_event_callback")
    await w.settle(before + 1)

    [order] = await w.orders()
    assert order.state == "CONFIRMED"
    [update] = w.fake.answers(press)
    assert update.cmd == "aibot_respond_update_msg"
    assert update.body["response_type"] == "update_template_card"
    assert update.body["userids"] == ["mgr1"]
    closed = update.body["template_card"]
    assert closed["task_id"] == card["task_id"]
    assert closed["main_title"]["title"] == "审批 #1 ¥12,000：通过"
    # the presser hears the outcome by a push (the press's req_id is the card's)
    assert w.fake.texts(w.fake.pushes("mgr1")[1:]) == ["#1 已通过，当前状态「已确认」。"]
    # the group the order came from hears it too, with its owner mentioned
    [notice] = w.fake.texts(w.fake.pushes(GROUP))
    assert "审批通过" in notice and "<@wangwu>" in notice
    assert "PARKED" not in await w.outbox_status()
    assert w.http.calls == []


async def test_stage_notice_is_pushed_into_the_group(world: WsWorld) -> None:
    w = world
    await grant(w, "p1", "生产")
    await w.say("wangwu", SMALL_ORDER, chat=GROUP)
    req = await w.say("p1", "/生产 #1")
    [notice] = w.fake.pushes(GROUP)
    assert notice.body["msgtype"] == "markdown"
    assert notice.body["markdown"]["content"] == "🏭 #1 开始生产（p1）\n<@wangwu>"
    assert "生产中" in w.answer(req)


async def test_healthz_and_metrics_show_the_connection(world: WsWorld) -> None:
    w = world
    await w.say("wangwu", SMALL_ORDER, chat=GROUP)
    resp = await w.client.get("/healthz")
    assert resp.status == 200
    health = (await resp.json())["connections"]["wecom_aibot"]
    assert health["state"] == "connected" and health["connected_since"]
    assert health["frames_in"] >= 2 and health["frames_out"] >= 2 and health["acks"] == 1
    w.fake.drop()
    await w.fake.wait_subscribed(2)
    await until(lambda: w.conn.connected, "reconnected")
    text = await (await w.client.get("/metrics")).text()
    assert 'gendan_connection_up{name="wecom_aibot"} 1.0' in text
    assert 'gendan_connection_acks_total{name="wecom_aibot"} 1.0' in text
    assert 'gendan_connection_reconnects_total{name="wecom_aibot"} 1.0' in text
    frames_in = next(line for line in text.splitlines()
                     if line.startswith('gendan_connection_frames_total{direction="in",name="wecom_aibot"}'))
    assert float(frames_in.rsplit(" ", 1)[1]) >= 3
