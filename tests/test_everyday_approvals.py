"""Issue 14, items 7 and 8: approvals say why and who at submission; vacant roles; unpaid prepayment shipping."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from storage.models import Product
from tests.conftest import Bot, Clock, assert_unchanged, fingerprint

TZ = ZoneInfo("Asia/Shanghai")
BIG = "/下单 华为 A100×400@300 交期12-15"  # ¥120,000 ≥ T2: 主管 then 老板
VACANT_BOSS = ("⚠️ 目前没有人担任「老板」，#1 的老板审批没人处理。请管理员发送 /角色 用户 +老板 指定；"
               "指定之前管理员可以代为审批（/审批 #1 通过，记录为管理员代审）。")


@pytest.fixture
async def shop(team: Bot, clock: Clock) -> Bot:
    clock.set(datetime(2026, 12, 5, 10, 0, tzinfo=TZ))
    async with team.db.uow() as uow:
        uow.session.add(Product(sku="A100", name="", unit="台", price=Decimal(300), floor_price=Decimal(280),
                                stock=Decimal(1000), track_stock=True))
    return team


@pytest.fixture
async def no_boss(shop: Bot) -> Bot:
    assert "销售" in await shop.text("admin", "/角色 b1 销售", chat="admin")  # 赵总 is no longer 老板
    return shop


async def test_vacant_role_said_at_submission_and_admins_told(no_boss: Bot) -> None:
    reply = await no_boss.text("u1", BIG)
    assert reply == ("#1 华为 金额 ¥120,000\n· A100 ×400台 @¥300 = ¥120,000\n交期 12-15\n"
                     "已提交审批：主管（金额≥T1） → 老板（金额≥T2），等待主管处理。\n" + VACANT_BOSS + "\n"
                     "新客户「华为」已建档。")
    told = [m["text"] for m in await no_boss.sent("admin") if m["text"].startswith("#1")]
    assert told == ["#1 华为 ¥120,000 已提交审批。\n" + VACANT_BOSS]
    # the 主管 approves: the step with nobody goes to the admins as a card, and the 主管 hears why it waits
    reply = await no_boss.text("m1", "/审批 #1 通过", chat="m1")
    assert reply == "#1 已通过，等待老板审批。\n" + VACANT_BOSS
    assert [m for m in await no_boss.sent("admin") if m["card"]], "the admin gets the 老板 step's card"
    # /帮助 #1 offers the admin the decision (and not while someone holds the role: see below)
    assert "/审批 #1 通过" in await no_boss.text("admin", "/帮助 #1", chat="admin")
    # the admin stands in; the history says so
    reply = await no_boss.text("admin", "/审批 #1 通过", chat="admin")
    assert reply == "#1 已通过（管理员代老板审批，已记入记录），当前状态「已确认」。"
    card = await no_boss.text("u1", "/查单 #1")
    assert card.splitlines()[0].startswith("#1 已确认"), card
    assert card.splitlines()[-1].endswith("管理员 管理员代老板审批通过"), card


async def test_admin_stands_in_by_card_and_may_reject(no_boss: Bot) -> None:
    await no_boss.text("u1", BIG)
    await no_boss.text("m1", "/审批 #1 通过", chat="m1")
    reply = await no_boss.text("admin", "/审批 #1 驳回 价格太低", chat="admin")
    assert reply == "#1 已驳回：价格太低（管理员代老板审批，已记入记录），当前状态「已驳回」。"
    assert (await no_boss.text("u1", "/查单 #1")).splitlines()[-1].endswith("管理员代老板审批驳回：价格太低")


async def test_admin_does_not_stand_in_for_a_role_someone_holds(shop: Bot) -> None:
    await shop.text("u1", BIG)
    before = await fingerprint(shop.db)
    assert await shop.text("admin", "/审批 #1 通过", chat="admin") == (
        "#1 这一步需要「主管」审批，你没有该角色。目前由 王经理 担任主管，请由他们审批。\n（未做任何修改）")
    await assert_unchanged(shop.db, before, "/审批 #1 通过")
    await shop.text("m1", "/审批 #1 通过", chat="m1")
    assert "/审批" not in await shop.text("admin", "/帮助 #1", chat="admin")
    before = await fingerprint(shop.db)
    assert await shop.text("admin", "/审批 #1 通过", chat="admin") == (
        "#1 这一步需要「老板」审批，你没有该角色。目前由 赵总 担任老板，请由他们审批。\n（未做任何修改）")
    await assert_unchanged(shop.db, before, "/审批 #1 通过")


async def test_refusals_say_how_to_get_the_role(shop: Bot) -> None:
    await shop.text("u1", BIG)
    before = await fingerprint(shop.db)
    assert await shop.text("u2", "/审批 #1 通过") == (
        "你没有权限使用 /审批：需要角色 管理员、老板、主管，你的角色是 销售。\n"
        "如需开通请管理员发送：/角色 local:u2 +主管")
    await assert_unchanged(shop.db, before, "/审批 #1 通过")
    # a manager on the 老板 step
    before = await fingerprint(shop.db)
    await shop.text("m1", "/审批 #1 通过", chat="m1")
    mid = await fingerprint(shop.db)
    assert mid != before
    assert await shop.text("m1", "/审批 #1 通过", chat="m1") == (
        "#1 这一步需要「老板」审批，你没有该角色。如需由你审批，请管理员发送：/角色 用户 +老板\n（未做任何修改）")
    await assert_unchanged(shop.db, mid, "/审批 #1 通过")


async def test_below_floor_says_why(shop: Bot) -> None:
    reply = await shop.text("u1", "/下单 华为 A100×10@250 交期12-15")
    assert reply == ("#1 华为 金额 ¥2,500\n· A100 ×10台 @¥250 = ¥2,500\n交期 12-15\n"
                     "已提交审批：主管（A100 ¥250 低于底价 ¥280），等待主管处理。\n新客户「华为」已建档。")


async def test_shipping_prepayment_with_nothing_paid_warns_warehouse_and_owner(shop: Bot) -> None:
    assert "已自动确认" in await shop.text("u1", "/下单 华为 A100×10@300 交期12-15")
    reply = await shop.text("w1", "/发货 #1 A100 4 顺丰 SF1")
    assert reply == ("#1 第1批已发货 ¥1,200（顺丰 SF1）\n#1 已确认·部分发货 | 已发 40% · 已收 0% · 交期 12-15\n"
                     "⚠️ #1 付款方式是「款到发货」，但还没有任何回款：请确认已收款或已获准先发货。")
    owner = [m["text"] for m in await shop.sent("u1")]
    assert "⚠️ #1 付款方式是「款到发货」，但还没有任何回款：请确认已收款或已获准先发货。" in owner
    # once something is paid, or on other terms, shipping says nothing more
    await shop.text("f1", "/回款 #1 1000")
    assert "⚠️" not in await shop.text("w1", "/发货 #1 A100 2")
    assert "已自动确认" in await shop.text("u1", "/下单 小米 A100×10@300 交期12-15 货到付款")
    assert "⚠️" not in await shop.text("w1", "/发货 #2")
