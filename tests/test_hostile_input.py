"""Hostile or mangled input from outside: control characters in every text field, forged card payloads."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.events import Actor, CardAction, ChatMessage, ChatRef, clean_text, inbound_from_dict
from bot.outbound import ActionDataError
from handlers.cards import ApprovalAction
from storage.models import Chat, InboxEvent, Person
from tests.conftest import Bot, fingerprint

NASTY = "\x00\x01\x08\x0b\x0c\x1f\x7f\ud800\ufffe\uffff\U0010ffff\ufdd0"
#: what survives JSON (a lone surrogate does not: pydantic refuses such a body with 400)
JSON_NASTY = "\x00\x01\x1f\x7f\ufffe\U0010ffff"


def test_clean_text_drops_controls_surrogates_and_noncharacters_but_keeps_text() -> None:
    assert clean_text(f"/下单{NASTY} 华为\tA100×2\n备注 加急") == "/下单 华为\tA100×2\n备注 加急"
    assert clean_text("普通文字 emoji 😀 and ±") == "普通文字 emoji 😀 and ±"


def test_every_text_field_of_an_event_is_cleaned_and_replay_is_stable() -> None:
    msg = ChatMessage("dingtalk", f"m{NASTY}1", ChatRef("dingtalk", f"cid{NASTY}", "group", f"销售{NASTY}群"),
                      Actor("dingtalk", f"u{NASTY}1", f"张{NASTY}三", tenant=f"corp{NASTY}"), f"/帮助{NASTY}",
                      reply_hints={"sessionWebhook": f"https://oapi.dingtalk.com/x{NASTY}", "list": [f"a{NASTY}"]})
    assert (msg.event_id, msg.chat.chat_id, msg.chat.title) == ("m1", "cid", "销售群")
    assert (msg.actor.user_id, msg.actor.name, msg.actor.tenant, msg.text) == ("u1", "张三", "corp", "/帮助")
    assert msg.reply_hints == {"sessionWebhook": "https://oapi.dingtalk.com/x", "list": ["a"]}
    assert inbound_from_dict(msg.to_dict()) == msg
    action = CardAction("wecom", "e1", ChatRef("wecom", "m1", "single"), Actor("wecom", "m1"), f"ap:1:ok{NASTY}",
                        text=f"原因{NASTY}", card_ref={"task_id": f"t{NASTY}"})
    assert (action.payload, action.text, action.card_ref) == ("ap:1:ok", "原因", {"task_id": "t"})


async def test_nul_in_sender_name_chat_and_text_is_answered_on_both_databases(bot: Bot) -> None:
    n = JSON_NASTY
    replies = await bot.say(f"u{n}9", f"/帮助{n}", chat=f"g{n}9", name=f"王{n}五", msg_id=f"id{n}1")
    assert replies and "可用命令" in replies[0]["text"]
    async with bot.db.uow() as uow:
        person = (await uow.session.execute(select(Person).where(Person.user_id == "u9"))).scalar_one()
        chat = (await uow.session.execute(select(Chat).where(Chat.chat_id == "g9"))).scalar_one()
        inbox = (await uow.session.execute(select(InboxEvent).where(InboxEvent.event_id == "id1"))).scalar_one()
    assert person.name == "王五" and chat.chat_type == "group"
    assert inbox.status == "DONE" and inbox.error is None


@pytest.mark.parametrize("payload", [
    "ap:²:ok",                                   # a Unicode digit that str.isdigit() accepts
    "ap:١:ok",                                   # Arabic-Indic one
    "ap:999999999999999999999999999999:ok",      # past every integer column
    "ap:2147483648:ok",                          # one past PostgreSQL's integer
    "ap:0:ok", "ap:-1:ok", "ap: 1:ok", "ap:1:yes", "ap:1:OK", "ap:1:ok:extra", "ap:1", "ap::ok",
    "ap:1:" + "x" * 80,                          # longer than any payload we make
])
def test_mangled_card_payloads_do_not_unpack(payload: str) -> None:
    with pytest.raises(ActionDataError):
        ApprovalAction.unpack(payload)


def test_valid_payloads_round_trip() -> None:
    for decision in ("ok", "no"):
        packed = ApprovalAction(2147483647, decision).pack()
        assert ApprovalAction.unpack(packed) == ApprovalAction(2147483647, decision)


async def test_mangled_card_presses_answer_expired_button_and_change_nothing(team: Bot) -> None:
    reply = await team.text("u1", "/下单 华为 A100×20@600 交期12-15")  # ¥12,000: waits for the 主管
    assert "已提交审批" in reply
    before = await fingerprint(team.db)
    for payload in ("ap:²:ok", "ap:999999999999999999999999999999:ok", "ap:2147483648:ok", "ap:1:yes"):
        answer = await team.press("m1", payload)
        assert answer == "这个按钮已失效，请发送 /查单 #单号 查看最新状态。", (payload, answer)
    assert await fingerprint(team.db) == before
    assert "已通过" in await team.press("m1", "ap:1:ok")  # the real button still works


def test_order_parsing_is_linear_in_the_number_of_separators() -> None:
    """Not a timing test: counts quantity attempts, which grew with the square of the separators."""
    from datetime import date
    from unittest import mock

    from handlers.args import numbers, parse_new_order
    from handlers.args.tokens import ArgError

    calls = {"n": 0}
    real = numbers.try_qty

    def counting(text: str) -> object:
        calls["n"] += 1
        calls["chars"] = calls.get("chars", 0) + len(text)
        return real(text)

    seen = []
    for n in (1_000, 10_000):
        calls.clear()
        calls["n"] = 0
        with mock.patch("handlers.args.words.try_qty", counting), pytest.raises(ArgError):
            parse_new_order("客户X A100" + "×" * n, date(2026, 12, 5))
        seen.append(calls.get("chars", 0))
    # ten times the input may cost at most ten times the characters examined (plus slack), not a hundred
    assert seen[1] <= 12 * max(seen[0], 1), seen


async def test_a_message_longer_than_any_command_is_refused_unread(team: Bot) -> None:
    before = await fingerprint(team.db)
    long_order = "/下单 华为 A100×2@300 交期12-15 备注 " + "很长" * 2100
    reply = await team.text("u1", long_order)
    assert reply == f"这条消息太长（{len(long_order)} 字），一条命令最多 4000 字，未做任何修改。请分几条发送。"
    assert await team.text("u1", "闲聊" * 2500) == ""  # group chatter not addressed to the bot: silence
    assert await fingerprint(team.db) == before
    assert "#1" in await team.text("u1", "/下单 华为 A100×2@300 交期12-15 备注 " + "短" * 100)
