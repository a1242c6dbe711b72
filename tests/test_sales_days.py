"""``sales_days`` never drifts from the orders, shipments and payments (migration 0013's triggers),
and the sales page's figures read from it equal the direct sums in any business zone.

Every kind of writer runs — the chat commands that create, approve, change, ship, collect, cancel,
reopen and close orders, a person leaving (their open orders move to a successor), the bulk import's
Core inserts and its undo (checked after every committed chunk), ORM and Core inserts, updates and
deletes (a database cascade included), a rolled-back transaction — and after each step the kept rows
must equal the sums computed in Python from the rows themselves, cent for cent.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy import text as sql

from storage.db import Database
from storage.models import Order, Payment, Person, SalesDay, Shipment
from storage.services import import_batch, sales_grid, staff
from storage.services.reports import COUNTED, day_bounds
from tests.conftest import Bot
from tests.import_golden import import_all

D = Decimal
Figures = dict[tuple[date, int], tuple[int, int, int, int]]


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


async def direct(db: Database) -> Figures:
    """(UTC day, owner) → (orders, sales, shipped, collected) summed in Python from the rows."""
    sums: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    async with db.reader() as uow:
        s = uow.session
        for owner, state, at, amount in await s.execute(
                select(Order.owner_id, Order.state, Order.confirmed_at, Order.amount)):
            if at is not None and state in COUNTED:
                row = sums[(at.astimezone(UTC).date(), owner)]
                row[0], row[1] = row[0] + 1, row[1] + _cents(amount)
        for owner, at, amount in await s.execute(select(Order.owner_id, Shipment.shipped_at, Shipment.amount)
                                                 .join(Order, Order.id == Shipment.order_id)):
            sums[(at.astimezone(UTC).date(), owner)][2] += _cents(amount)
        for owner, day, amount in await s.execute(select(Order.owner_id, Payment.paid_on, Payment.amount)
                                                  .join(Order, Order.id == Payment.order_id)):
            sums[(day, owner)][3] += _cents(amount)
    return {key: (a, b, c, d) for key, (a, b, c, d) in sums.items() if (a, b, c, d) != (0, 0, 0, 0)}


async def kept(db: Database) -> Figures:
    async with db.reader() as uow:
        rows = await uow.session.execute(select(SalesDay.day, SalesDay.owner_id, SalesDay.orders, SalesDay.sales,
                                                SalesDay.shipped, SalesDay.collected))
        return {(day, owner): (int(a), int(b), int(c), int(d)) for day, owner, a, b, c, d in rows
                if (a, b, c, d) != (0, 0, 0, 0)}


async def assert_no_drift(db: Database, step: str) -> Figures:
    """The kept rows equal the direct sums; the sums."""
    want, have = await direct(db), await kept(db)
    wrong = {k: (have.get(k), want.get(k)) for k in set(want) | set(have) if have.get(k) != want.get(k)}
    assert not wrong, f"after {step}: (day, owner) → (kept, direct) {wrong}"
    return want


async def test_chat_commands_keep_the_figures(team: Bot) -> None:
    bot = team
    steps = [
        ("u1", "/下单 华为 A100×20@600 B200×5@1200 交期12-15", None),
        ("m1", "/审批 #1 通过", "m1"),  # confirmed: counted
        ("u1", "/下单 中兴 A100×3", None),
        ("u1", "/补充 #2 A100×3@500 B200×2@100 交期12-20", None),
        ("u1", "/变更 #1 A100 数量 10", None),
        ("m1", "/审批 #1 通过", "m1"),  # the amount changed
        ("w1", "/入库 A100 100", "wh"),
        ("w1", "/入库 B200 10", "wh"),
        ("w1", "/发货 #1 A100 8 顺丰 SF1234567890", "wh"),  # a shipment
        ("f1", "/回款 #1 1000.55", "fin"),  # a payment
        ("w1", "/发货 #1", "wh"),
        ("f1", "/回款 #1 10000", "fin"),
        ("m1", "/作废 #2 重复下单", "g1"),
        ("admin", "/重开 #2 误作废", "admin"),
        ("u2", "/下单 华为 A100×1@100.10 交期12-30", None),
        ("m1", "/审批 #3 通过", "m1"),
        ("w1", "/发货 #3", "wh"),
        ("m1", "/关闭 #3 客户不要了", "g1"),  # closed: still counted
    ]
    for who, text, chat in steps:
        await (bot.text(who, text, chat=chat) if chat else bot.text(who, text))
        await assert_no_drift(bot.db, text)
    figures = await assert_no_drift(bot.db, "the walk")
    assert sum(f[0] for f in figures.values()) == 2 and all(sum(f[i] for f in figures.values()) > 0
                                                           for i in (1, 2, 3)), figures
    async with bot.db.uow() as uow:  # u1 leaves: #1 (part paid, shipped) moves to the successor
        await staff.person_left(uow, "local", "u1", datetime.now(UTC))
    await assert_no_drift(bot.db, "a person left")


async def test_import_and_its_undo_keep_the_figures(db: Database, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    chunks: list[int] = []

    async def check_then_fail(k: int) -> None:
        chunks.append(len(await assert_no_drift(db, f"chunk {k}")))
        if k == 2:
            raise OSError("disk full")

    monkeypatch.setattr(import_batch, "CHUNK_ORDERS", 10)
    monkeypatch.setattr(import_batch, "TARGET_S", None)
    monkeypatch.setattr(import_batch, "SQLITE_PAUSE_S", 0.0)
    monkeypatch.setattr(import_batch, "after_chunk", check_then_fail)
    with pytest.raises(OSError, match="disk full"):
        await import_all(db, tmp_path, trim=True)
    assert len(chunks) == 3 and chunks[-1] > 0, chunks  # the chunks' orders were counted ...
    assert await assert_no_drift(db, "undo") == {}  # ... and taken away again
    monkeypatch.setattr(import_batch, "after_chunk", None)
    (tmp_path / "again").mkdir()
    assert (await import_all(db, tmp_path / "again", trim=True))[-1][1] == 0
    figures = await assert_no_drift(db, "import")
    assert all(sum(f[i] for f in figures.values()) > 0 for i in range(4)), figures


async def test_orm_and_core_writes_keep_the_figures(db: Database) -> None:
    t0 = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
    async with db.uow() as uow:
        a, b = Person(platform="local", user_id="a", name="甲"), Person(platform="local", user_id="b", name="乙")
        uow.session.add_all([a, b])
        await uow.session.flush()
        orders = [Order(no=no, owner_id=a.id, state=state, confirmed_at=t0 + timedelta(hours=no), amount=D("0.1") * no,
                        origin_platform="local", origin_chat_id="g1")
                  for no, state in enumerate(("CONFIRMED", "COMPLETED", "DRAFT", "CANCELLED", "ON_HOLD", "CLOSED"), 1)]
        uow.session.add_all(orders)
        await uow.session.flush()
        ids, a_id, b_id = [o.id for o in orders], a.id, b.id
        uow.session.add_all([Shipment(order_id=ids[0], seq=1, amount=D("0.1"), shipped_by=a_id, shipped_at=t0),
                             Payment(order_id=ids[0], amount=D("0.2"), paid_on=date(2026, 12, 1), recorded_by=a_id)])
    await assert_no_drift(db, "ORM insert")

    async with db.uow() as uow:  # Core bulk inserts, several orders and days at once
        await uow.session.execute(insert(Order), [
            {"no": 10 + i, "owner_id": (a_id, b_id)[i % 2], "state": "COMPLETED", "amount": D("33.33"),
             "confirmed_at": t0 - timedelta(days=i), "origin_platform": "local", "origin_chat_id": "g1",
             "row_version": 1} for i in range(4)])
        await uow.session.execute(insert(Shipment), [
            {"order_id": ids[i % 3], "seq": 2 + i, "amount": D("0.3"), "shipped_by": a_id,
             "shipped_at": t0 + timedelta(hours=i)} for i in range(4)])
        await uow.session.execute(insert(Payment), [
            {"order_id": ids[i % 2], "amount": D("0.7"), "paid_on": date(2026, 11, 29 + i), "recorded_by": a_id}
            for i in range(2)])
    await assert_no_drift(db, "Core insert")

    async with db.uow() as uow:  # states, amounts, moments and owners change, by Core and by the ORM
        await uow.session.execute(update(Order).values(state="CANCELLED").where(Order.id == ids[0]))
        await uow.session.execute(update(Order).values(state="CONFIRMED").where(Order.id.in_(ids[2:4])))
        await uow.session.execute(update(Order).values(amount=Order.amount + D("0.01")).where(Order.id == ids[1]))
        await uow.session.execute(update(Order).values(confirmed_at=None).where(Order.id == ids[4]))
        order = (await uow.session.execute(select(Order).where(Order.id == ids[5]))).scalar_one()
        order.confirmed_at = t0 + timedelta(days=3)
        order.note = "moved"
        await uow.session.execute(update(Order).values(owner_id=b_id).where(Order.id.in_(ids[:2])))  # with shipments
        await uow.session.execute(update(Shipment).values(amount=D("1.23")).where(Shipment.seq == 2))
        await uow.session.execute(update(Shipment).values(shipped_at=t0 + timedelta(days=2)).where(Shipment.seq == 3))
        await uow.session.execute(update(Shipment).values(order_id=ids[5]).where(Shipment.seq == 4))
        await uow.session.execute(update(Payment).values(paid_on=date(2026, 10, 1), amount=D("0.05"))
                                  .where(Payment.paid_on == date(2026, 11, 29)))
        await uow.session.execute(update(Order).values(note="nothing that counts"))
    await assert_no_drift(db, "updates")

    async with db.uow() as uow:  # deletes: a shipment, payments, and orders with theirs (the database cascades)
        await uow.session.execute(delete(Shipment).where(Shipment.seq == 5))
        await uow.session.execute(delete(Payment).where(Payment.order_id == ids[1]))
        await uow.session.execute(delete(Order).where(Order.id == ids[0]))
        await uow.session.delete((await uow.session.execute(select(Order).where(Order.id == ids[5]))).scalar_one())
    figures = await assert_no_drift(db, "deletes")
    assert figures, "something is left to compare"

    try:  # a rolled-back change leaves the figures as they were
        async with db.uow() as uow:
            await uow.session.execute(update(Order).values(state="CANCELLED"))
            await uow.session.execute(delete(Payment))
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    assert await assert_no_drift(db, "rollback") == figures


ZONES = ("Asia/Shanghai", "UTC", "Asia/Kolkata", "America/New_York")


@pytest.mark.parametrize("zone", ZONES)
async def test_the_page_figures_equal_the_direct_sums_in_any_zone(db: Database, zone: str) -> None:
    """Orders and shipments at and around each month's local midnight, payments on the edge days: the
    months and persons of ``sales_grid`` equal the sums by local month (a UTC+8, UTC, a half-hour
    zone, a zone with summer time)."""
    tz = ZoneInfo(zone)
    start, end = date(2026, 1, 1), date(2026, 11, 30)
    months = sales_grid.months_of(start, end)
    async with db.uow() as uow:
        people = [Person(platform="local", user_id=f"p{i}", name=f"人{i}") for i in range(3)]
        uow.session.add_all(people)
        await uow.session.flush()
        n = 0
        for first in [*months, date(2025, 12, 1), date(2026, 12, 1)]:
            edge = datetime(first.year, first.month, first.day, tzinfo=tz)
            for shift in (-timedelta(seconds=1), timedelta(0), timedelta(hours=5), -timedelta(hours=9),
                          timedelta(days=12)):
                n += 1
                at = edge + shift
                order = Order(no=n, owner_id=people[n % 3].id, confirmed_at=at, amount=D(n) + D("0.07"),
                              state=("CONFIRMED", "CANCELLED", "COMPLETED", "CLOSED")[n % 4],
                              origin_platform="local", origin_chat_id="g1")
                uow.session.add(order)
                await uow.session.flush()
                uow.session.add_all([
                    Shipment(order_id=order.id, seq=1, amount=D("1.11") * n, shipped_by=people[0].id, shipped_at=at),
                    Payment(order_id=order.id, amount=D("2.02") * n, paid_on=(at + shift).astimezone(tz).date(),
                            recorded_by=people[0].id)])
    want_rows: dict[date, list[Any]] = {m: [0, D(0), D(0), D(0)] for m in months}
    want_people: dict[str, list[Any]] = {}
    lo, hi = day_bounds(start, end, tz)
    async with db.reader() as uow:
        names = dict((await uow.session.execute(select(Person.id, Person.name))).all())

        def add(owner: int, when: date, i: int, value: Decimal) -> None:
            month, person = want_rows[when.replace(day=1)], want_people.setdefault(
                names[owner], [0, D(0), D(0), D(0)])
            for row in (month, person):
                row[i] += value
                if i == 1:
                    row[0] += 1

        for owner, state, confirmed, amount in await uow.session.execute(
                select(Order.owner_id, Order.state, Order.confirmed_at, Order.amount)):
            if state in COUNTED and confirmed is not None and lo <= confirmed < hi:
                add(owner, confirmed.astimezone(tz).date(), 1, amount)
        for owner, moment, amount in await uow.session.execute(
                select(Order.owner_id, Shipment.shipped_at, Shipment.amount).join(Order)):
            if lo <= moment < hi:
                add(owner, moment.astimezone(tz).date(), 2, amount)
        for owner, day, amount in await uow.session.execute(
                select(Order.owner_id, Payment.paid_on, Payment.amount).join(Order)):
            if start <= day <= end:
                add(owner, day, 3, amount)
        rep, rows = await sales_grid.sales_grid(uow, start, end, tz)
    assert {r.month: [r.orders, r.sales, r.shipped, r.collected] for r in rows} == want_rows
    assert {p.name: [p.orders, p.sales, p.shipped, p.collected] for p in rep.by_person.values()} == want_people
    assert [rep.orders, rep.sales] == [sum(r[0] for r in want_rows.values()), sum(r[1] for r in want_rows.values())]
    assert all(r.orders and r.shipped and r.collected for r in rows), rows  # every month had something



# ---- concurrency and the triggers' presence ------------------------------------------------------------
def _migration() -> Any:
    import importlib.util

    path = Path(__file__).parent.parent / "storage" / "migrations" / "versions" / "0013_sales_days.py"
    spec = importlib.util.spec_from_file_location("m0013", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_every_trigger_exists_at_head(db: Database) -> None:
    # a later SQLite table rebuild that forgets drop_triggers()/create_triggers() loses them silently
    m = _migration()
    names = set(m._PG_TRIGGERS) if db.dialect == "postgresql" else set(m._sqlite_triggers())
    query = ("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid::regclass::text IN "
           "('orders', 'shipments', 'payments')" if db.dialect == "postgresql"
           else "SELECT name FROM sqlite_master WHERE type = 'trigger'")
    async with db.reader() as uow:
        found = {str(n) for n in (await uow.session.execute(sql(query))).scalars()}
    assert len(names) >= 9 and names <= found, names - found


async def _waiting_for_a_lock(db: Database) -> None:
    """Until another connection of this database waits for a row lock (deadline 30 s)."""
    for _ in range(3000):
        async with db.reader() as uow:
            waiting = (await uow.session.execute(sql(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"))).scalar_one()
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the second transaction never waited for the first")


@pytest.mark.parametrize("change", [
    "DELETE FROM payments WHERE order_id = :o",
    "UPDATE payments SET amount = 25 WHERE order_id = :o",
    "UPDATE shipments SET shipped_at = shipped_at + interval '1 day' WHERE order_id = :o",
])
@pytest.mark.parametrize("first", ["owner", "child"])
async def test_an_owner_change_racing_a_payment_or_shipment_change_keeps_the_figures(
        db: Database, change: str, first: str) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time: the two transactions cannot interleave")
    async with db.uow() as uow:
        a, b = Person(platform="l", user_id="a", name="A"), Person(platform="l", user_id="b", name="B")
        uow.session.add_all([a, b])
        await uow.session.flush()
        order = Order(no=1, owner_id=a.id, state="CONFIRMED", amount=Decimal(100), origin_platform="l",
                      origin_chat_id="g", confirmed_at=datetime(2026, 11, 1, 3, tzinfo=UTC))
        uow.session.add(order)
        await uow.session.flush()
        uow.session.add_all([
            Payment(order_id=order.id, amount=Decimal(10), paid_on=date(2026, 11, 2), recorded_by=a.id),
            Shipment(order_id=order.id, seq=1, amount=Decimal(30), shipped_by=a.id,
                     shipped_at=datetime(2026, 11, 3, tzinfo=UTC))])
        order_id, owner_b = order.id, b.id
    owner = sql("UPDATE orders SET owner_id = :b WHERE id = :o")
    async with db.engine.connect() as one, db.engine.connect() as two:
        await one.begin()
        await two.begin()
        if first == "owner":
            await one.execute(owner, {"b": owner_b, "o": order_id})
            blocked = asyncio.create_task(two.execute(sql(change), {"o": order_id}))
            await _waiting_for_a_lock(db)
            await one.commit()
            await blocked
            await two.commit()
        else:
            await two.execute(sql(change), {"o": order_id})
            blocked = asyncio.create_task(one.execute(owner, {"b": owner_b, "o": order_id}))
            await _waiting_for_a_lock(db)
            await two.commit()
            await blocked
            await one.commit()
    assert await kept(db) == await direct(db)
