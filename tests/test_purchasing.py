"""Purchasing: reservations by confirmed orders, /库存 on hand / reserved / on order, merged shortage
notices to 采购 (on confirmation and on a shipment refused for stock), /采购, /到货 (partial), /采购 列表,
overdue purchases, and reservations under concurrent confirmations."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.app import SENDER, SETTINGS
from schedules.jobs import Jobs
from storage.models import Product, Purchase, Shipment
from tests.conftest import Bot, Clock, assert_unchanged, fingerprint


async def buyer(bot: Bot) -> None:
    await bot.say("c1", "/帮助", chat="c1", name="采购小林")
    assert "采购" in await bot.text("admin", "/角色 c1 采购", chat="admin")


async def notices(bot: Bot, user: str = "c1") -> list[str]:
    return [m["text"] for m in await bot.sent(user) if m["text"].startswith("📉")]


async def test_reservations_shortages_purchase_and_arrivals(team: Bot) -> None:
    await buyer(team)
    await team.text("w1", "/入库 A100 10", chat="wh")
    assert "自动确认" in await team.text("u1", "/下单 华为 A100×8@300 交期12-15")
    assert await notices(team) == []  # 8 of 10 reserved: nothing short
    await team.text("u2", "/下单 中兴 A100×7@300 交期12-15")
    assert await notices(team) == ["📉 缺货，需要采购：\nA100 缺 5（#2）\n"
                                   "采购：/采购 产品 数量 [供应商] [预计到货日期]"]
    await team.text("u1", "/下单 小米 A100×3@300 交期12-15")
    assert (await notices(team))[-1].splitlines()[1] == "A100 缺 8（#2 #3）"  # merged per product
    assert "A100：10｜预留 18｜在途 0｜可用 -8" in await team.text("w1", "/库存 A100", chat="wh")
    assert "缺货：A100 缺 5" in await team.text("u2", "/查单 #2")
    assert "缺货" not in await team.text("u1", "/查单 #1")

    reply = await team.text("c1", "/采购 A100 8 华强电子 12-01", chat="c1")
    assert reply.startswith("P1 采购 A100 8｜华强电子｜预计 12-01 到货"), reply
    assert "在途 8" in await team.text("w1", "/库存 A100", chat="wh")
    await team.text("u1", "/下单 华为 A100×1@300 交期12-15")
    assert (await notices(team))[-1].splitlines()[1] == "A100 缺 1（#4）"  # on order covers #2 and #3

    reply = await team.text("c1", "/到货 P1 5", chat="c1")
    assert "P1 A100 到货 5，现有库存 15，还差 3" in reply and "可以发货的订单：#2" in reply, reply
    assert any("#2 等的 A100 已到货" in m["text"] for m in await team.sent("u2"))
    assert not any("已到货" in m["text"] for m in await team.sent("u1"))
    reply = await team.text("w1", "/到货 P1", chat="wh")  # the warehouse may receive too; the rest
    assert "已全部到货" in reply and "#3" in reply, reply
    assert any("#3 等的 A100 已到货" in m["text"] for m in await team.sent("u1"))
    assert "P1 A100 8/8" in await team.text("c1", "/采购 列表", chat="c1")
    async with team.db.reader() as uow:
        p = (await uow.session.execute(select(Purchase))).scalar_one()
        assert p.status == "RECEIVED" and [a["qty"] for a in p.arrivals] == ["5", "3"]
    # shipping releases the reservation
    await team.text("w1", "/发货 #1")
    assert "A100：10｜预留 11｜在途 0｜可用 -1" in await team.text("w1", "/库存 A100", chat="wh")


async def test_a_partial_arrival_says_what_the_order_still_lacks(team: Bot) -> None:
    await buyer(team)
    await team.text("w1", "/入库 A100 10", chat="wh")
    assert "自动确认" in await team.text("u1", "/下单 华为 A100×15@100 交期12-15")  # 5 short
    await team.text("c1", "/采购 A100 5", chat="c1")
    reply = await team.text("c1", "/到货 P1 2", chat="c1")
    assert reply == "P1 A100 到货 2，现有库存 12，还差 3。\n到了一部分的订单：#1 还缺 3（已通知负责人）", reply
    told = [m["text"] for m in await team.sent("u1")]
    assert "📦 #1 等的 A100 到了一部分（库存 12），还缺 3：可以先发一部分，或等齐再发。" in told
    assert not any("可以安排发货" in t for t in told)  # nobody is told to ship what is not there
    reply = await team.text("c1", "/到货 P1", chat="c1")
    assert reply == "P1 A100 到货 3，现有库存 15，已全部到货。\n可以发货的订单：#1（已通知负责人）", reply
    assert "📦 #1 等的 A100 已到货（库存 15），可以安排发货了。" in [m["text"] for m in await team.sent("u1")]


async def test_purchase_refusals_change_nothing(team: Bot) -> None:
    await buyer(team)
    await team.text("w1", "/入库 A100 10", chat="wh")
    await team.text("c1", "/采购 A100 4", chat="c1")
    for user, text, part in (
        ("u1", "/采购 A100 5", "需要「采购」角色"),
        ("c1", "/采购 Z999 5", "产品库里没有「Z999」"),
        ("c1", "/采购 A100", "正确格式：/采购"),
        ("c1", "/采购 A100 0", "数量要大于 0"),
        ("c1", "/采购 #1 5", "正确格式：/采购"),
        ("c1", "/采购 A100 5 2020-01-01", "正确格式：/采购"),
        ("c1", "/到货 P9", "没有找到采购单 P9"),
        ("c1", "/到货 P1 5", "只差 4，不能到货 5"),
        ("c1", "/到货 #1", "正确格式：/到货"),
        ("u1", "/到货 P1", "没有权限"),
    ):
        before = await fingerprint(team.db)
        reply = await team.text(user, text, chat=user)
        assert part in reply, (text, reply)
        await assert_unchanged(team.db, before, text)


async def test_shipment_refused_for_stock_tells_purchasing_and_changes_nothing_else(team: Bot) -> None:
    await team.text("w1", "/入库 A100 5", chat="wh")
    await team.text("u1", "/下单 华为 A100×8@300 交期12-15")  # confirmed while nobody held 采购
    await buyer(team)
    before = await fingerprint(team.db)
    reply = await team.text("w1", "/发货 #1")
    assert "库存只有 5" in reply and "已通知采购" in reply, reply
    assert (await notices(team))[-1].splitlines()[1] == "A100 缺 3（#1）"
    diff = before.differences(await fingerprint(team.db))
    assert diff and all("outbox" in d or "local_messages" in d for d in diff), diff  # only the notice
    async with team.db.reader() as uow:
        assert (await uow.session.execute(select(func.count(Shipment.id)))).scalar_one() == 0
        assert (await uow.session.execute(select(Product.stock))).scalar_one() == 5
    # the same shortage again is not told twice
    before = await fingerprint(team.db)
    await team.text("w1", "/发货 #1")
    await assert_unchanged(team.db, before, "/发货 #1")
    assert len(await notices(team)) == 1


async def test_overdue_purchase_reminds_purchasing_and_waiting_owners(team: Bot, clock: Clock) -> None:
    await buyer(team)
    await team.text("w1", "/入库 A100 2", chat="wh")
    await team.text("u2", "/下单 中兴 A100×5@300 交期12-15")
    await team.text("c1", "/采购 A100 3 华强 11-30", chat="c1")  # Monday

    async def tick() -> None:
        await Jobs(team.db, team.app[SETTINGS], clock).tick()
        await team.app[SENDER].flush()

    def late(texts: list[dict[str, str]]) -> list[str]:
        return [m["text"] for m in texts if "逾期" in m["text"] and "P1" in m["text"]]

    clock.set(clock.now.replace(day=30, hour=8))  # Monday 16:00 in Shanghai: not overdue yet
    await tick()
    assert late(await team.sent("c1")) == []
    clock.advance(hours=17)  # Tuesday 09:00
    await tick()
    [line] = late(await team.sent("c1"))
    assert "采购 P1 A100 预计 11-30 到货，已逾期 1 天，等货订单 #1" in line, line
    assert late(await team.sent("u2"))
    clock.advance(days=1)
    await tick()
    assert len(late(await team.sent("c1"))) == 1  # once per expected date


async def test_concurrent_confirmations_reserve_correctly(team: Bot) -> None:
    """Two orders approved at the same moment: the second must see the first's reservation."""
    await buyer(team)
    await team.text("w1", "/入库 A100 10", chat="wh")
    for user in ("u1", "u2"):
        assert "已提交审批" in await team.text(user, "/下单 华为 A100×8@2000 交期12-15")  # ≥ T1
    cards = [m for m in await team.sent("m1") if m["card"]]
    presses = [next(b["action"] for b in c["card"]["buttons"] if b["label"] == "通过") for c in cards]
    replies = await asyncio.gather(*(team.press("m1", action) for action in presses))
    assert all("已通过" in r for r in replies), replies
    assert "A100：10｜预留 16" in await team.text("w1", "/库存 A100", chat="wh")
    told = await notices(team)
    assert len(told) == 1 and told[0].splitlines()[1] in ("A100 缺 6（#2）", "A100 缺 6（#1）"), told


async def test_a_change_that_reserves_more_tells_purchasing_and_closing_releases(team: Bot) -> None:
    await buyer(team)
    await team.text("w1", "/入库 A100 10", chat="wh")
    await team.text("u1", "/下单 华为 A100×5@300 交期12-15")
    assert "已生效" in await team.text("u1", "/变更 #1 A100 数量 20")  # ¥6,000: applied at once
    assert (await notices(team))[-1].splitlines()[1] == "A100 缺 10（#1）"
    await team.text("m1", "/关闭 #1 客户只要一半")  # closing releases the reservation
    assert "A100：10" in (stock := await team.text("w1", "/库存 A100", chat="wh")) and "预留" not in stock
    await team.text("admin", "/重开 #1 误关", chat="admin")
    assert "预留 20" in await team.text("w1", "/库存 A100", chat="wh")
    assert len(await notices(team)) == 1  # the very same shortage (#1 short 10) was told already
    await team.text("u1", "/变更 #1 A100 数量 25")
    assert (await notices(team))[-1].splitlines()[1] == "A100 缺 15（#1）"
