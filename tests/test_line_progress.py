"""``orders.line_progress`` never drifts from the lines (migration 0011's triggers).

The kanban, the stage filters and the late lists read the column instead of the lines
(``storage.stage_sql``). Here every kind of writer of ``order_lines`` runs — the chat commands that
create, fill, change and ship orders, the bulk import's Core inserts (and its undo), ORM and Core
updates and deletes, a rolled-back transaction — and after each step every order's column must equal
the code computed in Python from its lines.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from sqlalchemy import delete, insert, select, update

from storage import stage_sql
from storage.db import Database
from storage.models import Order, OrderLine, OrderStateCount, Person
from storage.services.dashboard import FINISHED_STATES
from tests.conftest import Bot
from tests.test_import_export import ORDERS, do_import, setup_catalog, xlsx

D = Decimal


def expected(lines: list[tuple[Decimal, Decimal]]) -> int | None:
    """The code of ``stage_sql.progress`` from (qty, shipped_qty) pairs, as Python sees them."""
    if not lines:
        return None
    return 1 + (4 if any(s < q for q, s in lines) else 0) + (2 if any(s > 0 for _, s in lines) else 0)


async def assert_no_drift(db: Database, step: str) -> set[int | None]:
    """Every order's ``line_progress`` equals :func:`expected` of its lines; the codes seen."""
    async with db.reader() as uow:
        kept = dict((await uow.session.execute(select(Order.id, stage_sql.LINE_PROGRESS))).all())
        lines: dict[int, list[tuple[Decimal, Decimal]]] = {oid: [] for oid in kept}
        for oid, qty, shipped in await uow.session.execute(
                select(OrderLine.order_id, OrderLine.qty, OrderLine.shipped_qty)):
            lines[oid].append((qty, shipped))
    wrong = {oid: (kept[oid], expected(ls)) for oid, ls in lines.items() if kept[oid] != expected(ls)}
    assert not wrong, f"after {step}: order id → (column, from the lines) {wrong}"
    await assert_counts(db, step)
    return set(kept.values())


async def assert_counts(db: Database, step: str) -> None:
    """``order_state_counts`` holds the number of orders in each finished state."""
    async with db.reader() as uow:
        kept = dict((await uow.session.execute(select(OrderStateCount.state, OrderStateCount.n))).all())
        states = list((await uow.session.execute(select(Order.state))).scalars())
    assert kept == {s.value: states.count(s.value) for s in FINISHED_STATES}, f"after {step}: {kept}"


async def test_chat_commands_keep_the_column(team: Bot) -> None:
    bot = team
    steps = [
        ("u1", "/下单 华为 A100×20@600 B200×5@1200 交期12-15", None),  # created, submitted
        ("m1", "/审批 #1 通过", "m1"),
        ("u1", "/下单 中兴 A100×3", None),  # a draft without a price
        ("u1", "/补充 #2 A100×3@500 B200×2@100 交期12-20", None),  # filled: a line added, a price set
        ("u1", "/变更 #1 A100 数量 10", None),  # change request: quantities
        ("m1", "/审批 #1 通过", "m1"),
        ("p1", "/生产 #1", "prod"),
        ("p1", "/完工 #1", "prod"),
        ("w1", "/入库 A100 100", "wh"),
        ("w1", "/入库 B200 10", "wh"),
        ("w1", "/发货 #1 A100 8 顺丰 SF1234567890", "wh"),  # part shipped
        ("u1", "/变更 #1 A100 数量 8", None),  # down to what was shipped
        ("m1", "/审批 #1 通过", "m1"),
        ("w1", "/发货 #1", "wh"),  # the rest
        ("f1", "/回款 #1 10800", "fin"),  # completed
        ("m1", "/作废 #2 重复下单", "g1"),  # cancelled
        ("admin", "/重开 #2 误作废", "admin"),  # back to a draft
        ("u1", "/下单 华为 A100×1@100 交期12-30", None),
        ("m1", "/关闭 #3 客户不要了", "g1"),  # closed
    ]
    seen: set[int | None] = set()
    for who, text, chat in steps:
        await (bot.text(who, text, chat=chat) if chat else bot.text(who, text))
        seen |= await assert_no_drift(bot.db, text)
    # the walk went through the codes the stage needs: unshipped, part shipped, all shipped
    assert {stage_sql.NOTHING_SHIPPED, stage_sql.PART_SHIPPED, 3} <= seen, seen
    order = await bot.api("/orders/1")  # the commands did what they say
    assert [ln["qty"] for ln in order["lines"]] == ["8", "5"], order
    assert [ln["sku"] for ln in (await bot.api("/orders/2"))["lines"]] == ["A100", "B200"]
    states = [(await bot.api(f"/orders/{no}"))["state"] for no in (1, 2, 3)]
    assert states == ["COMPLETED", "DRAFT", "CLOSED"], states


async def test_import_keeps_the_column(db: Database, tmp_path: Path) -> None:
    await setup_catalog(db, tmp_path)
    text, status = await do_import(db, "orders", xlsx(tmp_path / "o.xlsx", ORDERS))
    assert status == 0, text
    codes = await assert_no_drift(db, "import")
    assert {3, stage_sql.PART_SHIPPED} <= codes, codes  # imported shipped quantities count


async def test_orm_and_core_writes_keep_the_column(db: Database) -> None:
    seen: set[int | None] = set()
    async with db.uow() as uow:
        owner = Person(platform="local", user_id="u1", name="张三")
        uow.session.add(owner)
        await uow.session.flush()
        orders = [Order(no=no, owner_id=owner.id, state="CONFIRMED", origin_platform="local", origin_chat_id="g1",
                        lines=[OrderLine(line_no=i, sku=f"S{i}", qty=D(no), shipped_qty=D(0)) for i in range(no % 3)])
                  for no in range(1, 7)]
        uow.session.add_all(orders)
        await uow.session.flush()
        ids, owner_id = [o.id for o in orders], owner.id
    seen |= await assert_no_drift(db, "ORM insert")

    async with db.uow() as uow:  # Core bulk insert (as the import), of several orders at once
        await uow.session.execute(insert(OrderLine), [
            {"order_id": ids[0], "line_no": 1, "sku": "X", "qty": D("0.3"), "shipped_qty": D("0.1")},
            {"order_id": ids[0], "line_no": 2, "sku": "Y", "qty": D(0), "shipped_qty": D(0)},
            {"order_id": ids[3], "line_no": 9, "sku": "Z", "qty": D(2), "shipped_qty": D(2)},
            {"order_id": ids[5], "line_no": 1, "sku": "N", "qty": D(0), "shipped_qty": D(0)}])
    seen |= await assert_no_drift(db, "Core insert")

    async with db.uow() as uow:  # ORM update of one line (and of the order: optimistic lock intact)
        order = (await uow.session.execute(select(Order).where(Order.id == ids[4]))).scalar_one()
        order.lines[0].shipped_qty = order.lines[0].qty
        order.note = "shipped one"
    seen |= await assert_no_drift(db, "ORM update")

    async with db.uow() as uow:  # Core update across orders, then a line moved to another order
        await uow.session.execute(update(OrderLine).values(shipped_qty=OrderLine.qty).where(OrderLine.sku == "S1"))
        line = (await uow.session.execute(select(OrderLine.id).where(OrderLine.order_id == ids[3])
                                          .order_by(OrderLine.id).limit(1))).scalar_one()
        await uow.session.execute(update(OrderLine).values(order_id=ids[2]).where(OrderLine.id == line))
    seen |= await assert_no_drift(db, "Core update")

    async with db.uow() as uow:  # orders finish and come back, by Core and by the ORM; finished orders inserted
        await uow.session.execute(update(Order).values(state="COMPLETED").where(Order.id.in_(ids[:3])))
        await uow.session.execute(update(Order).values(state="CONFIRMED").where(Order.id == ids[0]))
        await uow.session.execute(update(Order).values(state="COMPLETED").where(Order.id == ids[2]))  # unchanged
        order = (await uow.session.execute(select(Order).where(Order.id == ids[3]))).scalar_one()
        order.state = "CANCELLED"
        uow.session.add(Order(no=7, owner_id=owner_id, state="CLOSED", origin_platform="local", origin_chat_id="g1"))
        await uow.session.execute(insert(Order), [
            {"no": no, "owner_id": owner_id, "state": state, "origin_platform": "local", "origin_chat_id": "g1",
             "row_version": 1} for no, state in ((8, "COMPLETED"), (9, "DRAFT"), (10, "CLOSED"))])
    seen |= await assert_no_drift(db, "finishing")

    async with db.uow() as uow:  # ORM delete-orphan, Core delete, deleting an order with its lines
        order = (await uow.session.execute(select(Order).where(Order.id == ids[4]))).scalar_one()
        order.lines.pop()
        await uow.session.flush()
        await uow.session.execute(delete(OrderLine).where(OrderLine.order_id == ids[0], OrderLine.sku == "X"))
        await uow.session.delete((await uow.session.execute(select(Order).where(Order.id == ids[1]))).scalar_one())
    seen |= await assert_no_drift(db, "deletes")

    try:  # a rolled-back change leaves the column as it was
        async with db.uow() as uow:
            await uow.session.execute(update(OrderLine).values(shipped_qty=0))
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    seen |= await assert_no_drift(db, "rollback")
    assert seen == {None, 1, 3, 5, 7}, seen  # every code was written and checked


async def test_two_transactions_on_one_order_leave_no_stale_figure(db: Database) -> None:
    """Two writers ship different lines of one order at once: the second reads the first's line.

    On PostgreSQL the second transaction's trigger waits for the order's row lock and then computes
    from a fresh snapshot (without the lock first, it would compute from its own stale one: 7, not 3)."""
    async with db.uow() as uow:
        owner = Person(platform="local", user_id="u1", name="张三")
        uow.session.add(owner)
        await uow.session.flush()
        uow.session.add(Order(no=1, owner_id=owner.id, state="CONFIRMED", origin_platform="local",
                              origin_chat_id="g1", lines=[OrderLine(line_no=i, sku=s, qty=D(5), shipped_qty=D(0))
                                                          for i, s in enumerate("AB", 1)]))
    first_wrote = asyncio.Event()

    async def ship(sku: str, wait: bool) -> None:
        async with db.uow() as uow:
            await uow.session.execute(update(OrderLine).values(shipped_qty=OrderLine.qty).where(OrderLine.sku == sku))
            if wait:
                first_wrote.set()
                await asyncio.sleep(0.5)  # the second writer is now waiting for this one

    first = asyncio.create_task(ship("A", wait=True))
    await first_wrote.wait()
    await asyncio.gather(first, ship("B", wait=False))
    assert await assert_no_drift(db, "two writers") == {3}
