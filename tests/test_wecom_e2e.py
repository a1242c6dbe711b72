"""WeCom end to end: the real app, genuine encrypted callbacks, the fake WeCom server.

Orders, replies, approval cards (send, click, update) and rejects. Delivery
concerns (tokens, retries, rate limits, forged callbacks, contact events) are
in ``test_wecom_e2e_delivery.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.wecom import AIBOT_PATH, APP_PATH
from storage.models import Approval, Person, SentCard
from tests.conftest import Clock, fingerprint
from tests.fakes import wecom_signing as ws
from tests.fakes.wecom_harness import ADMIN, GROUP, World, button_key, now_ts, open_world

BIG_ORDER = "/下单 华为 A100×20@600 交期12-15"  # ¥12,000: at or above T1, one 主管 must approve
SMALL_ORDER = "/下单 小米 A100×2@300 交期12-15"  # ¥600: confirmed at once


@pytest.fixture
async def world(db_url: tuple[str, dict[str, Any]], clock: Clock) -> AsyncIterator[World]:
    async with open_world(db_url, clock) as w:
        yield w


async def make_managers(w: World, *users: str) -> None:
    """Each manager talks to the app once (so the bot knows them); the admin grants 主管 by message."""
    for user in users:
        assert await w.say(user, "/帮助") == 200
        assert await w.say(ADMIN, f"/角色 {user} 主管") == 200
        assert w.texts_to(ADMIN)[-1] == f"{user} 的角色：主管"


def send_codes(w: World) -> dict[str, str]:
    """The response_code message/send returned for each manager's card copy, by user."""
    return {user: code for code, user in w.fake.response_codes.items()}


async def test_url_checks_on_both_paths(world: World) -> None:
    resp = await world.client.get(APP_PATH, params=ws.url_check("1616140317555161061", timestamp=now_ts()))
    assert resp.status == 200
    assert await resp.read() == b"1616140317555161061"
    params = ws.url_check("aibot-echo+/=", timestamp=now_ts(), token=ws.AIBOT_TOKEN, key=ws.AIBOT_AES_KEY,
                          receive_id="")
    resp = await world.client.get(AIBOT_PATH, params=params)
    assert resp.status == 200
    assert await resp.read() == b"aibot-echo+/="
    # The app path's key does not verify the AI bot's URL check and vice versa.
    resp = await world.client.get(APP_PATH, params=params)
    assert resp.status == 403
    assert await world.inbox() == 0


async def test_one_to_one_order_is_answered_once_through_the_app(world: World) -> None:
    w = world
    assert await w.say("zhangsan", SMALL_ORDER) == 200
    [reply] = w.sent_to("zhangsan")
    assert reply["msgtype"] == "text" and reply["agentid"] == 1000002
    assert reply["text"]["content"].startswith("#1 小米 金额 ¥600")
    assert "已自动确认" in reply["text"]["content"]
    assert [c.path for c in w.fake.calls] == ["gettoken", "message/send"]
    [order] = await w.orders()
    assert (order.origin_platform, order.origin_chat_id, order.origin_chat_type) == ("wecom", "zhangsan", "single")
    async with w.db.uow() as uow:
        person = (await uow.session.execute(select(Person).where(Person.user_id == "zhangsan"))).scalar_one()
        assert person.role_names == {"sales"}  # the default role of a newcomer
    await w.settle()  # a later pass sends nothing again
    assert len(w.fake.calls_to("message/send")) == 1


async def test_group_order_through_the_ai_bot(world: World) -> None:
    w = world
    await make_managers(w, "mgr1")
    status, code = await w.group_say("wangwu", BIG_ORDER)
    assert status == 200
    [answer] = w.aibot_answers(code)
    assert answer["msgtype"] == "markdown"
    assert answer["markdown"]["content"].startswith("#1 华为 金额 ¥12,000")
    assert "已提交审批" in answer["markdown"]["content"]
    [order] = await w.orders()
    assert (order.origin_chat_id, order.origin_chat_type) == (GROUP, "group")
    # the approval card goes 1:1 to the manager through the app
    [card] = w.cards_to("mgr1")
    assert card["card_type"] == "button_interaction"
    assert card["main_title"]["title"] == "订单审批 #1 ¥12,000"
    assert await w.outbox_status() == {"SENT": 4}  # role reply, /帮助, group answer, card


async def test_group_order_with_two_replies_answers_once_with_both(world: World) -> None:
    w = world
    _status, code = await w.group_say("wangwu", "/下单 华为 A100×10@600 交期12-15")  # ¥6,000: confirmed
    [answer] = w.aibot_answers(code)
    assert "已自动确认" in answer["markdown"]["content"]
    # a change to ¥12,000 needs 主管, whom nobody holds yet: the change and a warning, two replies
    _status, code = await w.group_say("wangwu", "/变更 #1 A100 数量 20")
    [answer] = w.aibot_answers(code)
    assert "#1 变更已提交审批" in answer["markdown"]["content"]
    assert "目前没有人担任「主管」" in answer["markdown"]["content"]
    assert "PARKED" not in await w.outbox_status()


async def test_approval_card_click_updates_every_copy(world: World) -> None:
    w = world
    await make_managers(w, "mgr1", "mgr2")
    await w.say("zhangsan", BIG_ORDER)
    card1, card2 = w.cards_to("mgr1")[0], w.cards_to("mgr2")[0]
    assert [b["text"] for b in card1["button_list"]] == ["通过", "驳回"]
    assert card1["task_id"] != card2["task_id"]
    codes = send_codes(w)
    assert set(codes) == {"mgr1", "mgr2"}

    click_code = w.fake.issue_response_code("mgr1")
    assert await w.click("mgr1", button_key(card1, "通过"), task_id=card1["task_id"], code=click_code) == 200

    [order] = await w.orders()
    assert order.state == "CONFIRMED"
    assert w.texts_to("mgr1")[-1] == "#1 已通过，当前状态「已确认」。"
    assert "审批通过（mgr1）" in w.texts_to("zhangsan")[-1]
    updates = w.fake.accepted("message/update_template_card")
    # The pressed copy is updated with the fresh code its click brought; the other with its send code.
    assert sorted((u.json["userids"], u.json["response_code"]) for u in updates) == [
        (["mgr1"], click_code), (["mgr2"], codes["mgr2"])]
    for update in updates:
        closed = update.json["template_card"]
        assert closed["main_title"]["title"] == "审批 #1 ¥12,000：通过"
        assert closed["replace_text"] == "已处理" and "mgr1 通过" in closed["sub_title_text"]
        assert closed["task_id"] in (card1["task_id"], card2["task_id"])

    # mgr2 presses 通过 on a copy that had not refreshed yet: a stale card changes nothing.
    before = await fingerprint(w.db)
    sent = len(w.fake.calls_to("message/send"))
    stale_code = w.fake.issue_response_code("mgr2")
    assert await w.click("mgr2", button_key(card2, "通过"), task_id=card2["task_id"], code=stale_code) == 200
    assert await fingerprint(w.db) == before
    assert w.texts_to("mgr2")[-1].startswith("状态已变化")
    assert "已确认" in w.texts_to("mgr2")[-1]
    assert len(w.fake.calls_to("message/send")) == sent + 1
    assert len(w.fake.calls_to("message/update_template_card")) == 2


async def test_a_spent_code_falls_back_to_a_new_message(world: World) -> None:
    w = world
    await make_managers(w, "mgr1", "mgr2")
    await w.say("zhangsan", BIG_ORDER)
    card1 = w.cards_to("mgr1")[0]
    codes = send_codes(w)
    w.fake.expire_code(codes["mgr2"])  # used elsewhere or past 72 h: WeCom refuses it

    await w.click("mgr1", button_key(card1, "通过"), task_id=card1["task_id"],
                  code=w.fake.issue_response_code("mgr1"))
    assert [u.json["userids"] for u in w.fake.accepted("message/update_template_card")] == [["mgr1"]]
    # mgr2 is told the outcome in a new message instead
    assert [t for t in w.texts_to("mgr2") if "：通过**" in t] == [
        "**审批 #1 ¥12,000：通过**\nmgr1 通过（11-27 10:00）"]
    assert set(await w.outbox_status()) == {"SENT"}  # nothing retried, nothing dead
    async with w.db.uow() as uow:
        copies = list((await uow.session.execute(select(SentCard).where(SentCard.chat_id == "mgr2"))).scalars())
    assert len(copies) == 1


async def test_reject_button_asks_for_the_reason_in_the_approvers_chat(world: World) -> None:
    w = world
    await make_managers(w, "mgr1", "mgr2")
    await w.say("zhangsan", BIG_ORDER)
    card1 = w.cards_to("mgr1")[0]
    await w.click("mgr1", button_key(card1, "驳回"), task_id=card1["task_id"],
                  code=w.fake.issue_response_code("mgr1"))
    assert w.texts_to("mgr1")[-1].startswith("请直接回复驳回 #1 的理由")
    [order] = await w.orders()
    assert order.state == "PENDING_APPROVAL"
    assert w.fake.calls_to("message/update_template_card") == []

    await w.say("mgr1", "价格太低，重新报价")
    [order] = await w.orders()
    assert order.state == "REJECTED"
    assert w.texts_to("mgr1")[-1] == "#1 已驳回：价格太低，重新报价，当前状态「已驳回」。"
    assert "被驳回（mgr1）：价格太低，重新报价" in w.texts_to("zhangsan")[-1]
    async with w.db.uow() as uow:
        step = (await uow.session.execute(select(Approval))).scalar_one()
        assert (step.status, step.comment) == ("REJECTED", "价格太低，重新报价")
    updates = w.fake.accepted("message/update_template_card")
    assert sorted(u.json["userids"][0] for u in updates) == ["mgr1", "mgr2"]
    assert all("理由：价格太低，重新报价" in u.json["template_card"]["sub_title_text"] for u in updates)


async def test_reject_by_text_command(world: World) -> None:
    w = world
    await make_managers(w, "mgr1")
    await w.say("zhangsan", BIG_ORDER)
    await w.say("mgr1", "/审批 #1 驳回 客户信用不足")
    [order] = await w.orders()
    assert order.state == "REJECTED"
    assert w.texts_to("mgr1")[-1] == "#1 已驳回：客户信用不足，当前状态「已驳回」。"
    [update] = w.fake.accepted("message/update_template_card")
    assert update.json["response_code"] == send_codes(w)["mgr1"]
    assert update.json["template_card"]["main_title"]["title"] == "审批 #1 ¥12,000：驳回"
