"""The dashboard's SQL reads agree with the plain Python definitions they replaced.

``receivables`` (aging by payment-terms cut-offs) is compared with a reference that loads every
open balance and asks ``payment_due`` order by order (the code the sales page ran before);
``shortage_board`` with ``purchasing.all_shortages`` (the chat's definition); the kanban's first
cards and a column's pages with a sort of all the column's orders in Python.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from schedules.terms import payment_due
from storage import lifecycle
from storage.db import Database, UnitOfWork
from storage.models import Customer, Order, OrderLine, Person, Product, Purchase, Shipment
from storage.services import dashboard, purchasing, receivables, shortage_board
from storage.services.dashboard import BUCKETS, BoardCard
from storage.vocab import PurchaseStatus, State
from tests.conftest import Bot
from web import dashboard_pages

D = Decimal
TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 12, 7)
NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
TERMS = ("款到发货", "货到付款", "月结30天", "月结", "30天", "发货后45天", "60天", "见合同", None)


async def _owner(uow: UnitOfWork) -> int:
    person = Person(platform="local", user_id="u1", name="张三")
    uow.session.add(person)
    await uow.session.flush()
    return person.id


async def _history(db: Database, seed: int = 3, n: int = 160) -> None:
    """Open, held, pending and finished orders with every kind of terms, part or fully shipped and paid."""
    rnd = random.Random(seed)
    async with db.uow() as uow:
        owner = await _owner(uow)
        customer = Customer(name="华为")
        uow.session.add(customer)
        await uow.session.flush()
        for no in range(1, n + 1):
            state = rnd.choice([State.CONFIRMED] * 5 + [State.ON_HOLD, State.PENDING_APPROVAL, State.COMPLETED])
            confirmed = NOW - timedelta(days=rnd.randint(0, 200), hours=rnd.randint(0, 23))
            qty = [D(rnd.randint(1, 5)) for _ in range(rnd.randint(0, 3))]
            shipped = [q if rnd.random() < 0.6 else D(0) for q in qty]
            amount = D(rnd.choice(["100.00", "0.30", "999.99", "250.10"]))
            paid = rnd.choice([D(0), amount, D("0.10"), (amount / 2).quantize(D("0.01"))])
            written = D("0.20") if amount == D("0.30") and paid == D("0.10") else D(0)  # 0.3 - 0.1 - 0.2
            order = Order(no=no, owner_id=owner, customer_id=customer.id, state=state.value,
                          payment_terms=rnd.choice(TERMS), amount=amount, paid_amount=paid, written_off=written,
                          due_date=TODAY + timedelta(days=rnd.randint(-90, 30)) if rnd.random() < 0.9 else None,
                          confirmed_at=None if rnd.random() < 0.05 else confirmed,
                          origin_platform="local", origin_chat_id="g1", created_at=confirmed, updated_at=confirmed,
                          lines=[OrderLine(line_no=i, sku="A", qty=q, unit_price=D(1), shipped_qty=s)
                                 for i, (q, s) in enumerate(zip(qty, shipped, strict=True), 1)])
            uow.session.add(order)
            await uow.session.flush()
            for seq in range(1, (2 if any(shipped) else 0) + 1):
                uow.session.add(Shipment(order_id=order.id, seq=seq, amount=D(1), shipped_by=owner,
                                         shipped_at=confirmed + timedelta(days=rnd.randint(0, 60) * seq)))


async def _reference(uow: UnitOfWork) -> tuple[dict[str, int], dict[str, Decimal], list[int], list[int]]:
    """The aging and both overdue lists as the sales page computed them before: every order in Python."""
    live = [o for o in (await uow.session.execute(select(Order).where(
        Order.state.in_((State.CONFIRMED, State.ON_HOLD))))).scalars() if lifecycle.balance(o) > 0]
    late = list((await uow.session.execute(select(Order).where(
        Order.state.in_((State.PENDING_APPROVAL, State.CONFIRMED)), Order.due_date < TODAY))).scalars())
    counts = {key: 0 for key, _, _ in BUCKETS}
    sums = {key: D("0.00") for key, _, _ in BUCKETS}
    paying = []
    for card in await dashboard._cards(uow, live, TODAY, TZ, payment_due):
        days = card.pay_late_days or 0
        key = next(k for k, first, last in BUCKETS if days >= first and (last is None or days <= last))
        counts[key] += 1
        sums[key] += lifecycle.balance(card.order)
        if card.pay_late_days:
            paying.append(card)
    paying.sort(key=lambda c: (-(c.pay_late_days or 0), c.order.no))
    delivering = [c for c in await dashboard._cards(uow, late, TODAY, TZ, payment_due) if c.late_days]
    delivering.sort(key=lambda c: (-(c.late_days or 0), c.order.no))
    return counts, sums, [c.order.no for c in paying], [c.order.no for c in delivering]


def _nos(cards: list[BoardCard]) -> list[int]:
    return [c.order.no for c in cards]


async def test_receivables_in_sql_match_the_order_by_order_reference(db: Database) -> None:
    await _history(db)
    async with db.reader() as uow:
        counts, sums, paying, delivering = await _reference(uow)
        got = await receivables.receivables(uow, TODAY, TZ, payment_due)
    assert sum(counts.values()) > 50 and all(counts.values()), counts  # every bucket has balances
    assert got.counts == counts and got.buckets == sums and got.count == sum(counts.values())
    assert got.total == sum(sums.values(), D("0.00"))
    assert _nos(got.payment_overdue) == paying and got.payment_overdue_total == len(paying)
    assert _nos(got.delivery_overdue) == delivering and got.delivery_overdue_total == len(delivering)
    assert all(c.pay_late_days for c in got.payment_overdue) and all(c.late_days for c in got.delivery_overdue)


async def test_receivables_lists_keep_the_most_overdue(db: Database, monkeypatch: object) -> None:
    await _history(db, seed=5)
    async with db.reader() as uow:
        _, _, paying, delivering = await _reference(uow)
        setattr(receivables, "LIST_LIMIT", 4)  # noqa: B010
        try:
            got = await receivables.receivables(uow, TODAY, TZ, payment_due)
        finally:
            setattr(receivables, "LIST_LIMIT", dashboard.LIST_LIMIT)  # noqa: B010
    assert _nos(got.payment_overdue) == paying[:4] and got.payment_overdue_total == len(paying)
    assert _nos(got.delivery_overdue) == delivering[:4] and got.delivery_overdue_total == len(delivering)


async def test_shortage_board_matches_the_purchasing_definition(db: Database) -> None:
    rnd = random.Random(9)
    async with db.uow() as uow:
        owner = await _owner(uow)
        products = [Product(sku=f"A{i}", name=f"产品{i}", unit="台", stock=D(rnd.choice([0, 3, "2.5", 40])),
                            track_stock=i != 4) for i in range(1, 7)]
        uow.session.add_all(products)
        await uow.session.flush()
        uow.session.add(Purchase(no=1, product_id=products[1].id, qty=D(5), received_qty=D(2), created_by=owner,
                                 status=PurchaseStatus.OPEN.value, created_at=NOW, arrivals=[]))
        for no in range(1, 60):
            lines = []
            for i, p in enumerate(rnd.sample(products, rnd.randint(1, 3)), 1):
                qty = D(rnd.choice([1, 2, "0.5", "1.25", 4]))
                lines.append(OrderLine(line_no=i, sku=p.sku, product_id=p.id, qty=qty, unit_price=D(1),
                                       shipped_qty=qty if rnd.random() < 0.2 else D(0)))
            uow.session.add(Order(
                no=no, owner_id=owner, state=rnd.choice([State.CONFIRMED, State.ON_HOLD, State.DRAFT]).value,
                amount=D(1), origin_platform="local", origin_chat_id="g1", created_at=NOW, updated_at=NOW,
                confirmed_at=NOW - timedelta(minutes=rnd.randint(0, 10_000)), lines=lines))
    async with db.reader() as uow:
        want = await purchasing.all_shortages(uow)
        got = await shortage_board.short_products(uow, shown=3)
    assert len(want) >= 3 and any(len(s.waiting) > 3 for s in want)
    assert [(g.sku, g.on_hand, g.reserved, g.on_order, g.short) for g in got] == \
        [(w.sku, w.on_hand, w.reserved, w.on_order, w.short) for w in want]
    assert [(g.waiting, g.waiting_total) for g in got] == [(w.waiting[:3], len(w.waiting)) for w in want]


async def test_kanban_cards_and_column_pages_follow_the_urgency_order(db: Database) -> None:
    rnd = random.Random(4)
    async with db.uow() as uow:
        owner = await _owner(uow)
        for no in range(1, 41):
            uow.session.add(Order(
                no=no, owner_id=owner, state=State.CONFIRMED.value, amount=D(1), origin_platform="local",
                origin_chat_id="g1", created_at=NOW, updated_at=NOW, confirmed_at=NOW,
                due_date=None if no % 5 == 0 else TODAY + timedelta(days=rnd.randint(-3, 3)),
                lines=[OrderLine(line_no=1, sku="A", qty=D(2), unit_price=D(1), shipped_qty=D(0))]))
    async with db.reader() as uow:
        orders = list((await uow.session.execute(select(Order))).scalars())
        want = [o.no for o in sorted(orders, key=lambda o: (o.due_date is None, o.due_date or date.max, o.no))]
        board = await dashboard.kanban(uow, TODAY, TZ, payment_due, limit=7)
        column = next(c for c in board.columns if c.key == "PREPARING")
        assert column.total == 40 and _nos(column.cards) == want[:7]
        pages = [await dashboard.column_page(uow, "PREPARING", page, 9, TODAY, TZ, payment_due) for page in range(1, 6)]
    assert [p.total for p in pages] == [40] * 5
    assert [n for p in pages for n in _nos(p.cards)] == want  # the undated ones last, across a page boundary


async def test_a_full_column_links_to_its_own_pages(team: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    for day in (20, 15, 18):
        await team.text("u1", f"/下单 华为 A100×10@300 交期12-{day}")  # #1..#3, all preparing
    monkeypatch.setattr(dashboard, "COLUMN_LIMIT", 2)
    monkeypatch.setattr(dashboard_pages, "COLUMN_PAGE", 2)
    ok = {"Authorization": "Bearer test-token"}
    html = await (await team.client.get("/board/", headers=ok)).text()
    column = html.split('id="col-PREPARING"', 1)[1].split("</section>", 1)[0]
    assert re.findall(r'data-no="(\d+)"', column) == ["2", "3"]  # the two most urgent
    assert 'href="columns/PREPARING"' in column and "还有 1 单" in column
    first = await team.client.get("/board/columns/PREPARING", headers=ok)
    body = await first.text()
    assert first.status == 200 and re.findall(r'<tr data-no="(\d+)"', body) == ["2", "3"]
    assert "第 1 / 2 页，共 3 单" in body and 'href="?page=2"' in body
    body = await (await team.client.get("/board/columns/PREPARING?page=2", headers=ok)).text()
    assert re.findall(r'<tr data-no="(\d+)"', body) == ["1"] and 'href="?page=1"' in body
    assert (await team.client.get("/board/columns/NOPE", headers=ok)).status == 404
    assert (await team.client.get("/board/columns/PREPARING")).status == 401


@pytest.mark.parametrize("limit", [2, 4, 5])
async def test_a_list_cut_inside_one_due_date_keeps_the_lowest_numbers(db: Database, limit: int) -> None:
    """月结: every shipment of one month falls due the same day, so the cut of a full list runs through one
    due date; the orders kept are the lowest numbers (as the list is sorted), not the earliest shipments."""
    async with db.uow() as uow:
        owner = await _owner(uow)
        customer = Customer(name="华为")
        uow.session.add(customer)
        await uow.session.flush()
        for no in range(1, 7):
            shipped = datetime(2026, 8, 20 - no, 4, tzinfo=UTC)  # #6 shipped first, #1 last: all due on one day
            order = Order(no=no, owner_id=owner, customer_id=customer.id, state=State.CONFIRMED.value,
                          payment_terms="月结30天", amount=D("100.00"), paid_amount=D(0), written_off=D(0),
                          due_date=None, confirmed_at=shipped - timedelta(days=1), origin_platform="local",
                          origin_chat_id="g1", created_at=shipped, updated_at=shipped,
                          lines=[OrderLine(line_no=1, sku="A", qty=D(1), unit_price=D(100), shipped_qty=D(1))])
            uow.session.add(order)
            await uow.session.flush()
            uow.session.add(Shipment(order_id=order.id, seq=1, amount=D(100), shipped_by=owner, shipped_at=shipped))
    async with db.reader() as uow:
        _, _, paying, _ = await _reference(uow)
        setattr(receivables, "LIST_LIMIT", limit)  # noqa: B010
        try:
            got = await receivables.receivables(uow, TODAY, TZ, payment_due)
        finally:
            setattr(receivables, "LIST_LIMIT", dashboard.LIST_LIMIT)  # noqa: B010
    assert paying == [1, 2, 3, 4, 5, 6]
    assert _nos(got.payment_overdue) == paying[:limit] and got.payment_overdue_total == 6


async def test_an_order_covered_exactly_by_the_stock_is_not_listed_as_waiting(db: Database) -> None:
    """The boundary of the running sum: stock 3 covers #1 (1) and #2 (2, running total exactly 3); only #3 waits."""
    async with db.uow() as uow:
        owner = await _owner(uow)
        product = Product(sku="X1", name="门", unit="樘", stock=D(3), track_stock=True)
        uow.session.add(product)
        await uow.session.flush()
        for no, qty in ((1, 1), (2, 2), (3, 1)):
            at = NOW - timedelta(hours=10 - no)
            uow.session.add(Order(no=no, owner_id=owner, state=State.CONFIRMED.value, amount=D(1),
                                  origin_platform="local", origin_chat_id="g1", created_at=at, updated_at=at,
                                  confirmed_at=at, lines=[OrderLine(line_no=1, sku="X1", product_id=product.id,
                                                                    qty=D(qty), unit_price=D(1), shipped_qty=D(0))]))
    async with db.reader() as uow:
        want = await purchasing.all_shortages(uow)
        got = await shortage_board.short_products(uow, shown=3)
    assert [(w.sku, w.short, w.waiting_total if hasattr(w, "waiting_total") else len(w.waiting)) for w in want] == \
        [("X1", D(1), 1)]
    assert [(g.sku, g.short, g.waiting, g.waiting_total) for g in got] == [("X1", D(1), want[0].waiting, 1)]
