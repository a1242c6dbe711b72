"""Quotations: /报价 with the order grammar, the 主管's card below floor, /报价 列表 and Q12, /作废 Q12,
/成交 into an order through the order's own rules, and expiry."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from storage.models import Customer, Order, Product, Quote
from tests.conftest import Bot, Clock, assert_unchanged, fingerprint


async def add_product(bot: Bot, sku: str = "A100", price: int = 300, floor: int | None = 250,
                      stock: int = 100) -> None:
    async with bot.db.uow() as uow:
        uow.session.add(Product(sku=sku, name="主机", unit="台", price=price,
                                floor_price=floor, stock=stock))


async def quote_row(bot: Bot, no: int) -> Quote:
    async with bot.db.reader() as uow:
        return (await uow.session.execute(select(Quote).where(Quote.no == no))).scalar_one()


async def order_row(bot: Bot, no: int) -> Order:
    async with bot.db.reader() as uow:
        return (await uow.session.execute(select(Order).where(Order.no == no))).scalar_one()


async def test_quote_with_the_order_grammar_and_default_validity(team: Bot) -> None:
    await add_product(team)
    reply = await team.text("u1", "/报价 华为 A100×20@300 B200×5@1200 备注 含税")
    assert reply.startswith("Q1 华为 ¥12,000｜有效期至 12-04｜有效"), reply  # today 11-27 + 7 days
    q = await quote_row(team, 1)
    assert q.status == "OPEN" and q.amount == Decimal("12000.00") and q.note == "含税"
    assert [(ln.sku, ln.qty, ln.unit_price) for ln in q.lines] == [
        ("A100", Decimal(20), Decimal(300)), ("B200", Decimal(5), Decimal(1200))]
    # quotes and orders are numbered apart: the first order is still #1
    assert "#1 " in await team.text("u1", "/下单 华为 A100×1@300 交期12-15")


async def test_validity_given_and_multiline(team: Bot) -> None:
    reply = await team.text("u1", "/报价 华为技术\nA100 20台 单价300\n有效期10天")
    assert "有效期至 12-07" in reply, reply
    assert (await quote_row(team, 1)).valid_until.isoformat() == "2026-12-07"


async def test_quote_validity_default_comes_from_the_setting(db_url: tuple[str, dict[str, object]],
                                                              clock: Clock) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import create_app
    from storage.db import Database
    from tests.conftest import make_settings

    url, kwargs = db_url
    app = create_app(make_settings(url, quote_valid_days=3, default_roles="sales"), clock=clock,
                     run_sender=False, db=Database(url, **kwargs))  # type: ignore[arg-type]
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        reply = await Bot(client, app).text("u9", "/报价 华为 A100×2@300")
        assert "有效期至 11-30" in reply, reply
    finally:
        await client.close()


@pytest.mark.parametrize(("text", "expected"), [
    ("/报价 华为", ["要写产品"]),
    ("/报价 A100×20@300", ["正确格式：/报价"]),
    ("/报价 #3 华为 A100×2@300", ["报价不写订单号"]),
    ("/报价 华为 A100×20@300 有效期0天", ["有效期写天数"]),
    ("/报价 华为 A100×20@300 有效期999天", ["有效期写天数"]),
    ("/报价 华为 A100×0@300", ["正确格式"]),
    ("/报价 华为 Z9×2", ["都要有单价", "Z9"]),
    ("/报价 Q99", ["没有找到报价 Q99"]),
    ("/成交 Q99", ["没有找到报价 Q99"]),
    ("/成交 #1", ["不是报价单号"]),
    ("/作废 Q99 不要了", ["没有找到报价 Q99"]),
])
async def test_refusals_change_nothing(team: Bot, text: str, expected: list[str]) -> None:
    await team.text("u1", "/报价 华为 A100×2@300")  # Q1 exists
    before = await fingerprint(team.db)
    reply = await team.text("u1", text)
    for part in expected:
        assert part in reply, reply
    await assert_unchanged(team.db, before, text)


async def test_only_sales_make_quotes(team: Bot) -> None:
    before = await fingerprint(team.db)
    assert "需要「销售」角色" in await team.text("w1", "/报价 华为 A100×2@300")
    await assert_unchanged(team.db, before)


async def test_credit_warning(team: Bot) -> None:
    async with team.db.uow() as uow:
        uow.session.add(Customer(name="华为技术有限公司", credit_limit=1000))
    reply = await team.text("u1", "/报价 华为 A100×5@300")
    assert "超信用额度" in reply and "有效" in reply, reply
    assert (await quote_row(team, 1)).warnings == ["over_credit"]


async def test_below_floor_waits_for_the_managers_card(team: Bot) -> None:
    await add_product(team)
    reply = await team.text("u1", "/报价 华为 A100×10@200")
    assert "低于底价" in reply and "主管审批" in reply, reply
    card = [m for m in await team.sent("m1") if m["card"]][-1]
    assert "报价审批 Q1" in card["card"]["title"] and "底价 ¥250" in card["card"]["body"]
    assert "/报价 Q1 通过" in card["card"]["body"]  # the text form, for platforms whose buttons only open a page
    # not sendable and not convertible before the decision
    before = await fingerprint(team.db)
    assert "还在等主管审批" in await team.text("u1", "/成交 Q1 交期12-15")
    await assert_unchanged(team.db, before)
    # the owner cannot approve (nor can someone without the role)
    assert "需要「主管」审批" in await team.press("w1", "qa:1:ok", chat="w1")
    button = card["card"]["buttons"][0]["action"]
    assert "已通过" in await team.press("m1", button)
    assert (await quote_row(team, 1)).status == "OPEN"
    closed = [m for m in await team.sent("m1") if m["card"]][-1]
    assert closed["card"]["closed"] and "通过" in closed["card"]["title"]
    assert any("Q1 报价审批通过" in m["text"] for m in await team.sent("u1"))
    # a second press is stale and changes nothing
    before = await fingerprint(team.db)
    assert "状态已变化" in await team.press("m1", button)
    await assert_unchanged(team.db, before)


async def test_below_floor_rejected_by_text(team: Bot) -> None:
    await add_product(team)
    await team.text("u1", "/报价 华为 A100×10@200")
    assert "理由" in await team.text("m1", "/报价 Q1 驳回")
    assert "已驳回" in await team.text("m1", "/报价 Q1 驳回 价格太低")
    assert (await quote_row(team, 1)).status == "REJECTED"
    assert "已是「已驳回」" in await team.text("u1", "/成交 Q1")


async def test_list_and_show(team: Bot) -> None:
    await team.text("u1", "/报价 华为 A100×2@300")
    await team.text("u2", "/报价 中兴 B200×1@100")
    mine = await team.text("u1", "/报价 列表")
    assert "Q1 华为" in mine and "Q2" not in mine
    everyone = await team.text("m1", "/报价 列表")
    assert "Q1 华为" in everyone and "Q2 中兴" in everyone
    card = await team.text("u2", "/报价 Q1")
    assert "Q1 华为 ¥600" in card and "A100 × 2 @ ¥300" in card and "负责人：张三" in card


async def test_withdraw(team: Bot) -> None:
    await team.text("u1", "/报价 华为 A100×2@300")
    before = await fingerprint(team.db)
    assert "只有报价人本人" in await team.text("u2", "/作废 Q1 不要了")
    await assert_unchanged(team.db, before)
    assert "Q1 已作废" in await team.text("u1", "/作废 Q1 客户不要了")
    q = await quote_row(team, 1)
    assert q.status == "WITHDRAWN" and q.reason == "客户不要了"
    assert "已是「已作废」" in await team.text("u1", "/成交 Q1")
    # /作废 #N still cancels orders
    await team.text("u1", "/下单 华为 A100×1@300")
    assert "已作废" in await team.text("u1", "/作废 #1 重复")


async def test_convert_keeps_lines_and_prices(team: Bot) -> None:
    await add_product(team)
    await team.text("u1", "/报价 华为 A100×20@300 交期12-15 备注 含税")
    reply = await team.text("u1", "/成交 Q1")
    assert "Q1 已成交" in reply and "#1 华为 金额 ¥6,000" in reply and "自动确认" in reply, reply
    order = await order_row(team, 1)
    assert order.state == "CONFIRMED" and order.note == "含税" and str(order.due_date) == "2026-12-15"
    assert [(ln.sku, ln.qty, ln.unit_price, ln.floor_price) for ln in order.lines] == [
        ("A100", Decimal(20), Decimal(300), Decimal(250))]
    q = await quote_row(team, 1)
    assert q.status == "WON" and q.order_id == order.id
    assert "已成交为订单 #1" in await team.text("u1", "/成交 Q1")
    assert "已成交：订单 #1" in await team.text("u1", "/报价 Q1")


async def test_convert_with_changes_goes_through_the_order_rules(team: Bot) -> None:
    await add_product(team)
    await team.text("u1", "/报价 华为 A100×20@300")
    # more quantity: ¥15,000 ≥ T1 → the order needs a 主管, like any order
    reply = await team.text("u1", "/成交 Q1 交期12-20 A100×50")
    assert "已提交审批" in reply, reply
    order = await order_row(team, 1)
    assert order.state == "PENDING_APPROVAL" and order.amount == Decimal("15000.00")
    assert str(order.due_date) == "2026-12-20"
    assert any(m["card"] and "订单审批 #1" in m["card"]["title"] for m in await team.sent("m1"))


async def test_convert_with_a_new_price_and_without_due_date_is_a_draft(team: Bot) -> None:
    await add_product(team)
    await team.text("u1", "/报价 华为 A100×2@300")
    reply = await team.text("u1", "/成交 Q1 A100 单价 280")
    assert "草稿" in reply and "交期" in reply, reply
    order = await order_row(team, 1)
    assert order.state == "DRAFT" and order.lines[0].unit_price == Decimal(280)


async def test_convert_refusals(team: Bot) -> None:
    await team.text("u1", "/报价 华为 A100×2@300")
    for user, text, part in (("u2", "/成交 Q1", "只有报价人本人"),
                             ("u1", "/成交 Q1 B200×3", "没有产品「B200」"),
                             ("w1", "/成交 Q1", "没有权限")):
        before = await fingerprint(team.db)
        assert part in await team.text(user, text)
        await assert_unchanged(team.db, before, text)


async def test_expired_quote_cannot_be_converted(team: Bot, clock: Clock) -> None:
    await team.text("u1", "/报价 华为 A100×2@300 有效期2天")  # valid through 11-29
    clock.advance(days=2)
    assert "有效" in await team.text("u1", "/报价 Q1")
    clock.advance(days=1)
    assert "已过期" in await team.text("u1", "/报价 Q1")
    before = await fingerprint(team.db)
    reply = await team.text("u1", "/成交 Q1 交期12-15")
    assert "已于 2026-11-29 过期" in reply and "重新 /报价" in reply, reply
    await assert_unchanged(team.db, before)


async def test_expiring_quote_reminds_its_owner_the_day_before(team: Bot, clock: Clock) -> None:
    from bot.app import SENDER, SETTINGS
    from schedules.jobs import Jobs

    await team.text("u1", "/报价 华为 A100×2@300 有效期5天")  # last valid day Wed 12-02
    await team.text("u1", "/报价 小米 A100×1@300 有效期5天")
    await team.text("u1", "/成交 Q2 交期12-15")  # converted: no reminder

    async def tick() -> list[str]:
        await Jobs(team.db, team.app[SETTINGS], clock).tick()
        await team.app[SENDER].flush()
        # reminders due together are merged into one message, one line each
        return [line.removeprefix("· ") for m in await team.sent("u1") for line in m["text"].splitlines()
                if "⏰ 报价" in line]

    clock.set(clock.now.replace(month=12, day=1, hour=0, minute=59))  # Tue 08:59 in Shanghai
    assert await tick() == []
    clock.advance(minutes=1)
    assert await tick() == ["⏰ 报价 Q1｜华为 ¥600 明天（12-02）到期，跟进客户或 /成交 Q1"]
    clock.advance(days=1)
    assert len(await tick()) == 1  # once per quote and last day


async def test_withdrawn_quote_reminder_is_dropped(team: Bot, clock: Clock) -> None:
    from bot.app import SENDER, SETTINGS
    from schedules.jobs import Jobs
    from storage.models import Reminder

    await team.text("u1", "/报价 华为 A100×2@300 有效期5天")
    clock.set(clock.now.replace(month=12, day=1, hour=1))  # Tue 09:00: planned…
    jobs = Jobs(team.db, team.app[SETTINGS], clock)
    assert await jobs.plan(clock.now) == 1
    await team.text("u1", "/作废 Q1 客户另选")  # …then withdrawn before delivery
    await jobs.deliver(clock.now)
    await team.app[SENDER].flush()
    assert not [m for m in await team.sent("u1") if "⏰ 报价" in m["text"]]
    async with team.db.reader() as uow:
        assert (await uow.session.execute(select(Reminder.status))).scalar_one() == "CANCELLED"


async def sheet_path(bot: Bot, user: str, no: int) -> str:
    """The path and query of the quotation sheet link sent 1:1 to ``user``."""
    from urllib.parse import urlsplit

    text = next(m["text"] for m in reversed(await bot.sent(user)) if m["text"].startswith(f"📄 Q{no}"))
    url = text.splitlines()[1]
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_sheet_link_goes_privately_to_the_owner_and_opens_page_and_workbook(team: Bot) -> None:
    import io

    from openpyxl import load_workbook

    reply = await team.text("u1", "/报价 华为 A100×20@300 B200×5@1200 有效期10天 备注 含税")
    assert "报价单链接已私聊发给你" in reply
    assert not [m for m in await team.sent("g1") if m["text"].startswith("📄")]  # never in the group
    path = await sheet_path(team, "u1", 1)
    resp = await team.client.get(path)
    html = await resp.text()
    assert resp.status == 200 and "报价单" in html and "华为" in html and "Q1" in html, html
    assert "1,200.00" in html and "12,000.00" in html and "2026-12-07" in html and "含税" in html
    resp = await team.client.get(path.replace("/quotes/1?", "/quotes/1.xlsx?"))
    assert resp.status == 200
    ws = load_workbook(io.BytesIO(await resp.read())).active
    rows = [[c.value for c in row if c.value not in (None, "")] for row in ws.iter_rows()]
    assert ["客户", "华为"] in rows and ["报价单号", "Q1"] in rows and ["合计（元）", "12,000.00"] in rows
    assert ["B200", 5, 1200, 6000] in rows, rows
    # the token opens exactly this quote
    await team.text("u1", "/报价 中兴 A100×1@300")
    resp = await team.client.get(path.replace("/quotes/1?", "/quotes/2?"))
    assert resp.status == 403
    resp = await team.client.get("/quotes/1")
    assert resp.status == 401
    # a withdrawn quote is no longer shown
    await team.text("u1", "/作废 Q1 客户不要了")
    resp = await team.client.get(path)
    assert resp.status == 410 and "已失效" in await resp.text()


async def test_below_floor_sheet_only_after_approval(team: Bot) -> None:
    await add_product(team)
    await team.text("u1", "/报价 华为 A100×10@200")
    assert not [m for m in await team.sent("u1") if m["text"].startswith("📄")]
    card = [m for m in await team.sent("m1") if m["card"]][-1]
    await team.press("m1", card["card"]["buttons"][0]["action"])
    resp = await team.client.get(await sheet_path(team, "u1", 1))
    assert resp.status == 200


async def test_report_shows_quoted_vs_won_and_win_rate(team: Bot) -> None:
    await team.text("u1", "/报价 华为 A100×10@300")  # ¥3,000, won below
    await team.text("u1", "/报价 小米 A100×10@100")  # ¥1,000, withdrawn
    await team.text("u1", "/报价 中兴 A100×10@200")  # ¥2,000, still open
    await team.text("u2", "/报价 联想 A100×5@100")  # ¥500
    await team.text("u1", "/成交 Q1 交期12-15")
    await team.text("u1", "/作废 Q2 客户另选")
    reply = await team.text("m1", "/报表 本月")
    assert "· 张三：报价 3 张 ¥6,000，成交 1 张 ¥3,000，成交率 33%" in reply, reply
    assert "· 李四：报价 1 张 ¥500，成交 0 张 ¥0，成交率 0%" in reply, reply
