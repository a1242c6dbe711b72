"""Issue 14, item 10: a DingTalk reply in a group @mentions its sender (as the official SDK's reply does)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bot.dingtalk.render import openapi_message, webhook_body, with_sender_mention
from bot.outbound import Card, Mention, Message
from bot.transport import Delivery

HINTS = {"chat_id": "cidG==", "sender_id": "u01", "sender_name": "张三"}


def delivery(message: Message, chat_id: str = "cidG==", chat_type: Any = "group",
             hints: dict[str, Any] | None = None) -> Delivery:
    return Delivery(1, "dingtalk", chat_id, chat_type, message, reply_hints=HINTS if hints is None else hints)


def test_group_reply_mentions_the_sender_in_at_and_text() -> None:
    d = delivery(Message.plain("#1 已确认"))
    mentioned = dataclasses.replace(d, message=with_sender_mention(d))
    assert webhook_body(mentioned.message, mentioned, None) == {
        "msgtype": "text", "text": {"content": "#1 已确认 @u01"}, "at": {"atUserIds": ["u01"], "isAtAll": False}}
    assert openapi_message(mentioned.message, mentioned, None) == ("sampleText", {"content": "#1 已确认 @张三"})


@pytest.mark.parametrize(
    "d",
    [
        delivery(Message.plain("hi"), chat_type="single", chat_id="u01", hints={**HINTS, "chat_id": "u01"}),
        delivery(Message.plain("hi"), chat_id="cidOTHER=="),  # a notification to another group
        delivery(Message.plain("hi"), hints={}),  # not a reply
        delivery(Message(kind="card", text="t", card=Card("t", "b"))),
    ],
)
def test_only_group_replies_mention_the_sender(d: Delivery) -> None:
    assert with_sender_mention(d) is d.message


def test_sender_already_mentioned_is_not_mentioned_twice() -> None:
    d = delivery(Message.plain("hi", Mention("dingtalk", "u01", "张三")))
    assert with_sender_mention(d).mentions == (Mention("dingtalk", "u01", "张三"),)
