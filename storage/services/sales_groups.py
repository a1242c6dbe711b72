"""Sales, shipped and collected amounts of a period, grouped by owner, month or customer (REST reports).

The figures are those of ``reports.sales_report`` (``/报表``) and ``dashboard.sales_by_month``
(the dashboard): sales = orders confirmed in the period (counted states only), shipped = the
value of shipments made in it, collected = payments dated in it. The group keys are stable
identifiers: ``platform:user_id``, ``YYYY-MM``, the customer id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo
from decimal import Decimal
from typing import Literal

from sqlalchemy import func, select

from storage.db import UnitOfWork
from storage.models import Customer, Order, Payment, Person, Shipment
from storage.services import dashboard, reports
from storage.services.base import money

GroupBy = Literal["owner", "month", "customer"]
GROUPS: tuple[GroupBy, ...] = ("owner", "month", "customer")
ZERO = Decimal("0.00")


@dataclass
class SalesRow:
    """One group's figures."""

    key: str
    name: str
    orders: int = 0
    sales: Decimal = ZERO
    shipped: Decimal = ZERO
    collected: Decimal = ZERO


async def sales_rows(uow: UnitOfWork, group_by: GroupBy, start: date, end: date, today: date,
                     tz: tzinfo) -> list[SalesRow]:
    """The rows of [start, end] by ``group_by``: owners and customers by sales (largest first), months in order."""
    if group_by == "owner":
        return await _by_owner(uow, start, end, today, tz)
    if group_by == "month":
        return [SalesRow(f"{m.month:%Y-%m}", f"{m.month:%Y-%m}", m.orders, m.sales, m.shipped, m.collected)
                for m in await dashboard.sales_by_month(uow, start, end, tz)]
    return await _by_customer(uow, start, end, tz)


def _ranked(rows: list[SalesRow]) -> list[SalesRow]:
    return sorted(rows, key=lambda r: (-r.sales, -r.shipped, -r.collected, r.key))


async def _by_owner(uow: UnitOfWork, start: date, end: date, today: date, tz: tzinfo) -> list[SalesRow]:
    rep = await reports.sales_report(uow, start, end, today, tz)
    people = {p.id: p for p in (await uow.session.execute(
        select(Person).where(Person.id.in_(list(rep.by_person))))).scalars()}
    rows = []
    for pid, totals in rep.by_person.items():
        person = people.get(pid)
        key = f"{person.platform}:{person.user_id}" if person else str(pid)
        rows.append(SalesRow(key, totals.name, totals.orders, totals.sales, totals.shipped, totals.collected))
    return _ranked(rows)


async def _by_customer(uow: UnitOfWork, start: date, end: date, tz: tzinfo) -> list[SalesRow]:
    lo, hi = reports.day_bounds(start, end, tz)
    names = {cid: name for cid, name in await uow.session.execute(select(Customer.id, Customer.name))}
    rows: dict[int, SalesRow] = {}

    def row(cid: int | None) -> SalesRow:
        key = cid or 0  # the queries keep orders without a customer out; the column is nullable
        return rows.setdefault(key, SalesRow(str(key), names.get(key, "")))

    sold = await uow.session.execute(
        select(Order.customer_id, func.count(Order.id), func.coalesce(func.sum(Order.amount), 0))
        .where(Order.confirmed_at >= lo, Order.confirmed_at < hi, Order.state.in_(reports.COUNTED),
               Order.customer_id.is_not(None))
        .group_by(Order.customer_id))
    for cid, count, amount in sold:
        r = row(cid)
        r.orders, r.sales = int(count), money(amount)
    shipped = await uow.session.execute(
        select(Order.customer_id, func.coalesce(func.sum(Shipment.amount), 0))
        .join(Order, Order.id == Shipment.order_id)
        .where(Shipment.shipped_at >= lo, Shipment.shipped_at < hi, Order.customer_id.is_not(None))
        .group_by(Order.customer_id))
    for cid, amount in shipped:
        row(cid).shipped = money(amount)
    collected = await uow.session.execute(
        select(Order.customer_id, func.coalesce(func.sum(Payment.amount), 0))
        .join(Order, Order.id == Payment.order_id)
        .where(Payment.paid_on >= start, Payment.paid_on <= end, Order.customer_id.is_not(None))
        .group_by(Order.customer_id))
    for cid, amount in collected:
        row(cid).collected = money(amount)
    return _ranked(list(rows.values()))
