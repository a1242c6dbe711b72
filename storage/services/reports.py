"""Report and statement queries (sales, shipped, collected, overdue; customer statements)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from sqlalchemy import func, select

from storage.db import UnitOfWork
from storage.models import Order, OrderLine, Payment, Person, Shipment
from storage.services.base import money
from storage.vocab import State

ZERO = Decimal("0.00")
COUNTED = (State.CONFIRMED, State.ON_HOLD, State.COMPLETED, State.CLOSED)


def day_bounds(start: date, end: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in the business zone."""
    return datetime.combine(start, time(), tz), datetime.combine(end + timedelta(days=1), time(), tz)


@dataclass
class PersonTotals:
    """One salesperson's figures."""

    name: str
    sales: Decimal = ZERO
    orders: int = 0
    shipped: Decimal = ZERO
    collected: Decimal = ZERO


@dataclass
class SalesReport:
    """Totals of a period, and by person."""

    sales: Decimal = ZERO
    orders: int = 0
    shipped: Decimal = ZERO
    collected: Decimal = ZERO
    overdue: int = 0
    by_person: dict[int, PersonTotals] = field(default_factory=dict)


async def sales_report(uow: UnitOfWork, start: date, end: date, today: date, tz: tzinfo) -> SalesReport:
    """Sales (confirmed in period), shipped, collected and currently overdue orders."""
    lo, hi = day_bounds(start, end, tz)
    rep = SalesReport()
    names = {p.id: p.label for p in (await uow.session.execute(select(Person))).scalars()}

    def person(pid: int) -> PersonTotals:
        return rep.by_person.setdefault(pid, PersonTotals(names.get(pid, str(pid))))

    sold = await uow.session.execute(
        select(Order.owner_id, func.count(Order.id), func.coalesce(func.sum(Order.amount), 0))
        .where(Order.confirmed_at >= lo, Order.confirmed_at < hi, Order.state.in_(COUNTED))
        .group_by(Order.owner_id))
    for pid, count, amount in sold:
        p = person(pid)
        p.orders, p.sales = int(count), money(amount)
        rep.orders += p.orders
        rep.sales += p.sales
    shipped = await uow.session.execute(
        select(Order.owner_id, func.coalesce(func.sum(Shipment.amount), 0)).join(Order, Order.id == Shipment.order_id)
        .where(Shipment.shipped_at >= lo, Shipment.shipped_at < hi).group_by(Order.owner_id))
    for pid, amount in shipped:
        person(pid).shipped = money(amount)
        rep.shipped += money(amount)
    collected = await uow.session.execute(
        select(Order.owner_id, func.coalesce(func.sum(Payment.amount), 0)).join(Order, Order.id == Payment.order_id)
        .where(Payment.paid_on >= start, Payment.paid_on <= end).group_by(Order.owner_id))
    for pid, amount in collected:
        person(pid).collected = money(amount)
        rep.collected += money(amount)
    unshipped = select(OrderLine.order_id).where(OrderLine.shipped_qty < OrderLine.qty)
    rep.overdue = int((await uow.session.execute(
        select(func.count(Order.id)).where(Order.state == State.CONFIRMED, Order.due_date < today,
                                           Order.id.in_(unshipped)))).scalar_one())
    return rep


@dataclass
class Statement:
    """A customer's reconciliation statement (receivable = shipped goods − payments)."""

    opening: Decimal
    shipped: Decimal
    collected: Decimal
    closing: Decimal
    orders: list[Order]
    shipments: list[tuple[Shipment, int]]
    payments: list[tuple[Payment, int]]


async def statement(uow: UnitOfWork, customer_id: int, start: date, end: date, tz: tzinfo) -> Statement:
    """Orders, shipments and payments of a customer in [start, end], with balances."""
    lo, hi = day_bounds(start, end, tz)
    cust_orders = select(Order.id).where(Order.customer_id == customer_id)

    async def total(stmt: object) -> Decimal:
        return money((await uow.session.execute(stmt)).scalar_one())  # type: ignore[call-overload]

    shipped_before = await total(select(func.coalesce(func.sum(Shipment.amount), 0)).where(
        Shipment.order_id.in_(cust_orders), Shipment.shipped_at < lo))
    paid_before = await total(select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.order_id.in_(cust_orders), Payment.paid_on < start))
    shipments = [(s, no) for s, no in (await uow.session.execute(
        select(Shipment, Order.no).join(Order, Order.id == Shipment.order_id).where(
            Order.customer_id == customer_id, Shipment.shipped_at >= lo, Shipment.shipped_at < hi)
        .order_by(Shipment.shipped_at))).all()]
    payments = [(p, no) for p, no in (await uow.session.execute(
        select(Payment, Order.no).join(Order, Order.id == Payment.order_id).where(
            Order.customer_id == customer_id, Payment.paid_on >= start, Payment.paid_on <= end)
        .order_by(Payment.paid_on))).all()]
    orders = list((await uow.session.execute(select(Order).where(
        Order.customer_id == customer_id, Order.created_at >= lo, Order.created_at < hi).order_by(Order.no)))
        .scalars())
    shipped = sum((s.amount for s, _ in shipments), ZERO)
    collected = sum((p.amount for p, _ in payments), ZERO)
    opening = shipped_before - paid_before
    return Statement(opening, shipped, collected, opening + shipped - collected, orders, shipments, payments)
