"""Pure parts of DingTalk Stream mode and the inbound trust checks: frames, acks, robotCode,
sessionWebhook hosts, and the transport refusing a foreign hook it finds in a stored hint."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.dingtalk.client import DingTalkClient
from bot.dingtalk.inbound import message_from_robot
from bot.dingtalk.stream_frames import FrameError, callback_ack, open_body, parse_frame
from bot.dingtalk.transport import DingTalkTransport
from bot.dingtalk.trust import InboundTrust, origin
from bot.outbound import Message
from bot.transport import Delivery, PermanentError
from tests.fakes.dingtalk_server import FakeDingTalk, dingtalk_settings
from tests.fakes.dingtalk_signing import robot_message

NOW_MS = 1_700_000_000_000


def test_parse_frame_and_acks() -> None:
    raw = json.dumps({"specVersion": "1.0", "type": "CALLBACK", "data": "{\"a\": 1}",
                      "headers": {"messageId": "m1", "topic": "/v1.0/im/bot/messages/get", "time": "1"}})
    frame = parse_frame(raw)
    assert (frame.type, frame.topic, frame.message_id) == ("CALLBACK", "/v1.0/im/bot/messages/get", "m1")
    assert frame.data_object() == {"a": 1}
    assert json.loads(callback_ack("m1", {"x": "同意"})) == {
        "code": 200, "headers": {"contentType": "application/json", "messageId": "m1"}, "message": "OK",
        "data": json.dumps({"response": {"x": "同意"}}, ensure_ascii=False)}
    for bad in ("{", "[]", "null"):
        with pytest.raises(FrameError):
            parse_frame(bad)
    odd = parse_frame(json.dumps({"type": 3, "headers": "x", "data": 5}))
    assert (odd.type, odd.topic, odd.message_id, odd.data) == ("", "", "", "")
    with pytest.raises(FrameError):
        odd.data_object()
    body = open_body("key", "secret", "ua")
    assert body["subscriptions"] == [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"},
                                     {"type": "CALLBACK", "topic": "/v1.0/card/instances/callback"}]


def test_origin_compares_scheme_host_and_port() -> None:
    assert origin("https://oapi.dingtalk.com/robot/sendBySession?session=x") == ("https", "oapi.dingtalk.com", 443)
    assert origin("https://OAPI.dingtalk.com:443/x") == ("https", "oapi.dingtalk.com", 443)
    assert origin("ftp://oapi.dingtalk.com/") is None and origin("not a url") is None and origin("") is None
    trust = InboundTrust(dingtalk_settings("https://api.dingtalk.com", dingtalk_oapi_base="https://oapi.dingtalk.com"))
    assert trust.session_webhook_trusted("https://oapi.dingtalk.com/robot/sendBySession?session=1")
    for foreign in ("http://oapi.dingtalk.com/robot/sendBySession", "https://oapi.dingtalk.com:8443/r",
                    "https://oapi.dingtalk.com.evil.example/r", "https://evil.example/oapi.dingtalk.com",
                    "https://user@evil.example/r"):
        assert not trust.session_webhook_trusted(foreign), foreign


def test_robot_code_check_uses_only_fields_we_know() -> None:
    by_key = InboundTrust(dingtalk_settings())  # robotCode defaults to the AppKey
    body = robot_message()
    assert by_key.robot_refusal(body) is None
    assert by_key.robot_refusal({**body, "robotCode": "other"}) is not None
    assert by_key.robot_refusal({**body, "robotCode": 7}) is not None
    # absent robotCode (older payloads): accepted; chatbotCorpId is encrypted and never compared
    assert by_key.robot_refusal({k: v for k, v in body.items() if k != "robotCode"}) is None
    assert by_key.robot_refusal({**body, "chatbotCorpId": "dingSOMEONEELSE"}) is None
    coded = InboundTrust(dingtalk_settings(dingtalk_robot_code="dingROBOT1"))
    assert coded.robot_refusal({**body, "robotCode": "dingROBOT1"}) is None
    assert coded.robot_refusal({**body, "robotCode": "dingFOREIGN"}) is not None


def test_screen_drops_only_a_foreign_hook() -> None:
    trust = InboundTrust(dingtalk_settings("http://127.0.0.1:9"))
    ours = message_from_robot(robot_message(session_webhook="http://127.0.0.1:9/robot/sendBySession?session=s"))
    assert trust.screen(ours) is ours
    theirs = message_from_robot(robot_message(session_webhook="http://127.0.0.1:10/robot/sendBySession?session=s"))
    screened = trust.screen(theirs)
    assert screened.reply_hints["session_webhook"] == "" and screened.reply_hints["session_webhook_expires_ms"] == 0
    assert screened.reply_hints["conversation_id"] == theirs.reply_hints["conversation_id"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    async with FakeDingTalk() as server:
        yield server


async def test_transport_ignores_a_foreign_hook_in_a_stored_hint(fake: FakeDingTalk) -> None:
    async with FakeDingTalk() as foreign, aiohttp.ClientSession() as session:
        cfg = dingtalk_settings(fake.url)
        transport = DingTalkTransport(DingTalkClient(session, cfg, timeout=10.0), cfg, clock_ms=lambda: NOW_MS)
        hints: dict[str, Any] = {"session_webhook": foreign.add_session("s1"),
                                 "session_webhook_expires_ms": NOW_MS + 3_600_000, "chat_id": "cidGROUP1=="}
        await transport.send(Delivery(id=1, platform="dingtalk", chat_id="cidGROUP1==", chat_type="group",
                                      message=Message(kind="text", text="你好"), reply_hints=hints))
        assert foreign.calls == []
        assert len(fake.calls_to("/v1.0/robot/groupMessages/send")) == 1
        # the same hint on our own host is used
        hints["session_webhook"] = fake.add_session("s2")
        await transport.send(Delivery(id=2, platform="dingtalk", chat_id="cidGROUP1==", chat_type="group",
                                      message=Message(kind="text", text="你好"), reply_hints=hints))
        assert len(fake.calls_to("/robot/sendBySession")) == 1


async def test_fake_enforces_documented_sizes(fake: FakeDingTalk) -> None:
    async with aiohttp.ClientSession() as session:
        url = fake.add_session("big")
        ok = {"msgtype": "text", "text": {"content": "x" * 19_000}}
        big = {"msgtype": "text", "text": {"content": "x" * 20_001}}
        assert (await (await session.post(url, json=ok)).json())["errcode"] == 0
        assert (await (await session.post(url, json=big)).json())["errcode"] == 460101
        client = DingTalkClient(session, dingtalk_settings(fake.url), timeout=10.0)
        await client.send_group("cid1", "sampleText", {"content": "y" * 14_000})
        with pytest.raises(PermanentError, match="msgParam"):
            await client.send_group("cid1", "sampleText", {"content": "y" * 15_001})
