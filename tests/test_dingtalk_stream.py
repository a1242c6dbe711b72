"""DingTalk Stream mode end to end: the real app opens its Stream connection to the fake DingTalk.

Gateway open and single-use tickets, SYSTEM ping, CALLBACK acks (fast, after the inbox and
before the command), an order over the socket, redelivery, a card click approving, and the
security checks (foreign sessionWebhook host, another robot's messages). Reconnects and
failures are in ``test_dingtalk_stream_reconnect.py``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

import bot.dingtalk.stream as stream
from bot.app import DISPATCHER
from bot.events import Inbound
from storage.models import InboxEvent, Order, OutboxMessage
from tests.conftest import Clock
from tests.fakes.dingtalk_app import SALES_GROUP, DingTalkHarness, dingtalk_app
from tests.fakes.dingtalk_server import APP_KEY, APP_SECRET, FakeDingTalk
from tests.fakes.dingtalk_signing import card_click, signed_headers
from tests.fakes.dingtalk_stream import TOPIC_CARD, TOPIC_ROBOT

SMALL = "/下单 小米 A100×2@300 交期12-15"
ORDER = "/下单 华为 A100×20@600 交期12-15"
MANAGERS = (("mgr01", "王经理", "主管"), ("mgr02", "钱经理", "主管"))
TEMPLATE = "tpl-approval-1.schema"
FAST = stream.Timings(idle=30.0, heartbeat=5.0, open_timeout=3.0, close_timeout=1.0, first_retry=0.05,
                      max_retry=0.2, auth_retry=0.1, auth_retry_max=0.4, proven_after=0.3)


@pytest.fixture(autouse=True)
def fast_timings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(stream, "TIMINGS", FAST)
    yield


async def _count(h: DingTalkHarness, model: Any) -> int:
    async with h.db.uow() as uow:
        return int((await uow.session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_gateway_open_and_single_use_tickets(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock, dingtalk_mode="stream") as h:
        sock = await h.connected()
        (opened,) = h.fake.calls_to("/v1.0/gateway/connections/open")
        assert opened.json["clientId"] == APP_KEY and opened.json["clientSecret"] == APP_SECRET
        assert {(s["type"], s["topic"]) for s in opened.json["subscriptions"]} == {
            ("CALLBACK", TOPIC_ROBOT), ("CALLBACK", TOPIC_CARD)}
        # the ticket carries + / =: it arrived intact only because the bot URL-encoded it
        assert re.fullmatch(r"tk\+\d+/\S+=", sock.ticket) and not h.fake.stream.refused_tickets
        # the fake really refuses a reused or unknown ticket
        async with aiohttp.ClientSession() as session:
            for ticket in (sock.ticket, "tk+999/nope="):
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(f"{h.fake.url.replace('http', 'ws')}/connect",
                                             params={"ticket": ticket})
                assert refused.value.status == 401
        assert h.fake.stream.refused_tickets == [sock.ticket, "tk+999/nope="]
        health = await (await h.client.get("/healthz")).json()
        assert health["connections"]["dingtalk"]["state"] == "connected"
        assert health["connections"]["dingtalk"]["reconnects"] == 0


async def test_system_ping_is_answered_with_its_data(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock, dingtalk_mode="stream") as h:
        await h.connected()
        mid = await h.fake.stream.system("ping", {"opaque": "keep-me-4711"})
        _sock, _at, frame = await h.fake.stream.ack_for(mid)
        assert frame["code"] == 200 and frame["headers"] == {"contentType": "application/json", "messageId": mid}
        assert json.loads(frame["data"]) == {"opaque": "keep-me-4711"}
        assert h.status.frames_in >= 1 and h.status.acks >= 1 and h.status.frames_bad == 0


async def test_callback_is_acked_at_once_after_the_inbox_and_before_the_command(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock, dingtalk_mode="stream") as h:
        await h.connected()
        dispatcher = h.app[DISPATCHER]
        gate = asyncio.Event()
        process = dispatcher.process

        async def slowed(inbound: Inbound) -> Any:
            await gate.wait()  # the command cannot start before the test saw the ack
            return await process(inbound)

        dispatcher.process = slowed  # type: ignore[method-assign]
        body = h.message("sales01", SMALL, name="张三")
        mid = await h.fake.stream.robot(body)
        _sock, acked_at, ack = await h.fake.stream.ack_for(mid)
        assert acked_at - h.fake.stream.pushed_at[mid] < 1.0
        assert ack["code"] == 200 and ack["headers"]["messageId"] == mid
        assert json.loads(ack["data"]) == {"response": "OK"}
        # at ack time the event is in the inbox, and the command has had no effect yet
        async with h.db.uow() as uow:
            events = (await uow.session.execute(select(InboxEvent.event_id))).scalars().all()
        assert list(events) == [body["msgId"]]
        assert await _count(h, Order) == 0 and await _count(h, OutboxMessage) == 0
        gate.set()
        await h.settle()
        replies = h.to("session", f"s-{body['msgId']}")
        assert len(replies) == 1 and "#1 小米" in replies[0] and "已自动确认" in replies[0]
        async with h.db.uow() as uow:
            order = (await uow.session.execute(select(Order))).scalar_one()
            assert (order.origin_chat_id, order.state, order.owner.user_id) == (SALES_GROUP, "CONFIRMED", "sales01")


async def test_redelivered_message_has_one_effect_over_stream_and_http(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock, dingtalk_mode="stream") as h:
        await h.connected()
        body = h.message("sales01", SMALL, name="张三")
        first = await h.stream_push(body, "mid-a")
        # DingTalk redelivers under the same frame id, or (after a reconnect) a new one
        again = await h.stream_push(body, "mid-a")
        other = await h.stream_push(body, "mid-b")
        assert first["code"] == again["code"] == other["code"] == 200
        # the HTTP callback of the same message dedupes against the Stream copy
        resp = await h.post_message(body)
        assert resp.status == 200
        await h.settle()
        assert await _count(h, Order) == 1 and await _count(h, InboxEvent) == 1
        assert len(h.to("session", f"s-{body['msgId']}")) == 1


async def test_card_click_over_the_socket_approves(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock, dingtalk_mode="stream", dingtalk_card_template_id=TEMPLATE) as h:
        await h.connected()
        await h.register(*MANAGERS)
        reply = await h.stream_say("sales01", ORDER, name="张三")
        match = re.search(r"#(\d+)", reply[0])
        assert match and "已提交审批" in reply[0], reply
        no = int(match[1])
        created = h.fake.calls_to("/v1.0/card/instances/createAndDeliver")
        assert len(created) == 2 and all(c.json["callbackType"] == "STREAM" for c in created)
        assert not h.fake.calls_to("/v1.0/card/callbacks/register")  # Stream cards need no callback URL
        cards = {c.json["openSpaceId"].rsplit(".", 1)[1]: c.json["outTrackId"] for c in created}
        ok = h.fake.cards[cards["mgr01"]]["cardData"]["cardParamMap"]["btn1_action"]
        click = card_click(ok, out_track_id=cards["mgr01"], user_id="mgr01", space_type="IM_ROBOT",
                           space_id="dtv1.card//IM_ROBOT.mgr01")
        mid = await h.fake.stream.card(click)
        _sock, _at, ack = await h.fake.stream.ack_for(mid)
        assert ack["code"] == 200 and json.loads(ack["data"]) == {"response": {}}
        await h.settle()
        await h.settle()
        async with h.db.uow() as uow:
            assert (await uow.session.execute(select(Order.state).where(Order.no == no))).scalar_one() == "CONFIRMED"
        for out_track_id in cards.values():
            assert h.fake.cards[out_track_id]["cardData"]["cardParamMap"]["closed"] == "true"
        assert any(f"#{no} 已通过" in t for t in h.to("single", "mgr01"))
        # a redelivered click (new frame id, same click) changes nothing more
        again = await h.fake.stream.card(click)
        assert (await h.fake.stream.ack_for(again))[2]["code"] == 200
        await h.settle()
        assert sum(1 for t in h.to("single", "mgr01") if f"#{no} 已通过" in t) == 1


async def test_foreign_session_webhook_host_receives_nothing(db_url: Any, clock: Clock) -> None:
    async with FakeDingTalk() as foreign, dingtalk_app(db_url, clock, dingtalk_mode="stream") as h:
        await h.connected()
        # over the socket
        body = h.message("sales01", SMALL, name="张三")
        body["sessionWebhook"] = foreign.add_session("stolen-1")
        assert (await h.stream_push(body))["code"] == 200
        await h.settle()
        # and over the HTTP callback
        body2 = h.message("sales02", SMALL, name="李四")
        body2["sessionWebhook"] = foreign.add_session("stolen-2")
        assert (await h.post_message(body2)).status == 200
        await h.settle()
        assert foreign.calls == []
        # the replies went through the group OpenAPI on the real (configured) host instead
        group = h.to("group", SALES_GROUP)
        assert len(group) == 2 and all("小米" in t for t in group)
        assert await _count(h, Order) == 2


async def test_a_message_for_another_robot_is_refused(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock, dingtalk_mode="stream") as h:
        await h.connected()
        body = h.message("sales01", SMALL, name="张三")
        body["robotCode"] = "dingSOMEOTHERROBOT"
        ack = await h.stream_push(body)
        assert ack["code"] == 200 and ack["message"] == "refused"  # acked so it is not redelivered
        resp = await h.post_message(body, signed_headers(APP_SECRET))
        assert resp.status == 403
        await h.settle()
        assert await _count(h, InboxEvent) == 0 and await _count(h, Order) == 0
        assert await _count(h, OutboxMessage) == 0 and not h.sent()
        # our own robotCode (the AppKey) passes
        assert (await h.stream_push(h.message("sales01", SMALL, name="张三")))["code"] == 200
        await h.settle()
        assert await _count(h, Order) == 1


async def test_bad_frames_are_counted_and_the_connection_survives(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock, dingtalk_mode="stream") as h:
        sock = await h.connected()
        s = h.fake.stream
        await s.push("{not json", sock)
        await s.push("[1, 2]", sock)
        unknown = s.frame("CALLBACK", "/v1.0/some/new/topic", {"x": 1})
        event = s.frame("EVENT", "chat_update_title", {"x": 1})
        garbled = s.frame("CALLBACK", TOPIC_ROBOT, "{garbled")
        no_msg_id = s.frame("CALLBACK", TOPIC_ROBOT, {"msgtype": "text"})
        for frame in (unknown, event, garbled, no_msg_id):
            await s.push(frame, sock)
        codes = [(await s.ack_for(f["headers"]["messageId"]))[2]["code"] for f in (unknown, event, garbled, no_msg_id)]
        assert codes == [404, 404, 400, 400]
        mid = await s.system("ping", {"n": 1}, sock)
        assert (await s.ack_for(mid))[0] is sock and sock.open
        assert h.status.frames_bad == 6 and h.status.state == "connected"
        metrics = await (await h.client.get("/metrics")).text()
        assert re.search(r'gendan_connection_bad_frames_total\{name="dingtalk"\} 6\.0', metrics), metrics
        assert await _count(h, InboxEvent) == 0
