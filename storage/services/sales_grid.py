"""The sales page's figures: by person and by business-zone month at once, from kept per-day totals.

The definitions are ``reports.sales_report``'s (sales = orders confirmed in the period in a counted
state, shipped = shipments made in it, collected = payments dated in it), also behind
``dashboard.sales_by_month``. Twelve months of raw rows are ~680,000 at 1,000,000 orders, so the
page reads ``sales_days`` (``storage.models.SalesDay``, kept by migration 0013's triggers): each
owner's figures per UTC day. A business-zone month starts at local midnight, which is inside a UTC
day unless the zone is UTC; those few cut days are summed from the orders and shipments themselves
and split at the edge (the month of a timestamp by comparing it with the month boundaries, a
``CASE``), so no database needs to know the zone. Payments are dated, so their months are whole
days. Money is summed as whole cents (``round(x * 100)``): exact on PostgreSQL's numerics and on
SQLite, whose numerics are floats.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, DateTime, Select, and_, case, cast, false, func, literal_column, or_, select

from storage.db import UnitOfWork
from storage.models import Order, Person, SalesDay, Shipment
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
    """Totals of [start, end] by person (``overdue`` left 0) and by month.

    A person is listed when a figure of theirs in the period is not zero."""
    await without_jit(uow.session)
    months = months_of(start, end)
    lo, hi = day_bounds(start, end, tz)
    moments = [datetime.combine(m, time(), tz) for m in months[1:]]
    rows = [MonthFigures(m) for m in months]
    rep = SalesReport()
    names = {pid: name or user for pid, name, user in await uow.session.execute(
        select(Person.id, Person.name, Person.user_id))}

    def add(pid: int, i: int, count: Any = 0, sales: Any = 0, shipped: Any = 0,
            collected: Any = 0) -> None:
        if not count and not shipped and not collected:
            return
        p = rep.by_person.setdefault(pid, PersonTotals(names.get(pid, str(pid))))
        m, values = rows[int(i)], [from_cents(x) for x in (sales, shipped, collected)]
        if count:  # sales counted only with their orders (a cancelled order's row is 0 and 0)
            p.orders, p.sales = p.orders + int(count), p.sales + values[0]
            m.orders, m.sales = m.orders + int(count), m.sales + values[0]
        p.shipped, p.collected = p.shipped + values[1], p.collected + values[2]
        m.shipped, m.collected = m.shipped + values[1], m.collected + values[2]

    # whole UTC days from the kept figures; a day that a month's edge (local midnight) cuts is read
    # from the orders and shipments themselves, split at the edge
    edges = [at.astimezone(UTC) for at in (lo, *moments, hi)]
    cut = sorted({at.date() for at in edges if at.time() != time()})
    day, figures = SalesDay.day, (SalesDay.orders, SalesDay.sales, SalesDay.shipped, SalesDay.collected)

    def whole(d: date) -> bool:  # orders and shipments: a whole UTC day of the period
        return edges[0].date() <= d < edges[-1].date() and d not in cut

    def dated(d: date) -> bool:  # payments are dated (``paid_on``): a day of the period
        return start <= d <= end

    # One grouped read by calendar month of the day (a whole UTC day of a business-zone month lies in
    # that calendar month, in any zone; a payment's date is a business-zone date), then the few days
    # that count for one kind of figure and not the other taken out again, in Python, in cents.
    first, last = min(edges[0].date(), start), max(edges[-1].date(), end)
    acc: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    kept = (select(SalesDay.owner_id, _month_key(day, uow.session.get_bind().dialect.name).label("month"),
                   *(func.sum(f) for f in figures))
            .where(day >= first, day <= last).group_by(SalesDay.owner_id, literal_column("month")))
    for pid, month, *sums in await uow.session.execute(kept):
        acc[(pid, _month_text(month))] = [int(x or 0) for x in sums]
    odd = [d for d in (first + timedelta(days=n) for n in range((last - first).days + 1))
           if not whole(d) or not dated(d)]
    if odd:
        for pid, d, *values in await uow.session.execute(select(SalesDay.owner_id, day, *figures)
                                                          .where(day.in_(odd))):
            row = acc[(pid, f"{d:%Y-%m}")]
            for k in ((0, 1, 2) if not whole(d) else ()) + ((3,) if not dated(d) else ()):
                row[k] -= int(values[k])
    index = {f"{m:%Y-%m}": i for i, m in enumerate(months)}
    for (pid, month), (count, sales, shipped, collected) in acc.items():
        if month in index:  # the others were all taken out again
            add(pid, index[month], count, sales, shipped, collected)
    if cut:
        for pid, i, count, sales in await uow.session.execute(_sold(lo, hi, moments, cut)):
            add(pid, i, count, sales)
        for pid, i, shipped in await uow.session.execute(_shipped(lo, hi, moments, cut)):
            add(pid, i, shipped=shipped)
    for p in rep.by_person.values():
        rep.orders, rep.sales = rep.orders + p.orders, rep.sales + p.sales
        rep.shipped, rep.collected = rep.shipped + p.shipped, rep.collected + p.collected
    return rep, rows


def _month_key(day: Any, dialect: str) -> ColumnElement[Any]:
    """The month of a date column: its first moment on PostgreSQL (``to_char`` costs 4× more), ``YYYY-MM``
    on SQLite (where dates are text); :func:`_month_text` makes them alike."""
    # a timestamp without zone: truncating the date itself would go through the session's time zone
    return func.date_trunc("month", cast(day, DateTime())) if dialect == "postgresql" else func.substr(day, 1, 7)


def _month_text(value: Any) -> str:
    return value if isinstance(value, str) else f"{value:%Y-%m}"


def _within(column: Any, lo: datetime, hi: datetime, days: list[date]) -> ColumnElement[bool]:
    """``column`` in [lo, hi) and on one of the UTC ``days``: one range per day (each an index range;
    with [lo, hi) as a separate condition the planners would scan the whole period)."""
    spans = []
    for d in days:
        start = max(lo, datetime.combine(d, time(), UTC))
        end = min(hi, datetime.combine(d + timedelta(days=1), time(), UTC))
        if start < end:
            spans.append(and_(column >= start, column < end))
    return or_(*spans) if spans else false()


def _sold(lo: datetime, hi: datetime, moments: list[datetime], days: list[date]) -> Select[Any]:
    """Orders confirmed on ``days`` (and in [lo, hi)) by owner and month: (owner, month, count, cents)."""
    # the state is tested inside the sums, not in WHERE: the day ranges alone then pick the index
    # ix_orders_confirmed (confirmed_at, state, owner_id, amount), read without the table; OFFSET 0 keeps
    # the rows a subquery of their own (SQLite would rather walk all orders by owner, in GROUP BY order)
    rows = (select(Order.owner_id.label("owner"), _bucket(Order.confirmed_at, moments).label("month"),
                   Order.state.in_(COUNTED).label("counted"), Order.amount.label("amount"))
            .where(_within(Order.confirmed_at, lo, hi, days)).offset(0).subquery())
    return (select(rows.c.owner, rows.c.month, func.count(case((rows.c.counted, 1))),
                   cents(case((rows.c.counted, rows.c.amount), else_=0))).group_by(rows.c.owner, rows.c.month))


def _shipped(lo: datetime, hi: datetime, moments: list[datetime], days: list[date]) -> Select[Any]:
    """Shipments made on ``days`` (and in [lo, hi)) by their order's owner and month: (owner, month, cents)."""
    rows = (select(Order.owner_id.label("owner"), _bucket(Shipment.shipped_at, moments).label("month"),
                   Shipment.amount.label("amount")).join(Order, Order.id == Shipment.order_id)
            .where(_within(Shipment.shipped_at, lo, hi, days)).offset(0).subquery())
    return select(rows.c.owner, rows.c.month, cents(rows.c.amount)).group_by(rows.c.owner, rows.c.month)
