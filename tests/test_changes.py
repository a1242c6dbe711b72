"""Change requests on confirmed orders: diff, approval rules, versions with full before/after."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import ChangeRequest, OrderVersion
from tests.conftest import Bot, fingerprint


async def test_small_change_applies_at_once_with_new_version(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    reply = await team.text("u1", "/变更 #1 交期 12-20")
    assert "变更已生效（v2）" in reply and "交期：2026-12-15 → 2026-12-20" in reply, reply
    order = await team.api("/orders/1")
    assert order["version"] == 2 and order["due_date"] == "2026-12-20"
    async with team.db.uow() as uow:
        version = (await uow.session.execute(select(OrderVersion))).scalar_one()
        cr = (await uow.session.execute(select(ChangeRequest))).scalar_one()
    assert version.version == 2 and version.snapshot["due_date"] == "2026-12-20"
    assert cr.before["due_date"] == "2026-12-15" and cr.after["due_date"] == "2026-12-20"
    assert cr.status == "APPLIED"


async def test_note_change_applies_at_once_even_above_t1(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×50@300 交期12-15")
    await team.text("m1", "/审批 #1 通过", chat="m1")
    reply = await team.text("u1", "/变更 #1 备注 周六送货")
    assert "已生效" in reply


async def test_change_over_threshold_needs_approval_then_applies(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")  # ¥3,000: auto
    before_v = (await team.api("/orders/1"))["version"]
    reply = await team.text("u1", "/变更 #1 A100 数量 50")
    assert "已提交审批" in reply and "A100 数量：10 → 50" in reply, reply
    assert (await team.api("/orders/1"))["amount"] == "3000.00"  # not yet
    card = [m for m in await team.sent("m1") if m["card"]][-1]["card"]
    assert card["title"] == "变更审批 #1 ¥15,000" and "10 → 50" in card["body"]
    assert "¥3,000 → ¥15,000" in card["body"]
    ok = next(b["action"] for b in card["buttons"] if b["label"] == "通过")
    await team.press("m1", ok)
    order = await team.api("/orders/1")
    assert order["amount"] == "15000.00" and order["version"] == before_v + 1
    assert order["lines"][0]["qty"] == "50"
    assert any("变更已生效" in m["text"] or "变更已通过" in m["text"] for m in await team.sent("g1"))


async def test_rejected_change_leaves_order_as_it_was(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    await team.text("u1", "/变更 #1 A100 数量 50")
    await team.text("m1", "/审批 #1 驳回 数量太多", chat="m1")
    order = await team.api("/orders/1")
    assert order["amount"] == "3000.00" and order["version"] == 1 and order["state"] == "CONFIRMED"
    async with team.db.uow() as uow:
        cr = (await uow.session.execute(select(ChangeRequest))).scalar_one()
    assert (cr.status, cr.reason) == ("REJECTED", "数量太多") and cr.decided_at is not None


async def test_quantity_never_below_shipped(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    await team.text("w1", "/发货 #1 A100 6", chat="wh")
    before = await fingerprint(team.db)
    reply = await team.text("u1", "/变更 #1 A100 数量 5")
    assert "已发 6" in reply and "不能更少" in reply
    assert await fingerprint(team.db) == before


async def test_amount_never_below_paid(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    await team.text("f1", "/回款 #1 2500", chat="fin")
    before = await fingerprint(team.db)
    reply = await team.text("u1", "/变更 #1 A100 单价 200")
    assert "已回款 ¥2,500" in reply
    assert await fingerprint(team.db) == before


async def test_one_pending_change_at_a_time(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    await team.text("u1", "/变更 #1 A100 数量 50")
    before = await fingerprint(team.db)
    assert "已有一个变更在审批中" in await team.text("u1", "/变更 #1 交期 12-30")
    assert await fingerprint(team.db) == before


async def test_price_below_floor_needs_manager_even_under_t1(team: Bot) -> None:
    from storage.models import Product

    async with team.db.uow() as uow:
        uow.session.add(Product(sku="A100", name="主机", unit="台", price=300, floor_price=250, stock=100))
    reply = await team.text("u1", "/下单 华为 A100×2@200 交期12-15")
    assert "已提交审批" in reply
    card = [m for m in await team.sent("m1") if m["card"]][-1]["card"]
    assert "低于底价" in card["body"]


async def test_customer_over_credit_needs_manager(team: Bot) -> None:
    from storage.models import Customer

    async with team.db.uow() as uow:
        uow.session.add(Customer(name="华为技术有限公司", credit_limit=1000))
    reply = await team.text("u1", "/下单 华为 A100×5@300 交期12-15")
    assert "已提交审批" in reply and "华为技术有限公司" in reply
    card = [m for m in await team.sent("m1") if m["card"]][-1]["card"]
    assert "超信用额度" in card["body"]


async def _pending_change(team: Bot, text: str) -> str:
    reply = await team.text("u1", text)
    assert "已提交审批" in reply, reply
    card = [m for m in await team.sent("m1") if m["card"]][-1]["card"]
    return next(b["action"] for b in card["buttons"] if b["label"] == "通过")


async def test_change_lapses_when_shipping_overtakes_it(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×100@300 交期12-15")
    await team.text("m1", "/审批 #1 通过", chat="m1")
    ok = await _pending_change(team, "/变更 #1 A100 数量 60")
    await team.text("w1", "/发货 #1 A100 80", chat="wh")
    reply = await team.press("m1", ok)
    assert "变更已失效" in reply and "已发数量" in reply, reply
    order = await team.api("/orders/1")
    assert order["lines"][0]["qty"] == "100" and order["version"] == 1
    assert [m for m in await team.sent("m1") if m["card"]][-1]["card"]["closed"] is True
    assert "已提交审批" in await team.text("u1", "/变更 #1 A100 数量 90")  # not stuck


async def test_change_lapses_when_payment_overtakes_it(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×100@300 交期12-15")  # ¥30,000
    await team.text("m1", "/审批 #1 通过", chat="m1")
    ok = await _pending_change(team, "/变更 #1 A100 单价 200")  # ¥20,000: needs 主管
    await team.text("f1", "/回款 #1 25000", chat="fin")
    assert "变更已失效" in await team.press("m1", ok)
    assert (await team.api("/orders/1"))["amount"] == "30000.00"


async def test_cancel_or_hold_withdraws_the_waiting_change(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×100@300 交期12-15")
    await team.text("m1", "/审批 #1 通过", chat="m1")
    ok = await _pending_change(team, "/变更 #1 A100 数量 120")
    assert "已作废" in await team.text("m1", "/作废 #1 客户取消", chat="m1")
    before = await fingerprint(team.db)
    assert "状态已变化" in await team.press("m1", ok)
    assert await fingerprint(team.db) == before
    await team.text("admin", "/重开 #1 客户又要了", chat="admin")
    order = await team.api("/orders/1")
    assert order["state"] == "DRAFT" and order["lines"][0]["qty"] == "100"
