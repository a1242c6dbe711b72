"""DingTalk payload → neutral event translation (pure functions)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.dingtalk.inbound import (
    PayloadError,
    action_from_card_callback,
    directory_events,
    event_type,
    message_from_robot,
)
from bot.events import ChatRef, inbound_from_dict
from tests.fakes.dingtalk_signing import card_click, robot_message


def test_group_message() -> None:
    body = robot_message(" /下单 客户A 10件", expires_ms=1_700_000_000_000)
    msg = message_from_robot(body)
    assert msg.platform == "dingtalk"
    assert msg.event_id == "msgABC=="
    assert msg.chat == ChatRef(
        platform="dingtalk", chat_id="cidGROUP1==", chat_type="group", title="销售一组"
    )
    assert msg.actor.user_id == "manager01"
    assert msg.actor.name == "王经理"
    assert msg.actor.tenant == "dingcorp1"
    assert msg.text == "/下单 客户A 10件"
    assert msg.mentioned_bot is True
    assert msg.reply_hints == {
        "session_webhook": body["sessionWebhook"],
        "session_webhook_expires_ms": 1_700_000_000_000,
        "conversation_id": "cidGROUP1==",
        "robot_code": "dingappkey",
        "chat_id": "cidGROUP1==",
        "sender_id": "manager01",
        "sender_name": "王经理",
    }
    # The inbox stores and replays it.
    assert inbound_from_dict(json.loads(json.dumps(msg.to_dict()))) == msg


def test_single_chat_uses_the_user_id_as_chat_id() -> None:
    msg = message_from_robot(robot_message("  /查单 #12 ", group=False, conversation_id="cidSINGLE=="))
    assert msg.chat.chat_type == "single"
    assert msg.chat.chat_id == "manager01"
    assert msg.reply_hints["conversation_id"] == "cidSINGLE=="
    assert msg.reply_hints["chat_id"] == "manager01"
    assert msg.mentioned_bot is False
    assert msg.text == "/查单 #12"


def test_outside_user_falls_back_to_sender_id() -> None:
    body = robot_message(staff_id="")
    body.pop("senderCorpId")
    msg = message_from_robot(body)
    assert msg.actor.user_id == "$:LWCP_v1:$abc"
    assert msg.actor.tenant == "dingcorp1"  # chatbotCorpId


def test_mention_spacing_is_stripped() -> None:
    assert message_from_robot(robot_message("\u2005 /帮助\n")).text == "/帮助"


def test_rich_text_and_picture() -> None:
    body = robot_message()
    body.update(
        msgtype="richText", content={"richText": [{"text": " /发货 "}, {"downloadCode": "x"}, {"text": "#3"}]}
    )
    del body["text"]
    assert message_from_robot(body).text == "/发货 #3"
    body.update(msgtype="picture", content={"downloadCode": "x"})
    assert message_from_robot(body).text == ""


@pytest.mark.parametrize(
    "change",
    [
        {"msgId": ""},
        {"msgId": None},
        {"msgId": ["x"]},
        {"senderStaffId": "", "senderId": ""},
        {"conversationId": ""},
    ],
)
def test_unusable_messages_raise(change: dict[str, Any]) -> None:
    body = robot_message()
    body.update(change)
    with pytest.raises(PayloadError):
        message_from_robot(body)


def test_non_object_raises() -> None:
    with pytest.raises(PayloadError):
        message_from_robot([])  # type: ignore[arg-type]


# ---- card clicks ------------------------------------------------------------------------


def test_card_click_in_group() -> None:
    action = action_from_card_callback(card_click("appr:12:approve"))
    assert action.payload == "appr:12:approve"
    assert action.actor.user_id == "mgr01"
    assert action.actor.tenant == "dingcorp1"
    assert action.chat == ChatRef(platform="dingtalk", chat_id="cidGROUP1==", chat_type="group")
    assert action.card_ref == {"out_track_id": "gendan-7-abc"}
    assert action.event_id.startswith("card:")
    assert inbound_from_dict(action.to_dict()) == action


def test_card_click_single_older_value_field_and_reason() -> None:
    data = card_click(
        "appr:12:reject", space_type="IM_ROBOT", space_id="mgr01", as_value=True, reason=" 价格太低 "
    )
    action = action_from_card_callback(data)
    assert action.chat.chat_type == "single" and action.chat.chat_id == "mgr01"
    assert action.text == "价格太低"


def test_card_click_space_id_prefix_is_removed() -> None:
    action = action_from_card_callback(card_click("a", space_id="dtv1.card//IM_GROUP.cidX=="))
    assert action.chat.chat_id == "cidX=="


def test_card_click_event_id_is_stable_per_click() -> None:
    first = action_from_card_callback(card_click("appr:12:approve"))
    again = action_from_card_callback(card_click("appr:12:approve"))
    other_user = action_from_card_callback(card_click("appr:12:approve", user_id="boss"))
    other_choice = action_from_card_callback(card_click("appr:12:reject"))
    assert first.event_id == again.event_id
    assert len({first.event_id, other_user.event_id, other_choice.event_id}) == 3
    assert action_from_card_callback(card_click("a"), event_id="frame-1").event_id == "frame-1"


def test_card_click_action_id_fallback() -> None:
    data = card_click("x")
    data["content"] = json.dumps({"cardPrivateData": {"actionIds": ["appr:1:approve"], "params": {}}})
    assert action_from_card_callback(data).payload == "appr:1:approve"


@pytest.mark.parametrize(
    "content",
    ["", "{not json", json.dumps({"cardPrivateData": {"actionIds": [], "params": {}}}), json.dumps([1])],
)
def test_card_click_without_action_raises(content: str) -> None:
    data = card_click("x")
    data["content"] = content
    with pytest.raises(PayloadError):
        action_from_card_callback(data)


def test_card_click_without_clicker_raises() -> None:
    data = card_click("x")
    del data["userId"]
    with pytest.raises(PayloadError):
        action_from_card_callback(data)


# ---- subscription events ---------------------------------------------------------------


def test_user_leave_org() -> None:
    event = {"EventType": "user_leave_org", "UserId": ["u1", "u2"], "CorpId": "dingcorp1", "TimeStamp": "17"}
    events = directory_events(event)
    assert [(e.kind, e.user_id, e.tenant) for e in events] == [
        ("user_left", "u1", "dingcorp1"),
        ("user_left", "u2", "dingcorp1"),
    ]
    assert events[0].event_id == "user_leave_org:dingcorp1:17:u1"
    assert directory_events(event) == events  # a retried push dedupes


def test_other_events_translate_to_nothing() -> None:
    assert directory_events({"EventType": "check_url"}) == []
    assert directory_events({"EventType": "user_add_org", "UserId": ["u"]}) == []
    assert event_type({"EventType": "check_url"}) == "check_url"
    assert event_type({}) == ""


def test_user_leave_org_without_users_raises() -> None:
    with pytest.raises(PayloadError):
        directory_events({"EventType": "user_leave_org"})
