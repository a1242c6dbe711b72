"""Commands the flows leave out: /订单 lists and their filters, /跟进, /解绑, /退订, /售后 from opening to
resolution, /客户 cards, /帮助 for an order or a command, and the admin guards of /角色."""

from __future__ import annotations

import re

from sqlalchemy import select

from storage.models import AuditEvent, Chat, FollowUp, Ticket
from tests.conftest import Bot, Clock, assert_unchanged, fingerprint


def numbers(reply: str) -> list[int]:
    """The order numbers a list reply shows, in its order."""
    return [int(n) for n in re.findall(r"^#(\d+) ", reply, re.MULTILINE)]


async def test_order_lists_and_their_filters(team: Bot, clock: Clock) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")        # #1 u1, confirmed
    await team.text("u2", "/下单 小米 A100×100@300 交期12-20")       # #2 u2, pending (¥30,000)
    await team.text("u1", "/下单 小米 B200×1@300 交期11-28")         # #3 u1, confirmed, due this week
    await team.text("u2", "/下单 比亚迪 B200×1@300 交期2027-01-10")  # #4 u2, confirmed
    assert numbers(await team.text("u1", "/订单")) == [4, 3, 2, 1]  # newest first
    assert numbers(await team.text("u1", "/订单 全部")) == [4, 3, 2, 1]
    assert numbers(await team.text("u1", "/订单 我的")) == [3, 1]
    assert numbers(await team.text("u2", "/订单 我的")) == [4, 2]
    assert numbers(await team.text("u1", "/订单 待审批")) == [2]
    assert numbers(await team.text("u1", "/订单 本周")) == [3]  # Friday 11-27: the week runs to Sunday 11-29
    listed = await team.text("u1", "/订单 小米")
    assert numbers(listed) == [3, 2] and all(line.endswith("｜小米") for line in listed.splitlines())
    assert await team.text("u1", "/订单 逾期") == "没有符合条件的订单。"
    clock.advance(days=3)  # Monday 11-30: #3 is past its due date and not shipped
    overdue = await team.text("u1", "/订单 逾期")
    assert numbers(overdue) == [3] and "逾期" in overdue
    await team.text("w1", "/发货 #3", chat="wh")  # shipped in full: no longer overdue
    assert await team.text("u1", "/订单 逾期") == "没有符合条件的订单。"
    assert "#1 " in await team.text("u1", "/订单 #1") and "A100" in await team.text("u1", "/订单 #1")
    assert "正确格式" in await team.text("u1", "/订单 a\nb")


async def test_follow_up_is_recorded_and_refused_for_others(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    assert await team.text("u1", "/跟进 #1 客户说下周付款") == "#1 已记录跟进：客户说下周付款"
    async with team.db.uow() as uow:
        [row] = list((await uow.session.execute(select(FollowUp))).scalars())
    assert row.text == "客户说下周付款"
    before = await fingerprint(team.db)
    assert "跟进内容不能为空" in await team.text("u1", "/跟进 #1")
    refused = await team.text("u2", "/跟进 #1 我也想跟")
    assert "#1 你不能/跟进" in refused and "未做任何修改" in refused
    assert "正确格式" in await team.text("u1", "/跟进 没有单号")
    await assert_unchanged(team.db, before, "/跟进")


async def test_unbind_and_unsubscribe(team: Bot) -> None:
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcdefgh-1234-5678"
    assert "已绑定" in await team.text("admin", f"/绑定 {url}", chat="g2")
    async with team.db.uow() as uow:
        chat = (await uow.session.execute(select(Chat).where(Chat.chat_id == "g2"))).scalar_one()
        assert chat.webhook_url == url
    assert await team.text("admin", "/解绑", chat="g2") == "已解除本群的推送机器人。"
    async with team.db.uow() as uow:
        chat = (await uow.session.execute(select(Chat).where(Chat.chat_id == "g2"))).scalar_one()
        actions = list((await uow.session.execute(select(AuditEvent.action))).scalars())
    assert chat.webhook_url is None and chat.webhook_secret is None and "unbind" in actions
    assert "没有权限" in await team.text("u1", "/解绑", chat="g2")

    subscribed = await team.text("admin", "/订阅 回款 发货", chat="g2")
    assert subscribed.startswith("本群订阅的通知：") and "回款" in subscribed and "发货" in subscribed
    after = await team.text("admin", "/退订 回款", chat="g2")
    assert "回款" not in after and "发货" in after
    assert await team.text("admin", "/退订 发货", chat="g2") == "本群订阅的通知：无"


async def test_after_sales_from_opening_to_resolution(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    assert await team.text("u1", "/售后 #1 两台有异响") == "#1 已建售后工单 T1：两台有异响"
    before = await fingerprint(team.db)
    assert await team.text("u1", "/售后 T1 已解决") == "只有客服可以更新售后工单状态。\n（未做任何修改）"
    await assert_unchanged(team.db, before, "/售后 by sales")
    progress = await team.text("s1", "/售后 T1 处理中 已寄配件", chat="s1")
    assert progress.startswith("#1 售后 T1 → ") and progress.endswith("：已寄配件"), progress
    async with team.db.uow() as uow:
        ticket = (await uow.session.execute(select(Ticket))).scalar_one()
    assert (ticket.status, ticket.note, ticket.resolved_at) == ("IN_PROGRESS", "已寄配件", None)
    done = await team.text("s1", "/售后 T1 已解决", chat="s1")
    assert done.startswith("#1 售后 T1 → "), done
    async with team.db.uow() as uow:
        ticket = (await uow.session.execute(select(Ticket))).scalar_one()
    assert ticket.status == "RESOLVED" and ticket.resolved_at is not None
    assert any("T1" in m["text"] and m["text"] != done for m in await team.sent("g1")), "the order's chat hears of it"


async def test_customer_card_and_duplicate(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    card = await team.text("u1", "/客户 华为")
    assert "华为" in card and "3,000" in card, card
    assert await team.text("u1", "/客户 新增 华为") == "客户「华为」已存在。\n（未做任何修改）"
    assert "已新增客户「华为技术」" in await team.text("u1", "/客户 新增 华为技术 张工 13800138000 深圳")
    assert await team.text("w1", "/客户 新增 仓库客户") == "只有销售或管理员可以新增客户。\n（未做任何修改）"


async def test_help_for_an_order_and_for_a_command(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    ship_help = await team.text("w1", "/帮助 #1", chat="w1")
    assert "/发货 #1" in ship_help and "/回款" not in ship_help
    nothing = await team.text("s1", "/帮助 #1", chat="s1")
    assert "#1" in nothing and "/发货" not in nothing
    command = await team.text("u1", "/帮助 发货")
    assert "/发货" in command and "仓库" in command
    assert "没有「/不存在」" in await team.text("u1", "/帮助 不存在")


async def test_role_guards(team: Bot) -> None:
    await team.say("x1", "/帮助", chat="x1", name="王经理")  # a second 王经理
    before = await fingerprint(team.db)
    ambiguous = await team.text("admin", "/角色 王经理 仓库", chat="admin")
    assert "「王经理」对应多人" in ambiguous and "local:m1" in ambiguous and "local:x1" in ambiguous
    assert "不能取消最后一位管理员" in await team.text("admin", "/角色 admin 销售", chat="admin")
    await assert_unchanged(team.db, before, "/角色")
    assert "角色" in await team.text("admin", "/角色 local:newbie 仓库", chat="admin")  # named before speaking
