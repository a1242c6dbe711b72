"""WeCom AI-bot long connection, unit level: frames, translation (voice, enter_chat, presses) and the
transport's "ws" route against a scripted connection (no socket)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.events import CardAction, ChatMessage
from bot.outbound import Button, Card, Message
from bot.transport import CardExpired, Delivery, GroupWebhook, TransientError
from bot.wecom import frames, render
from bot.wecom.client import WeComClient, WeComPermanentError
from bot.wecom.inbound import parse_aibot_message, parse_aibot_payload
from bot.wecom.longconn import NotConnected
from bot.wecom.transport import WS_PUSH_LIMIT, WeComTransport

NOW = 1_800_000_000.0
CARD = Card(title="订单审批 #1 ¥12,000", body="客户 华为",
            buttons=(Button("通过", "appr:1:yes", "primary"), Button("驳回", "appr:1:no", "danger")))


class ScriptedConnection:
    """Stands in for AibotConnection: records requests, answers with scripted errcodes."""

    def __init__(self) -> None:
        self.connected = True
        self.sent: list[tuple[str, dict[str, Any] | None, str | None]] = []
        self.refuse: dict[str, int] = {}

    async def request(self, cmd: str, body: dict[str, Any] | None, *, req_id: str | None = None,
                      check: bool = True) -> frames.Frame:
        if not self.connected:
            raise NotConnected("down", 5.0)
        self.sent.append((cmd, body, req_id))
        if cmd in self.refuse:
            raise WeComPermanentError(f"wecom {cmd}: errcode {self.refuse[cmd]}", self.refuse[cmd])
        return frames.Frame("", req_id or "x", {}, 0, "ok")


@pytest.fixture
async def ws() -> ScriptedConnection:
    return ScriptedConnection()


@pytest.fixture
async def transport(ws: ScriptedConnection) -> AsyncIterator[WeComTransport]:
    async with aiohttp.ClientSession() as session:
        # no app keys: a person is reached only over the long connection
        t = WeComTransport(WeComClient(session, api_base="http://127.0.0.1:9"), clock=lambda: NOW)
        t.attach_ws(ws)  # type: ignore[arg-type]
        yield t


def delivery(message: Message, chat_id: str = "wrkG1", chat_type: Any = "group", **kw: Any) -> Delivery:
    return Delivery(id=kw.pop("id", 7), platform="wecom", chat_id=chat_id, chat_type=chat_type, message=message,
                    **kw)


REPLY = {"ws_req_id": "aibot_msg_callback_1", "ws_req_at": NOW - 10}


# ---- frames ------------------------------------------------------------------------------

def test_frames_round_trip_and_refuse_garbage() -> None:
    text = frames.encode(frames.SUBSCRIBE, "r1", frames.subscribe_body("bot", "s"))
    assert json.loads(text) == {"cmd": "aibot_subscribe", "headers": {"req_id": "r1"},
                                "body": {"bot_id": "bot", "secret": "s"}}
    answer = frames.parse('{"headers":{"req_id":"r1"},"errcode":0,"errmsg":"ok"}')
    assert answer.is_answer and answer.errcode == 0
    event = frames.parse(json.dumps({"cmd": "aibot_event_callback", "headers": {"req_id": "e"},
                                     "body": {"event": {"eventtype": "disconnected_event"}}}))
    assert event.event_type == frames.DISCONNECTED_EVENT and not event.is_answer
    for bad in ("not json", "[]", '{"cmd":"x"}', '{"headers":{"req_id":""}}', '{"headers":{"req_id":"a"}}',
                '{"cmd":"x","headers":{"req_id":"a"},"body":[]}', b"\xff"):
        with pytest.raises(frames.BadFrame):
            frames.parse(bad)
    assert frames.new_req_id("ping").startswith("ping_")


# ---- translation -------------------------------------------------------------------------

def _voice(chat: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"msgid": "V1", "chattype": "group" if chat else "single", "from": {"userid": "u1"},
                            "msgtype": "voice", "voice": {"content": "/下单 小米 A100×2@300"}}
    if chat:
        body["chatid"] = chat
    return body


def test_voice_counts_as_typed_text_over_http_too() -> None:
    event = parse_aibot_message(json.dumps(_voice()), "", NOW)
    assert isinstance(event, ChatMessage) and event.text == "/下单 小米 A100×2@300"
    assert event.event_id == "V1"


def test_enter_chat_only_where_a_welcome_can_answer() -> None:
    body = {"msgid": "E1", "chattype": "single", "from": {"userid": "u1"}, "msgtype": "event",
            "event": {"eventtype": "enter_chat"}}
    assert parse_aibot_message(json.dumps(body), "", NOW) is None  # HTTP: ignored as before
    event = parse_aibot_payload(body, "", NOW, enter_chat_text="/帮助")
    assert isinstance(event, ChatMessage) and event.text == "/帮助" and event.reply_hints["welcome"] is True


def test_press_with_the_fields_on_the_event_itself() -> None:
    # the SDK's types carry event_key/task_id on the event; the doc nests them: both are read
    body = {"msgid": "P1", "chattype": "single", "from": {"userid": "m1"}, "msgtype": "event",
            "event": {"eventtype": "template_card_event", "event_key": "appr:1:yes", "task_id": "gd1_x"}}
    event = parse_aibot_payload(body, "", NOW)
    assert isinstance(event, CardAction) and event.payload == "appr:1:yes"
    assert event.card_ref["task_id"] == "gd1_x"


# ---- the "ws" route ----------------------------------------------------------------------

async def test_answer_on_req_id_once_then_push(transport: WeComTransport, ws: ScriptedConnection) -> None:
    message = Message.plain("#1 小米")
    first = delivery(message, reply_hints=REPLY)
    assert transport.route(first) == "ws" and transport.rate_limit(first) is None
    await transport.send(first)
    await transport.send(delivery(message, id=8, reply_hints=REPLY))  # a second row for the same message
    (cmd1, body1, req1), (cmd2, body2, req2) = ws.sent
    assert (cmd1, req1) == ("aibot_respond_msg", "aibot_msg_callback_1")
    assert body1 == {"msgtype": "stream", "stream": {"id": "gd7", "finish": True, "content": "#1 小米"}}
    assert (cmd2, req2) == ("aibot_send_msg", None)
    assert body2 == {"chatid": "wrkG1", "msgtype": "markdown", "markdown": {"content": "#1 小米"}}


async def test_a_refused_or_stale_req_id_falls_back_to_a_push(transport: WeComTransport,
                                                              ws: ScriptedConnection) -> None:
    ws.refuse["aibot_respond_msg"] = 40099
    await transport.send(delivery(Message.plain("a"), reply_hints=REPLY))
    assert [c for c, _, _ in ws.sent] == ["aibot_respond_msg", "aibot_send_msg"]
    stale = {"ws_req_id": "old", "ws_req_at": NOW - 3600}
    assert transport.rate_limit(delivery(Message.plain("b"), reply_hints=stale)) == WS_PUSH_LIMIT


async def test_socket_down_is_transient(transport: WeComTransport, ws: ScriptedConnection) -> None:
    ws.connected = False
    d = delivery(Message.plain("notice"))
    assert transport.route(d) == "ws"
    with pytest.raises(TransientError):
        await transport.send(d)


async def test_a_bound_webhook_still_wins_for_pushes(transport: WeComTransport) -> None:
    d = delivery(Message.plain("notice"), webhook=GroupWebhook("https://example.invalid/?key=abcdefghijkl"))
    assert transport.route(d) == "webhook"
    assert transport.route(delivery(Message.plain("reply"), reply_hints=REPLY,
                                    webhook=GroupWebhook("k"))) == "ws"


async def test_card_push_and_update_within_the_window(transport: WeComTransport, ws: ScriptedConnection) -> None:
    message = Message(kind="card", text="审批", card=CARD, card_key="approval:1")
    ref = await transport.send(delivery(message, chat_id="m1", chat_type="single"))
    assert ref is not None and ref["channel"] == "aibot_ws" and ref["userid"] == "m1"
    [(cmd, body, _)] = ws.sent
    assert cmd == "aibot_send_msg" and body is not None and body["template_card"]["task_id"] == ref["task_id"]
    closed = Message(kind="card", text="审批：通过", card=Card("审批 #1：通过", "m1 通过", closed=True),
                     card_key="approval:1")
    # a copy that no press brought a req_id for cannot be updated
    with pytest.raises(CardExpired):
        await transport.update_card(delivery(closed, "m1", "single", op="update", card_ref=ref))
    pressed = {**ref, "req_id": "evt_1", "req_at": NOW - 1}
    await transport.update_card(delivery(closed, "m1", "single", op="update", card_ref=pressed))
    cmd, body, req_id = ws.sent[-1]
    assert (cmd, req_id) == ("aibot_respond_update_msg", "evt_1")
    assert body == {"response_type": "update_template_card", "userids": ["m1"],
                    "template_card": render.render_template_card(closed.card, ref["task_id"])}  # type: ignore[arg-type]
    # spent: a second update on the same press is a new message instead
    with pytest.raises(CardExpired):
        await transport.update_card(delivery(closed, "m1", "single", op="update", card_ref=pressed))
    late = {**ref, "req_id": "evt_2", "req_at": NOW - 30}
    with pytest.raises(CardExpired):
        await transport.update_card(delivery(closed, "m1", "single", op="update", card_ref=late))


async def test_welcome_answers_only_inside_its_window(transport: WeComTransport, ws: ScriptedConnection) -> None:
    hints = {"ws_req_id": "evt_w", "ws_req_at": NOW - 1, "welcome": True}
    await transport.send(delivery(Message.plain("你好"), "u1", "single", reply_hints=hints))
    assert ws.sent[-1] == ("aibot_respond_welcome_msg", {"msgtype": "text", "text": {"content": "你好"}}, "evt_w")


def test_long_text_is_cut_to_the_aibot_limit() -> None:
    body = render.ws_reply(Message.plain("长" * 10000), "t", "s")
    assert len(body["stream"]["content"].encode()) <= render.MAX_AIBOT_BYTES
