"""The repositories' queries, each on both databases (the handler tests reach most of them only indirectly)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from storage.repos.orders import OrderSearch
from tests.conftest import Bot


async def _orders(team: Bot) -> None:
    """#1 u1 华为 due 12-15 (confirmed), #2 u2 小米 due 11-28 (confirmed), #3 u1 华为 pending."""
    assert "#1" in await team.text("u1", "/下单 华为 A100×2@300 交期12-15")
    assert "#2" in await team.text("u2", "/下单 小米 B200×1@100 交期11-28")
    assert "#3" in await team.text("u1", "/下单 华为 A100×50@300 交期12-16")


async def test_orders_by_number_id_and_search(team: Bot) -> None:
    await _orders(team)
    async with team.db.uow() as uow:
        one = await uow.orders.by_no(1)
        assert one is not None and one.no == 1
        assert await uow.orders.by_no(99) is None
        assert (await uow.orders.by_id(one.id)).no == 1
        u1 = await uow.people.by_ref("local", "u1")
        assert u1 is not None

        async def nos(search: OrderSearch, limit: int = 15) -> list[int]:
            return [o.no for o in await uow.orders.search(search, limit=limit)]

        assert await nos(OrderSearch()) == [3, 2, 1]
        assert await nos(OrderSearch(), limit=2) == [3, 2]
        assert await nos(OrderSearch(owner_id=u1.id)) == [3, 1]
        assert await nos(OrderSearch(state="PENDING_APPROVAL")) == [3]
        assert await nos(OrderSearch(overdue_on=date(2026, 11, 29))) == [2]  # due 11-28, nothing shipped
        assert await nos(OrderSearch(overdue_on=date(2026, 11, 28))) == []
        assert await nos(OrderSearch(due_from=date(2026, 12, 15), due_to=date(2026, 12, 15))) == [1]
        assert await nos(OrderSearch(customer_ids=[one.customer_id])) == [3, 1]
        assert await nos(OrderSearch(customer_ids=[])) == []


async def test_order_history_is_the_last_events_oldest_first(team: Bot) -> None:
    await _orders(team)
    await team.text("u1", "/跟进 #1 客户说下周要")
    async with team.db.uow() as uow:
        order = await uow.orders.by_no(1)
        assert order is not None
        history = await uow.orders.history(order, last=6)
        assert [e.action for e in history][-1] == "follow_up"
        assert [e.id for e in history] == sorted(e.id for e in history)
        assert len(await uow.orders.history(order, last=1)) == 1


async def test_pending_change_and_open_balance(team: Bot) -> None:
    await _orders(team)
    await team.text("f1", "/回款 #1 100")
    async with team.db.uow() as uow:
        order = await uow.orders.by_no(1)
        assert order is not None and not await uow.orders.has_pending_change(order)
        count, balance = await uow.orders.open_balance(order.customer_id)
        # #1 (600, 100 paid) and #3 (15,000, pending approval) are open
        assert (count, balance) == (2, Decimal("15500.00"))
    await team.text("u1", "/变更 #1 A100 数量 500")  # over T1: waits for a 主管
    async with team.db.reader() as uow:
        order = await uow.orders.by_no(1, lock=False)
        assert order is not None and await uow.orders.has_pending_change(order)


async def test_follow_up_reminder_and_ticket_rows(team: Bot) -> None:
    await _orders(team)
    async with team.db.uow() as uow:
        order = await uow.orders.by_no(1)
        u1 = await uow.people.by_ref("local", "u1")
        assert order is not None and u1 is not None
        when = order.created_at + timedelta(days=1)
        note = uow.orders.add_follow_up(order, u1.id, "打过电话", order.created_at)
        reminder = uow.activity.add_reminder(u1.id, when, "回访", order_id=order.id, created_by=u1.id,
                                             now=order.created_at)
        ticket = uow.activity.open_ticket(7, order, "坏了一台", u1.id, order.created_at)
    async with team.db.reader() as uow:
        found = await uow.activity.ticket_by_no(7)
        assert found is not None and found.id == ticket.id and found.order_id == order.id
        assert await uow.activity.ticket_by_no(8) is None
    assert note.id is not None and reminder.id is not None and reminder.kind == "custom"


async def test_people_by_reference_and_id(team: Bot) -> None:
    async with team.db.reader() as uow:
        u1 = await uow.people.by_ref("local", "u1")
        assert u1 is not None and u1.name == "张三"
        assert await uow.people.by_ref("wecom", "u1") is None
        assert await uow.people.by_ref("local", "nobody") is None
        assert (await uow.people.by_id(u1.id)).user_id == "u1"


async def test_catalogue_units_lists_and_new_product(team: Bot) -> None:
    async with team.db.uow() as uow:
        assert await uow.catalog.units() == []
        door = await uow.catalog.add_product("DOOR-1", "木门")
        assert door.id is not None and door.stock == 0 and door.track_stock
        door.unit = "樘"
        await uow.catalog.add_product("A100")
    await _orders(team)
    async with team.db.reader() as uow:
        assert await uow.catalog.units() == ["樘"]
        assert [p.sku for p in await uow.catalog.products()] == ["A100", "DOOR-1"]
        assert [p.sku for p in await uow.catalog.products(limit=1)] == ["A100"]
        assert sorted(c.name for c in await uow.catalog.customers()) == ["华为", "小米"]
        assert len(await uow.catalog.customers(limit=1)) == 1


async def test_quotes_purchases_and_what_was_sent(team: Bot) -> None:
    await team.text("admin", "/角色 local:c1 采购", chat="admin")
    await team.text("w1", "/入库 A100 1")
    assert "Q1" in await team.text("u1", "/报价 华为 A100×1@300")
    assert "Q2" in await team.text("u2", "/报价 小米 A100×1@300")
    assert "P1" in await team.text("c1", "/采购 A100 5")
    assert "P2" in await team.text("c1", "/采购 A100 3")
    await team.text("c1", "/到货 P1")  # P1 done: the open P2 lists first
    async with team.db.reader() as uow:
        assert [q.no for q in await uow.quotes.latest(15)] == [2, 1]
        assert [q.no for q in await uow.quotes.latest(1)] == [2]
        u1 = await uow.people.by_ref("local", "u1")
        assert u1 is not None
        mine = await uow.quotes.latest(15, owner_id=u1.id)
        assert [q.no for q in mine] == [1]
        assert await uow.quotes.no_of(mine[0].id) == 1
        assert await uow.quotes.no_of(10_000) is None
        assert [p.no for p in await uow.quotes.purchases(20)] == [2, 1]
        assert [p.no for p in await uow.quotes.purchases(1)] == [2]
        assert await uow.activity.card_chats("no-such-card") == []
        assert not await uow.activity.already_sent("no-such-key", "local", "u1")


async def test_the_card_read_in_core_shows_what_the_orm_order_shows(team: Bot) -> None:
    # /查单 reads its card as plain rows (storage/repos/order_card.py); every field it shows must be
    # what the ORM order and its history would show, for an order with a customer, lines shipped in
    # part, a payment, a note and a history, for one with no lines and for one with no customer
    from zoneinfo import ZoneInfo

    from handlers.texts import orders as ot

    await _orders(team)
    await team.text("u1", "/发货 #1 A100×1")
    await team.text("f1", "/回款 #1 100")
    await team.text("u1", "/跟进 #1 客户说下周要")
    await team.text("u1", "/下单 小米")  # a draft: no lines, no date
    await team.text("u1", "/下单 A100×1@10 交期12-20")  # no customer
    # three lines, one unpriced
    assert "#6" in await team.text("u1", "/下单 华为 A100×2@300 B200×3@100 C300×1 交期12-20")
    tz, today = ZoneInfo("Asia/Shanghai"), date(2026, 12, 1)
    async with team.db.uow() as uow:
        for no in (1, 2, 3, 4, 5, 6):
            order = await uow.orders.by_no(no, lock=False)
            assert order is not None, no
            await uow.session.refresh(order, ["lines", "customer", "owner"])
            found = await uow.orders.card(no, last=6)
            assert found is not None
            card, history = found
            orm_history = await uow.orders.history(order, last=6)
            assert ot.order_card(card, today, history, tz) == ot.order_card(order, today, orm_history, tz)
            assert [(ln.sku, ln.qty, ln.shipped_qty, ln.unit_price, ln.remaining) for ln in card.lines] == \
                [(ln.sku, ln.qty, ln.shipped_qty, ln.unit_price, ln.remaining) for ln in order.lines]
        assert await uow.orders.card(99, last=6) is None


async def test_a_new_order_is_inserted_once_and_then_changes_as_any_order(team: Bot) -> None:
    """``orders.create`` writes the order in its final state by Core and leaves it, its lines and relations in
    the session as if read back: a change in the same transaction is an ORM update under the optimistic lock,
    the owner (a copy made from the chat's provenance) is never written, nothing loads lazily."""
    from datetime import UTC, datetime

    from sqlalchemy import event, func, select

    from storage.models import Customer, Person
    from storage.services import orders as svc
    from storage.services.base import Provenance, Rules

    assert "#1" in await team.text("u1", "/下单 华为 A100×2@300 交期12-15")  # 华为 exists from here on
    async with team.db.uow() as uow:
        u1 = await uow.people.by_ref("local", "u1")
        assert u1 is not None
        people = (await uow.session.execute(select(func.count(Person.id)))).scalar_one()
        prov = Provenance(person_id=u1.id, platform="local", user_id="u1", name="张三", roles=frozenset({"sales"}))
        uow.session.expunge(u1)  # as in a command: the actor is not in the session, the copy is used
        customer = (await uow.session.execute(select(Customer).where(Customer.name == "华为"))).scalar_one()
        data = svc.OrderInput(customer=customer, due_date=date(2026, 12, 15), lines=(
            svc.LineInput("A100", Decimal(2), Decimal(300)), svc.LineInput("B200", Decimal(1), Decimal(150))))
        now = datetime(2026, 12, 1, 9, tzinfo=UTC)
        rules = Rules(Decimal(10**6), Decimal(10**7))
        order, _events = await svc.create(uow, prov, data, svc.Origin("local", "g1"), rules, now)
        assert order in uow.session and all(line in uow.session for line in order.lines)
        assert order.owner not in uow.session and order.owner.label == "张三"
        assert [line.id for line in order.lines] == sorted(line.id for line in order.lines)
        seen: list[str] = []
        event.listen(team.db.engine.sync_engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
        # every attribute is there: reading them all costs no statement
        assert (order.state, order.row_version, order.customer.name, [line.sku for line in order.lines]) == (
            "CONFIRMED", 1, "华为", ["A100", "B200"])
        assert all(getattr(order, key) is not None for key in ("no", "created_at", "submitted_at", "confirmed_at"))
        assert not seen, seen
        order.note = "加急"
        await uow.session.flush()
        assert any(s.startswith("UPDATE orders") and "row_version" in s for s in seen), seen
        assert order.row_version == 2
        assert (await uow.session.execute(select(func.count(Person.id)))).scalar_one() == people
    async with team.db.uow() as uow:
        stored = await uow.orders.by_no(order.no, lock=False)
        assert stored is not None
        assert (stored.state, stored.note, stored.row_version) == ("CONFIRMED", "加急", 2)
        assert stored.amount == Decimal("750.00")
        assert [(line.line_no, line.sku, line.qty) for line in stored.lines] == [(1, "A100", 2), (2, "B200", 1)]
        assert stored.owner.name == "张三"


async def test_insert_new_refuses_an_order_with_a_column_left_unset(team: Bot) -> None:
    """An unset column would be left to load lazily later (a statement) or be written as NULL: refused at once."""
    import pytest

    from storage.models import Order

    async with team.db.uow() as uow:
        with pytest.raises(ValueError, match="insert_new"):
            await uow.orders.insert_new(Order(no=999, owner_id=1, lines=[], customer=None))
