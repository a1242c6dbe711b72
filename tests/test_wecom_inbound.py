"""Decrypted WeCom payloads → neutral events; XML safety."""

from __future__ import annotations

import json

import pytest

from bot.events import CardAction, ChatMessage, DirectoryEvent, inbound_from_dict
from bot.wecom.inbound import (
    RESPONSE_URL_TTL,
    MalformedPayload,
    parse_aibot_message,
    parse_app_message,
    parse_xml,
    strip_leading_mentions,
)
from tests.fakes import wecom_signing as ws

CORP = ws.CORP_ID
NOW = 1_700_000_000.0


def test_app_text_message() -> None:
    event = parse_app_message(ws.text_xml("/下单 华为 A100×20@300", user="zhangsan", msg_id="123"), CORP)
    assert isinstance(event, ChatMessage)
    assert event.platform == "wecom"
    assert event.event_id == "123"
    assert event.text == "/下单 华为 A100×20@300"
    assert event.chat.chat_id == "zhangsan"
    assert event.chat.chat_type == "single"
    assert event.actor.user_id == "zhangsan"
    assert event.actor.tenant == CORP
    assert event.mentioned_bot is True
    assert inbound_from_dict(event.to_dict()) == event


def test_app_card_click_with_a_single_selected_item() -> None:
    event = parse_app_message(
        ws.card_event_xml("appr:12:yes", user="mgr1", task_id="gd7_x", code="RC9"), CORP
    )
    assert isinstance(event, CardAction)
    assert event.payload == "appr:12:yes"
    assert event.actor.user_id == "mgr1"
    assert event.chat.chat_id == "mgr1"
    assert event.card_ref == {"channel": "app", "response_code": "RC9", "task_id": "gd7_x", "userid": "mgr1"}
    assert event.event_id == "card:mgr1:1700000100:gd7_x:appr:12:yes"
    assert inbound_from_dict(event.to_dict()) == event


def test_same_click_delivered_twice_has_the_same_event_id() -> None:
    a = parse_app_message(ws.card_event_xml("k"), CORP)
    b = parse_app_message(ws.card_event_xml("k"), CORP)
    assert a is not None and b is not None and a.event_id == b.event_id


def test_contact_delete_user() -> None:
    event = parse_app_message(ws.delete_user_xml("lisi"), CORP)
    assert isinstance(event, DirectoryEvent)
    assert event.kind == "user_left"
    assert event.user_id == "lisi"
    assert event.tenant == CORP
    assert event.event_id == "contact:delete_user:lisi:1700000200"


@pytest.mark.parametrize(
    "xml",
    [
        ws.delete_user_xml().replace("delete_user", "update_user"),
        "<xml><FromUserName>u</FromUserName><MsgType>event</MsgType><Event>enter_agent</Event></xml>",
        "<xml><FromUserName>u</FromUserName><MsgType>image</MsgType><MsgId>1</MsgId></xml>",
        "<xml><FromUserName>u</FromUserName><MsgType>event</MsgType>"
        "<Event>template_card_menu_event</Event><EventKey>k</EventKey></xml>",
    ],
)
def test_ignored_app_payloads(xml: str) -> None:
    assert parse_app_message(xml, CORP) is None


@pytest.mark.parametrize(
    "xml",
    [
        "",
        "not xml",
        "<xml><MsgType>text</MsgType>",  # truncated
        "<other><MsgType>text</MsgType></other>",
        "<xml><MsgType>text</MsgType><Content>hi</Content></xml>",  # no sender / MsgId
        "<xml><FromUserName>u</FromUserName><MsgType>event</MsgType><Event>template_card_event</Event></xml>",
    ],
)
def test_malformed_app_payloads(xml: str) -> None:
    with pytest.raises(MalformedPayload):
        parse_app_message(xml, CORP)


XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><FromUserName>u</FromUserName><MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"
)
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    "<xml><Content>&c;</Content></xml>"
)


@pytest.mark.parametrize("payload", [XXE, LAUGHS])
def test_entities_are_refused(payload: str) -> None:
    with pytest.raises(MalformedPayload):
        parse_xml(payload)


def test_doctype_text_inside_cdata_is_just_text() -> None:
    event = parse_app_message(ws.text_xml("<!DOCTYPE x [<!ENTITY y 'z'>]> &amp;"), CORP)
    assert isinstance(event, ChatMessage)
    assert event.text == "<!DOCTYPE x [<!ENTITY y 'z'>]> &amp;"


# ---- AI bot ----------------------------------------------------------------------------


def aibot(data: dict[str, object]) -> object:
    return parse_aibot_message(json.dumps(data, ensure_ascii=False), CORP, NOW)


def test_aibot_group_message_strips_the_mention() -> None:
    event = aibot(ws.aibot_text("@跟单助手\u2005/下单 华为 A100×20"))
    assert isinstance(event, ChatMessage)
    assert event.text == "/下单 华为 A100×20"
    assert event.event_id == "CAIQ-msg-1"
    assert event.chat.chat_id == "wrkGROUP1"
    assert event.chat.chat_type == "group"
    assert event.actor.user_id == "wangwu"
    assert event.actor.tenant == CORP
    assert event.mentioned_bot is True
    assert event.reply_hints == {
        "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RESP1",
        "response_url_expires_at": NOW + RESPONSE_URL_TTL,
    }
    assert inbound_from_dict(event.to_dict()) == event


def test_aibot_single_chat() -> None:
    event = aibot(ws.aibot_text("/查单 #12", group=False, user="zhaoliu"))
    assert isinstance(event, ChatMessage)
    assert event.chat.chat_type == "single"
    assert event.chat.chat_id == "zhaoliu"
    assert event.text == "/查单 #12"


def test_aibot_mixed_message_keeps_the_text_items() -> None:
    data = ws.aibot_text("")
    data["msgtype"] = "mixed"
    del data["text"]
    data["mixed"] = {
        "msg_item": [
            {"msgtype": "text", "text": {"content": "@跟单助手 /售后 #3"}},
            {"msgtype": "image", "image": {"url": "https://x"}},
            {"msgtype": "text", "text": {"content": "包装破损"}},
        ]
    }
    event = aibot(data)
    assert isinstance(event, ChatMessage)
    assert event.text == "/售后 #3\n包装破损"


def test_aibot_card_click() -> None:
    event = aibot(ws.aibot_card_event("appr:12:no"))
    assert isinstance(event, CardAction)
    assert event.payload == "appr:12:no"
    assert event.event_id == "CAIQ-evt-1"
    assert event.card_ref == {"channel": "aibot", "task_id": "gd9_x"}
    assert event.reply_hints["response_url"].endswith("RESP2")


@pytest.mark.parametrize(
    "data",
    [
        {"msgid": "1", "from": {"userid": "u"}, "msgtype": "event", "event": {"eventtype": "enter_chat"}},
        {"msgid": "1", "from": {"userid": "u"}, "msgtype": "event", "event": {"eventtype": "feedback_event"}},
        {"msgid": "1", "from": {"userid": "u"}, "msgtype": "stream", "stream": {"id": "s"}},
        {"msgid": "1", "from": {"userid": "u"}, "msgtype": "image", "image": {"url": "x"}},
    ],
)
def test_ignored_aibot_payloads(data: dict[str, object]) -> None:
    assert aibot(data) is None


@pytest.mark.parametrize(
    "plain",
    [
        "not json",
        "[1, 2]",
        json.dumps({"msgtype": "text", "text": {"content": "x"}}),  # no msgid / sender
        json.dumps({"msgid": "1", "from": {"userid": "u"}, "msgtype": "text", "chattype": "group"}),
        json.dumps({"msgid": "1", "from": {"userid": "u"}, "msgtype": "text", "text": {"content": 5}}),
    ],
)
def test_malformed_aibot_payloads(plain: str) -> None:
    with pytest.raises(MalformedPayload):
        parse_aibot_message(plain, CORP, NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@跟单助手 /下单 华为", "/下单 华为"),
        ("@跟单助手\u2005/发货 #12", "/发货 #12"),
        ("@跟单助手/查单 #3", "/查单 #3"),
        ("@李四 @跟单助手 /查单 #3", "/查单 #3"),
        ("  @跟单助手  ", ""),
        ("/角色 @张三 主管", "/角色 @张三 主管"),
        ("@跟单助手 /角色 @张三 主管", "/角色 @张三 主管"),
        ("你好", "你好"),
    ],
)
def test_strip_leading_mentions(text: str, expected: str) -> None:
    assert strip_leading_mentions(text) == expected
