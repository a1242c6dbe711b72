"""The sales page's figures, summed in the database: by person and by business-zone month at once.

Three grouped reads (orders confirmed, shipments made, payments dated in the period), each by
(owner, month), give both ``reports.sales_report``'s per-person totals and
``dashboard.sales_by_month``'s months: the same definitions (sales = orders confirmed in the period
in a counted state, shipped = shipments made in it, collected = payments dated in it). The month of
a timestamp is found by comparing it with the month boundaries of the business zone (a ``CASE``),
so no database needs to know the zone. Money is summed as whole cents (``round(x * 100)``): exact on
PostgreSQL's numerics and on SQLite, whose numerics are floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal_column, select

from storage.db import UnitOfWork
from storage.models import Order, Payment, Person, Shipment
from storage.services.reports import COUNTED, PersonTotals, SalesReport, day_bounds
from storage.stage_sql import without_jit

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(expr: Any) -> ColumnElement[Any]:
    """The exact sum of a money expression, in cents."""
    return func.coalesce(func.sum(func.round(expr * 100)), 0)


def from_cents(value: object) -> Decimal:
    """A :func:`cents` sum as yuan."""
    return (Decimal(str(value if value is not None else 0)) / 100).quantize(CENT)


def months_of(start: date, end: date) -> list[date]:
    """First days of the months from ``start``'s to ``end``'s, inclusive."""
    out, cur = [], start.replace(day=1)
    while cur <= end:
        out.append(cur)
        cur = date(cur.year + cur.month // 12, cur.month % 12 + 1, 1)
    return out


def _bucket(column: Any, cuts: Sequence[object]) -> ColumnElement[Any]:
    """Index of the month a value falls in, given each later month's first moment (or day)."""
    if not cuts:
        return literal_column("0")
    return case(*((column < cut, literal_column(str(i))) for i, cut in enumerate(cuts)),
                else_=literal_column(str(len(cuts))))


@dataclass
class MonthFigures:
    """Sales (confirmed), shipped and collected amounts of one business-zone month."""

    month: date
    orders: int = 0
    sales: Decimal = ZERO
    shipped: Decimal = ZERO
    collected: Decimal = ZERO


async def sales_grid(uow: UnitOfWork, start: date, end: date,
                     tz: tzinfo) -> tuple[SalesReport, list[MonthFigures]]:
    """Totals of [start, end] by person (``overdue`` left 0) and by month."""
    await without_jit(uow.session)
    months = months_of(start, end)
    lo, hi = day_bounds(start, end, tz)
    moments = [datetime.combine(m, time(), tz) for m in months[1:]]
    rows = [MonthFigures(m) for m in months]
    rep = SalesReport()
    names = {pid: name or user for pid, name, user in await uow.session.execute(
        select(Person.id, Person.name, Person.user_id))}

    def person(pid: int) -> PersonTotals:
        return rep.by_person.setdefault(pid, PersonTotals(names.get(pid, str(pid))))

    month = _bucket(Order.confirmed_at, moments).label("month")
    # the state is tested inside the sums, not in WHERE: the period alone then picks the index
    # ix_orders_confirmed (confirmed_at, state, owner_id, amount), read without the table
    counted = Order.state.in_(COUNTED)
    sold = select(Order.owner_id, month, func.count(case((counted, 1))),
                  cents(case((counted, Order.amount), else_=0))).where(
        Order.confirmed_at >= lo, Order.confirmed_at < hi).group_by(Order.owner_id, literal_column("month"))
    for pid, i, count, amount in await uow.session.execute(sold):
        if not count:
            continue
        p, m, value = person(pid), rows[int(i)], from_cents(amount)
        p.orders, p.sales, m.orders, m.sales = p.orders + int(count), p.sales + value, m.orders + int(count), \
            m.sales + value
    month = _bucket(Shipment.shipped_at, moments).label("month")
    shipped = select(Order.owner_id, month, cents(Shipment.amount)).join(Order, Order.id == Shipment.order_id).where(
        Shipment.shipped_at >= lo, Shipment.shipped_at < hi).group_by(Order.owner_id, literal_column("month"))
    for pid, i, amount in await uow.session.execute(shipped):
        value = from_cents(amount)
        person(pid).shipped += value
        rows[int(i)].shipped += value
    month = _bucket(Payment.paid_on, months[1:]).label("month")
    paid = select(Order.owner_id, month, cents(Payment.amount)).join(Order, Order.id == Payment.order_id).where(
        Payment.paid_on >= start, Payment.paid_on <= end).group_by(Order.owner_id, literal_column("month"))
    for pid, i, amount in await uow.session.execute(paid):
        value = from_cents(amount)
        person(pid).collected += value
        rows[int(i)].collected += value
    for p in rep.by_person.values():
        rep.orders, rep.sales = rep.orders + p.orders, rep.sales + p.sales
        rep.shipped, rep.collected = rep.shipped + p.shipped, rep.collected + p.collected
    return rep, rows
