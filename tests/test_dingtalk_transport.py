"""DingTalkTransport route choice, rendering and cards, against the fake DingTalk server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.dingtalk.client import DingTalkClient
from bot.dingtalk.render import card_param_map, openapi_message, webhook_body
from bot.dingtalk.signing import card_callback_key
from bot.dingtalk.transport import DingTalkTransport
from bot.outbound import Button, Card, Mention, Message
from bot.transport import CardExpired, Delivery, GroupWebhook, PermanentError, RateLimit, TransientError
from tests.fakes.dingtalk_server import APP_SECRET, FakeDingTalk, dingtalk_settings

NOW_MS = 1_700_000_000_000

APPROVAL = Card(
    title="订单 #12 待审批",
    body="客户A 10件，金额 ¥12,000",
    buttons=(Button("通过", "appr:12:approve", "primary"), Button("驳回", "appr:12:reject", "danger")),
    fields=(("客户", "客户A"), ("金额", "¥12,000")),
)


def link_for(button: Button, delivery: Delivery) -> str:
    return f"https://bot.example.com/approve?d={delivery.id}&a={button.action}&sig=x"


def card_message(card: Card = APPROVAL, *mentions: Mention) -> Message:
    return Message(kind="card", text="订单 #12 待审批", card=card, mentions=mentions, card_key="appr-12-1")


def delivery(message: Message, chat_id: str = "cidGROUP1==", chat_type: Any = "group", **kw: Any) -> Delivery:
    return Delivery(
        id=kw.pop("id", 7), platform="dingtalk", chat_id=chat_id, chat_type=chat_type, message=message, **kw
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    async with FakeDingTalk() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def make(
    fake: FakeDingTalk, session: aiohttp.ClientSession, *, links: bool = True, **settings: Any
) -> DingTalkTransport:
    cfg = dingtalk_settings(fake.url, **settings)
    return DingTalkTransport(
        DingTalkClient(session, cfg, timeout=10.0), cfg, link_for if links else None, clock_ms=lambda: NOW_MS
    )


def hints(url: str, expires_ms: int, chat_id: str = "cidGROUP1==") -> dict[str, Any]:
    return {"session_webhook": url, "session_webhook_expires_ms": expires_ms, "chat_id": chat_id}


# ---- plain messages -------------------------------------------------------------------


async def test_reply_through_live_session_webhook(fake: FakeDingTalk, session: aiohttp.ClientSession) -> None:
    transport = make(fake, session)
    msg = Message.plain("已下单 #12", Mention("dingtalk", "manager01", "王经理"))
    d = delivery(msg, reply_hints=hints(fake.add_session("s1"), NOW_MS + 3_600_000))
    assert await transport.send(d) is None
    (call,) = fake.calls
    assert call.path == "/robot/sendBySession"
    assert call.json == {
        "msgtype": "text",
        "text": {"content": "已下单 #12 @manager01"},
        "at": {"atUserIds": ["manager01"], "isAtAll": False},
    }


@pytest.mark.parametrize("expires_ms", [NOW_MS - 1, NOW_MS + 60_000, 0])
async def test_expired_or_expiring_session_uses_openapi(
    fake: FakeDingTalk, session: aiohttp.ClientSession, expires_ms: int
) -> None:
    transport = make(fake, session)
    d = delivery(Message.plain("已下单"), reply_hints=hints(fake.add_session("s1"), expires_ms))
    await transport.send(d)
    assert not fake.calls_to("/robot/sendBySession")
    (call,) = fake.calls_to("/v1.0/robot/groupMessages/send")
    assert call.json["openConversationId"] == "cidGROUP1=="
    assert (call.json["msgKey"], call.msg_param) == ("sampleText", {"content": "已下单"})


async def test_session_gone_early_falls_back_to_openapi(
    fake: FakeDingTalk, session: aiohttp.ClientSession
) -> None:
    transport = make(fake, session)
    url = fake.add_session("s1")
    fake.expire_session("s1")
    await transport.send(delivery(Message.plain("x"), reply_hints=hints(url, NOW_MS + 3_600_000)))
    assert len(fake.calls_to("/robot/sendBySession")) == 1
    assert len(fake.calls_to("/v1.0/robot/groupMessages/send")) == 1


async def test_session_of_another_chat_is_not_used(
    fake: FakeDingTalk, session: aiohttp.ClientSession
) -> None:
    transport = make(fake, session)
    d = delivery(
        Message.plain("请审批"),
        "boss",
        "single",
        reply_hints=hints(fake.add_session("s1"), NOW_MS + 3_600_000),
    )
    await transport.send(d)
    assert not fake.calls_to("/robot/sendBySession")
    (call,) = fake.calls_to("/v1.0/robot/oToMessages/batchSend")
    assert call.json["userIds"] == ["boss"]


async def test_markdown_and_mentions_on_openapi(fake: FakeDingTalk, session: aiohttp.ClientSession) -> None:
    transport = make(fake, session)
    msg = Message(
        kind="markdown", text="## 日报\n- 3 单已发货", mentions=(Mention("dingtalk", "u1", "李四"),)
    )
    await transport.send(delivery(msg))
    call = fake.calls_to("/v1.0/robot/groupMessages/send")[0]
    assert call.json["msgKey"] == "sampleMarkdown"
    assert call.msg_param == {"title": "日报", "text": "## 日报\n- 3 单已发货 @李四"}


async def test_bound_custom_robot_without_app_robot(
    fake: FakeDingTalk, session: aiohttp.ClientSession
) -> None:
    transport = make(fake, session, dingtalk_app_key="", dingtalk_app_secret="")
    hook = GroupWebhook(url=fake.add_robot("tok", "SECabc"), secret="SECabc")
    await transport.send(delivery(Message.plain("发货了", Mention("dingtalk", "u1")), webhook=hook))
    (call,) = fake.calls
    assert call.path == "/robot/send"
    assert call.json["at"]["atUserIds"] == ["u1"]
    assert call.json["text"]["content"] == "发货了 @u1"


async def test_app_robot_refused_falls_back_to_bound_robot(
    fake: FakeDingTalk, session: aiohttp.ClientSession
) -> None:
    transport = make(fake, session)
    fake.fail_next("/v1.0/robot/groupMessages/send", 400, {"code": "robot.notInGroup"})
    hook = GroupWebhook(url=fake.add_robot("tok", None))
    await transport.send(delivery(Message.plain("x"), webhook=hook))
    assert [c.path for c in fake.calls][-1] == "/robot/send"


async def test_no_route_is_permanent(fake: FakeDingTalk, session: aiohttp.ClientSession) -> None:
    transport = make(fake, session, dingtalk_app_key="", dingtalk_app_secret="")
    with pytest.raises(PermanentError):
        await transport.send(delivery(Message.plain("x")))
    with pytest.raises(PermanentError):
        await transport.send(delivery(Message.plain("x"), "u1", "single"))


def test_rate_limit(fake: FakeDingTalk) -> None:
    transport = DingTalkTransport(None, dingtalk_settings())  # type: ignore[arg-type]
    assert transport.rate_limit(delivery(Message.plain("x"))) == RateLimit(20, 60.0)
    assert transport.rate_limit(delivery(Message.plain("x"), "u1", "single")) is None


# ---- cards without a template: ActionCard with links ------------------------------------


async def test_action_card_with_links_on_openapi(fake: FakeDingTalk, session: aiohttp.ClientSession) -> None:
    transport = make(fake, session)
    assert await transport.send(delivery(card_message(), "boss", "single")) is None
    call = fake.calls_to("/v1.0/robot/oToMessages/batchSend")[0]
    assert call.json["msgKey"] == "sampleActionCard2"
    param = call.msg_param
    assert param["title"] == "订单 #12 待审批"
    assert "客户A 10件" in param["text"] and "**金额**: ¥12,000" in param["text"]
    assert (param["actionTitle1"], param["actionTitle2"]) == ("通过", "驳回")
    assert param["actionURL1"] == "https://bot.example.com/approve?d=7&a=appr:12:approve&sig=x"
    assert param["actionURL2"].endswith("a=appr:12:reject&sig=x")


async def test_action_card_with_links_on_session_webhook(
    fake: FakeDingTalk, session: aiohttp.ClientSession
) -> None:
    transport = make(fake, session)
    d = delivery(card_message(), reply_hints=hints(fake.add_session("s1"), NOW_MS + 3_600_000))
    await transport.send(d)
    body = fake.calls_to("/robot/sendBySession")[0].json
    assert body["msgtype"] == "actionCard"
    assert [b["title"] for b in body["actionCard"]["btns"]] == ["通过", "驳回"]
    assert body["actionCard"]["btns"][0]["actionURL"].startswith("https://bot.example.com/approve?d=7")


async def test_action_card_cannot_be_updated(fake: FakeDingTalk, session: aiohttp.ClientSession) -> None:
    transport = make(fake, session)
    with pytest.raises(CardExpired):
        await transport.update_card(delivery(card_message(), op="update", card_ref=None))


def test_render_variants() -> None:
    d = delivery(card_message())
    one = Card(title="确认", body="b", buttons=(Button("查看", "view:1"),))
    assert openapi_message(card_message(one), d, link_for)[0] == "sampleActionCard"
    assert openapi_message(card_message(one), d, link_for)[1]["singleURL"].endswith("a=view:1&sig=x")
    closed = Card(title="已通过", body="王经理 通过", buttons=APPROVAL.buttons, closed=True)
    assert openapi_message(card_message(closed), d, link_for)[0] == "sampleMarkdown"
    assert openapi_message(card_message(), d, None)[0] == "sampleMarkdown"  # no links: markdown only
    assert webhook_body(card_message(closed), d, link_for)["msgtype"] == "markdown"
    many = Card(title="t", body="b", buttons=tuple(Button(str(i), f"a:{i}") for i in range(7)))
    key, param = openapi_message(card_message(many), d, link_for)
    assert key == "sampleActionCard5" and "actionURL5" in param and "actionURL6" not in param


# ---- template cards ---------------------------------------------------------------------


async def test_template_card_create_register_and_update(
    fake: FakeDingTalk, session: aiohttp.ClientSession
) -> None:
    transport = make(fake, session, dingtalk_card_template_id="tpl-1.schema")
    mention = Mention("dingtalk", "mgr01", "王经理")
    ref = await transport.send(delivery(card_message(APPROVAL, mention)))
    assert ref is not None and ref["out_track_id"].startswith("gendan-7-")
    (reg,) = fake.calls_to("/v1.0/card/callbacks/register")
    assert (
        reg.json["callbackUrl"] == f"https://bot.example.com/dingtalk/card?k={card_callback_key(APP_SECRET)}"
    )
    (create,) = fake.calls_to("/v1.0/card/instances/createAndDeliver")
    body = create.json
    assert body["cardTemplateId"] == "tpl-1.schema"
    assert body["outTrackId"] == ref["out_track_id"]
    assert body["callbackType"] == "HTTP" and body["callbackRouteKey"] == reg.json["callbackRouteKey"]
    assert body["openSpaceId"] == "dtv1.card//IM_GROUP.cidGROUP1=="
    assert body["imGroupOpenDeliverModel"] == {"robotCode": "dingappkey", "atUserIds": {"mgr01": "王经理"}}
    params = body["cardData"]["cardParamMap"]
    assert all(isinstance(v, str) for v in params.values())
    assert (params["btn1_label"], params["btn1_action"]) == ("通过", "appr:12:approve")
    assert params["closed"] == "false"

    # A second card does not register again; a 1:1 card goes to IM_ROBOT.
    await transport.send(delivery(card_message(), "boss", "single", id=8))
    assert len(fake.calls_to("/v1.0/card/callbacks/register")) == 1
    single = fake.calls_to("/v1.0/card/instances/createAndDeliver")[1].json
    assert single["openSpaceId"] == "dtv1.card//IM_ROBOT.boss"
    assert single["imRobotOpenDeliverModel"] == {"spaceType": "IM_ROBOT", "robotCode": "dingappkey"}

    decided = Card(title="订单 #12 已通过", body="王经理 通过于 10:02", closed=True)
    update = delivery(card_message(decided), op="update", card_ref=ref)
    assert await transport.update_card(update) == ref
    stored = fake.cards[ref["out_track_id"]]["cardData"]["cardParamMap"]
    assert stored["closed"] == "true" and stored["btn1_action"] == "" and stored["title"] == "订单 #12 已通过"


async def test_template_card_retry_reuses_out_track_id(
    fake: FakeDingTalk, session: aiohttp.ClientSession
) -> None:
    transport = make(fake, session, dingtalk_card_template_id="tpl-1.schema", dingtalk_mode="stream")
    first = await transport.send(delivery(card_message()))
    again = await transport.send(delivery(card_message(), attempts=1))
    assert first == again
    assert fake.calls_to("/v1.0/card/instances/createAndDeliver")[0].json["callbackType"] == "STREAM"
    assert not fake.calls_to("/v1.0/card/callbacks/register")


async def test_template_card_update_of_unknown_card_expires(
    fake: FakeDingTalk, session: aiohttp.ClientSession
) -> None:
    transport = make(fake, session, dingtalk_card_template_id="tpl-1.schema")
    with pytest.raises(CardExpired):
        await transport.update_card(delivery(card_message(), op="update", card_ref={"out_track_id": "gone"}))


def test_card_param_map_blanks_missing_buttons() -> None:
    params = card_param_map(Card(title="t", body="b", buttons=(Button("好", "a:1"),)))
    assert params["btn1_action"] == "a:1"
    assert params["btn2_action"] == params["btn4_label"] == ""
    assert "btn5_label" not in params


async def test_throttled_custom_robot_is_transient_then_succeeds(
    fake: FakeDingTalk, session: aiohttp.ClientSession
) -> None:
    transport = make(fake, session, dingtalk_app_key="", dingtalk_app_secret="")
    hook = GroupWebhook(url=fake.add_robot("tok", "SECabc"), secret="SECabc")
    fake.fail_next(
        "/robot/send", 200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
    )
    with pytest.raises(TransientError):
        await transport.send(delivery(Message.plain("x"), webhook=hook))
    await transport.send(delivery(Message.plain("x"), webhook=hook))
    assert len(fake.calls_to("/robot/send")) == 2
