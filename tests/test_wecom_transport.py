"""WeComTransport and rendering, against the fake WeCom server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.outbound import Button, Card, Mention, Message
from bot.transport import CardExpired, Delivery, GroupWebhook, PermanentError, RateLimit, TransientError
from bot.wecom import render
from bot.wecom.client import WeComClient
from bot.wecom.transport import WeComTransport
from tests.fakes.wecom_server import CORP_ID, SECRET, FakeWeCom

NOW = 1_700_000_000.0
APPROVAL = Card(
    title="订单 #12 待审批",
    body="客户 华为 · ¥12,000",
    buttons=(Button("通过", "appr:12:yes", "primary"), Button("驳回", "appr:12:no", "danger")),
    fields=(("下单人", "张三"), ("交期", "12-15")),
)
CLOSED = Card(
    title="订单 #12 已通过",
    body="王经理 12-01 10:30 通过",
    buttons=(Button("已通过", "noop:12"),),
    closed=True,
)
RESPONSE_URL = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RESP1"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as server:
        yield server


@pytest.fixture
async def transport(fake: FakeWeCom) -> AsyncIterator[WeComTransport]:
    async with aiohttp.ClientSession() as session:
        client = WeComClient(session, api_base=fake.url, corp_id=CORP_ID, secret=SECRET, agent_id="1000002")
        yield WeComTransport(client, clock=lambda: NOW)


def delivery(message: Message, chat_id: str = "mgr1", chat_type: Any = "single", **kw: Any) -> Delivery:
    return Delivery(
        id=kw.pop("id", 41), platform="wecom", chat_id=chat_id, chat_type=chat_type, message=message, **kw
    )


def card_message(card: Card = APPROVAL) -> Message:
    return Message(kind="card", text=f"{card.title}\n{card.body}", card=card, card_key="approval:12:1")


# ---- app: cards ------------------------------------------------------------------------


async def test_card_send_then_update_with_its_single_use_code(
    fake: FakeWeCom, transport: WeComTransport
) -> None:
    ref = await transport.send(delivery(card_message()))
    assert ref is not None
    assert ref["channel"] == "app" and ref["userid"] == "mgr1" and ref["response_code"]
    sent = fake.calls_to("message/send")[0].json
    assert sent["touser"] == "mgr1"
    assert sent["template_card"]["task_id"] == ref["task_id"]
    assert sent["template_card"]["button_list"][0]["key"] == "appr:12:yes"

    update = delivery(card_message(CLOSED), op="update", card_ref=ref, id=42)
    await transport.update_card(update)
    body = fake.calls_to("message/update_template_card")[0].json
    assert body["response_code"] == ref["response_code"]
    assert body["userids"] == ["mgr1"]
    assert body["template_card"]["task_id"] == ref["task_id"]
    assert body["template_card"]["replace_text"] == "已通过"

    with pytest.raises(CardExpired):  # the code is spent
        await transport.update_card(update)


async def test_update_falls_back_to_replace_name(fake: FakeWeCom, transport: WeComTransport) -> None:
    fake.reject_full_card_update = True
    ref = await transport.send(delivery(card_message()))
    await transport.update_card(delivery(card_message(CLOSED), op="update", card_ref=ref))
    first, second = fake.calls_to("message/update_template_card")
    assert "template_card" in first.json
    assert second.json["button"] == {"replace_name": "已通过"}


async def test_update_with_a_click_code(fake: FakeWeCom, transport: WeComTransport) -> None:
    code = fake.issue_response_code("mgr2")
    ref = {"channel": "app", "response_code": code, "task_id": "gd5_abc", "userid": "mgr2"}
    result = await transport.update_card(
        delivery(card_message(CLOSED), chat_id="mgr2", op="update", card_ref=ref)
    )
    assert result == {"channel": "app", "task_id": "gd5_abc", "userid": "mgr2"}


@pytest.mark.parametrize(
    "ref",
    [None, {}, {"channel": "aibot", "task_id": "t"}, {"channel": "app", "response_code": "", "task_id": "t"}],
)
async def test_update_without_a_usable_code_is_card_expired(
    fake: FakeWeCom, transport: WeComTransport, ref: dict[str, Any] | None
) -> None:
    with pytest.raises(CardExpired):
        await transport.update_card(delivery(card_message(CLOSED), op="update", card_ref=ref))
    assert fake.calls_to("message/update_template_card") == []


async def test_update_busy_is_transient_and_keeps_the_code(
    fake: FakeWeCom, transport: WeComTransport
) -> None:
    ref = await transport.send(delivery(card_message()))
    fake.fail("message/update_template_card", -1)
    update = delivery(card_message(CLOSED), op="update", card_ref=ref)
    with pytest.raises(TransientError):
        await transport.update_card(update)
    await transport.update_card(update)


async def test_busy_waits_grow_with_the_rows_attempts(fake: FakeWeCom, transport: WeComTransport) -> None:
    waits = []
    for attempts in (0, 1, 2, 3, 12):
        fake.fail("message/send", -1)
        with pytest.raises(TransientError) as info:
            await transport.send(delivery(Message.plain("hi"), attempts=attempts))
        assert info.value.retry_after is not None
        waits.append(info.value.retry_after)
    for n, wait in enumerate(waits[:4]):
        assert 2.0 * 2**n <= wait <= 2.2 * 2**n, waits  # WeCom's 2 s hint, doubled, ≤10 % jitter
    assert waits[4] == 600.0  # capped


async def test_send_of_an_update_row_sends_a_new_message(fake: FakeWeCom, transport: WeComTransport) -> None:
    # The outbox falls back to ``send`` when a copy cannot be updated: that must post, not update.
    assert await transport.send(delivery(card_message(CLOSED), op="update", card_ref={"channel": "app"})) is None
    [sent] = fake.calls_to("message/send")
    assert sent.json["markdown"]["content"].startswith("**订单 #12 已通过**")
    assert fake.calls_to("message/update_template_card") == []


async def test_recipient_outside_visible_range_is_permanent(
    fake: FakeWeCom, transport: WeComTransport
) -> None:
    fake.invalid_users.add("outsider")
    with pytest.raises(PermanentError, match="visible range"):
        await transport.send(delivery(Message.plain("hi"), chat_id="outsider"))
    fake.fail("message/send", 81013)
    with pytest.raises(PermanentError):
        await transport.send(delivery(Message.plain("hi")))


# ---- app: text -------------------------------------------------------------------------


async def test_text_and_markdown_to_a_person(fake: FakeWeCom, transport: WeComTransport) -> None:
    assert await transport.send(delivery(Message.plain("您有 1 个待审批"), chat_id="zhangsan")) is None
    await transport.send(delivery(Message(kind="markdown", text="**#12** 已发货"), chat_id="zhangsan"))
    a, b = fake.calls_to("message/send")
    assert a.json["text"] == {"content": "您有 1 个待审批"}
    assert "enable_duplicate_check" not in a.json  # identical reminders must not be swallowed
    assert b.json["markdown"] == {"content": "**#12** 已发货"}


async def test_closed_card_is_sent_as_markdown(fake: FakeWeCom, transport: WeComTransport) -> None:
    assert await transport.send(delivery(card_message(CLOSED))) is None
    sent = fake.calls_to("message/send")[0].json
    assert sent["msgtype"] == "markdown"
    assert "订单 #12 已通过" in sent["markdown"]["content"]


# ---- groups ----------------------------------------------------------------------------


async def test_group_through_the_bound_webhook_with_mentions(
    fake: FakeWeCom, transport: WeComTransport
) -> None:
    hook = GroupWebhook(url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=GROUPKEY1")
    msg = Message(kind="markdown", text="#12 已发货", mentions=(Mention("wecom", "zhangsan", "张三"),))
    d = delivery(msg, chat_id="wrkGROUP1", chat_type="group", webhook=hook)
    assert transport.rate_limit(d) == RateLimit(20, 60.0)
    await transport.send(d)
    call = fake.calls_to("webhook/send")[0]
    assert call.query == {"key": "GROUPKEY1"}
    assert call.json == {"msgtype": "markdown", "markdown": {"content": "#12 已发货\n<@zhangsan>"}}


async def test_group_text_uses_mentioned_list(fake: FakeWeCom, transport: WeComTransport) -> None:
    hook = GroupWebhook(url="GROUPKEY1")
    msg = Message.plain("请处理 #12", Mention("wecom", "lisi"), Mention("dingtalk", "x"))
    await transport.send(delivery(msg, chat_id="g", chat_type="group", webhook=hook))
    assert fake.calls_to("webhook/send")[0].json["text"] == {
        "content": "请处理 #12",
        "mentioned_list": ["lisi"],
    }


async def test_webhook_limit_surfaces_as_transient(fake: FakeWeCom, transport: WeComTransport) -> None:
    fake.webhook_per_minute = 2
    d = delivery(Message.plain("x"), chat_id="g", chat_type="group", webhook=GroupWebhook(url="K"))
    await transport.send(d)
    await transport.send(d)
    with pytest.raises(TransientError):
        await transport.send(d)


async def test_group_without_webhook_answers_once_through_response_url(
    fake: FakeWeCom, transport: WeComTransport
) -> None:
    hints = {"response_url": RESPONSE_URL, "response_url_expires_at": NOW + 100}
    d = delivery(Message.plain("#12 待审批"), chat_id="g", chat_type="group", reply_hints=hints)
    assert transport.rate_limit(d) is None
    await transport.send(d)
    call = fake.calls_to("aibot/response")[0]
    assert call.query == {"response_code": "RESP1"}
    assert call.json == {"msgtype": "markdown", "markdown": {"content": "#12 待审批"}}
    with pytest.raises(PermanentError, match="/绑定"):  # one-shot
        await transport.send(d)


async def test_expired_response_url_is_not_used(fake: FakeWeCom, transport: WeComTransport) -> None:
    hints = {"response_url": RESPONSE_URL, "response_url_expires_at": NOW - 1}
    with pytest.raises(PermanentError):
        await transport.send(delivery(Message.plain("x"), chat_id="g", chat_type="group", reply_hints=hints))
    assert fake.calls == []


async def test_group_card_through_response_url_has_buttons(
    fake: FakeWeCom, transport: WeComTransport
) -> None:
    d = delivery(card_message(), chat_id="g", chat_type="group", reply_hints={"response_url": RESPONSE_URL})
    ref = await transport.send(d)
    assert ref is not None and ref["channel"] == "aibot"
    body = fake.calls_to("aibot/response")[0].json
    assert body["msgtype"] == "template_card"
    assert body["template_card"]["task_id"] == ref["task_id"]
    with pytest.raises(CardExpired):  # AI-bot cards have no later-update API
        await transport.update_card(delivery(card_message(CLOSED), op="update", card_ref=ref))


async def test_aibot_single_chat_answers_through_response_url(
    fake: FakeWeCom, transport: WeComTransport
) -> None:
    d = delivery(Message.plain("好的"), chat_id="wangwu", reply_hints={"response_url": RESPONSE_URL})
    await transport.send(d)
    assert len(fake.calls_to("aibot/response")) == 1
    assert fake.calls_to("message/send") == []


async def test_group_without_any_channel(transport: WeComTransport) -> None:
    d = delivery(Message.plain("x"), chat_id="g", chat_type="group")
    assert transport.route(d) is None
    with pytest.raises(PermanentError, match="/绑定"):
        await transport.send(d)


async def test_person_without_app(fake: FakeWeCom) -> None:
    async with aiohttp.ClientSession() as session:
        t = WeComTransport(WeComClient(session, api_base=fake.url))
        with pytest.raises(PermanentError, match="not configured"):
            await t.send(delivery(Message.plain("x")))


# ---- rendering -------------------------------------------------------------------------


def test_render_button_interaction() -> None:
    body = render.render_template_card(APPROVAL, "gd1_x")
    assert body == {
        "card_type": "button_interaction",
        "main_title": {"title": "订单 #12 待审批"},
        "sub_title_text": "客户 华为 · ¥12,000",
        "horizontal_content_list": [
            {"keyname": "下单人", "value": "张三"},
            {"keyname": "交期", "value": "12-15"},
        ],
        "task_id": "gd1_x",
        "button_list": [
            {"text": "通过", "style": 1, "key": "appr:12:yes"},
            {"text": "驳回", "style": 2, "key": "appr:12:no"},
        ],
    }


def test_render_closed_card_without_buttons_gets_a_placeholder() -> None:
    body = render.render_template_card(Card("t", "b", closed=True), "gd1_x")
    assert body["replace_text"] == render.DEFAULT_CLOSED_LABEL
    assert len(body["button_list"]) == 1


def test_render_overflow_rows_go_to_the_subtitle() -> None:
    card = Card("t", "b", buttons=(Button("ok", "a:1"),), fields=tuple((f"k{i}", f"v{i}") for i in range(8)))
    body = render.render_template_card(card, "gd1_x")
    assert len(body["horizontal_content_list"]) == 6
    assert "k7：v7" in body["sub_title_text"]


@pytest.mark.parametrize(
    "card",
    [
        Card("t", "b", buttons=(Button("a", "x"), Button("b", "x"))),  # duplicate keys
        Card("t", "b", buttons=tuple(Button(str(i), f"k{i}") for i in range(7))),
        Card("t", "b"),  # open card without buttons
    ],
)
def test_render_refuses(card: Card) -> None:
    with pytest.raises(render.RenderError):
        render.render_template_card(card, "gd1_x")


def test_task_ids_are_valid_unique_and_stable() -> None:
    a = render.task_id_for(1, "mgr1", "approval:12:1", "t")
    assert a == render.task_id_for(1, "mgr1", "approval:12:1", "t")
    assert a != render.task_id_for(1, "mgr2", "approval:12:1", "t")
    assert a != render.task_id_for(2, "mgr1", "approval:12:1", "t")
    huge = render.task_id_for(10**30, "x" * 1000)
    assert re.fullmatch(r"[0-9A-Za-z_\-@]+", huge) and len(huge.encode()) <= 128


def test_long_text_is_cut_to_the_byte_limit() -> None:
    body = render.app_message(Message.plain("订单" * 2000))
    content = body["text"]["content"]
    assert len(content.encode()) <= render.MAX_TEXT_BYTES
    assert content.endswith("…")


def test_mentions_not_repeated() -> None:
    msg = Message(
        kind="markdown", text="<@a> 请处理", mentions=(Mention("wecom", "a"), Mention("wecom", "b"))
    )
    assert render.with_mentions(msg.text, msg) == "<@a> 请处理\n<@b>"
