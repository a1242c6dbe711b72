"""Read-only queries of the web dashboard: kanban, one order's history, sales by month, receivables.

Nothing here writes. The payment due date depends on the free-text payment terms, which
``schedules.terms`` interprets; storage may not import ``schedules``, so the caller passes that
function in (:data:`PaymentDue`) and the dashboard and the reminders agree on what "overdue" means.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select

from storage import lifecycle, stage_sql
from storage.db import UnitOfWork
from storage.models import AuditEvent, ChangeRequest, Chat, Order, OrderStateCount, OrderVersion, Person, Shipment
from storage.services import sales_grid
from storage.vocab import Stage, State

#: (payment terms, confirmed at, full shipment at, business zone) → payment due date (``schedules.terms``)
PaymentDue = Callable[[str | None, datetime | None, datetime | None, tzinfo], date | None]

#: kanban columns, left to right: a state, or the computed stage of a confirmed order
COLUMNS: tuple[str, ...] = (State.DRAFT, State.REJECTED, State.PENDING_APPROVAL, Stage.PREPARING,
                            Stage.IN_PRODUCTION, Stage.READY, Stage.PARTIALLY_SHIPPED, Stage.AWAITING_PAYMENT,
                            State.ON_HOLD)
OPEN_STATES = (State.DRAFT, State.REJECTED, State.PENDING_APPROVAL, State.CONFIRMED, State.ON_HOLD)
FINISHED_STATES = (State.COMPLETED, State.CLOSED, State.CANCELLED)
#: cards shown per column (the most urgent); the rest is counted and listed on the column's own pages
COLUMN_LIMIT = 30
#: receivables aging buckets by days past the payment due date: (key, first day, last day)
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("current", -(10**6), 0), ("d1_30", 1, 30), ("d31_60", 31, 60), ("d61_90", 61, 90), ("d90_plus", 91, None))


@dataclass
class BoardCard:
    """An order on the kanban (or in an overdue list) with how late it is."""

    order: Order
    late_days: int | None = None  # delivery: days past 交期 with goods unshipped
    pay_late_days: int | None = None  # payment: days past the payment due date with a balance
    pay_due: date | None = None


@dataclass
class Column:
    """One kanban column: its key (state or stage), up to :data:`COLUMN_LIMIT` cards and the full count."""

    key: str
    cards: list[BoardCard] = field(default_factory=list)
    total: int = 0


@dataclass
class Kanban:
    """Open orders by column, and how many orders are finished per final state."""

    columns: list[Column]
    finished: dict[str, int]


def column_key(order: Order) -> str:
    """The order's column: its stage while confirmed, else its state."""
    stage = lifecycle.stage(order)
    return stage.value if stage else order.state


def delivery_late_days(order: Order, today: date) -> int | None:
    """Days past 交期 while goods remain to ship (awaiting approval or confirmed), else None."""
    if order.state not in (State.PENDING_APPROVAL, State.CONFIRMED) or order.due_date is None:
        return None
    if order.due_date >= today or lifecycle.fully_shipped(order):
        return None
    return (today - order.due_date).days


async def _last_shipments(uow: UnitOfWork, ids: Iterable[int]) -> dict[int, datetime]:
    wanted = list(ids)
    out: dict[int, datetime] = {}
    # in chunks: asyncpg takes at most 32,767 parameters in one statement
    for start in range(0, len(wanted), 5000):
        rows = await uow.session.execute(
            select(Shipment.order_id, func.max(Shipment.shipped_at))
            .where(Shipment.order_id.in_(wanted[start:start + 5000])).group_by(Shipment.order_id))
        out.update({oid: at for oid, at in rows if at is not None})
    return out


async def _cards(uow: UnitOfWork, orders: list[Order], today: date, tz: tzinfo,
                 payment_due: PaymentDue) -> list[BoardCard]:
    """Cards with the delivery and payment lateness of each order (payment only with a balance)."""
    shipped = await _last_shipments(uow, (o.id for o in orders if lifecycle.fully_shipped(o)))
    cards = []
    for order in orders:
        card = BoardCard(order, delivery_late_days(order, today))
        if order.state in (State.CONFIRMED, State.ON_HOLD) and lifecycle.balance(order) > 0:
            card.pay_due = payment_due(order.payment_terms, order.confirmed_at, shipped.get(order.id), tz)
            if card.pay_due is not None and card.pay_due < today:
                card.pay_late_days = (today - card.pay_due).days
        cards.append(card)
    return cards


def column_filter(key: str) -> ColumnElement[bool]:
    """The orders of one kanban column (a state, or a stage of the confirmed orders), in SQL."""
    if key in Stage.__members__:
        return stage_sql.stage_is(key)
    return Order.state == key


async def column_order_ids(uow: UnitOfWork, key: str, limit: int, offset: int = 0) -> list[int]:
    """Ids of one column's orders, earliest 交期 first (no 交期 last), then by number.

    Two reads, with and without a 交期, so that each walks ``ix_orders_state_due`` in its order and
    stops after ``limit`` rows instead of sorting the whole column (SQLite sorts NULL first)."""
    where = column_filter(key)
    dated = select(Order.id).where(where, Order.due_date.is_not(None))
    ids = list((await uow.session.execute(
        dated.order_by(Order.due_date, Order.no).offset(offset).limit(limit))).scalars())
    if len(ids) < limit:
        skip = 0
        if offset:
            skip = max(0, offset - (await uow.session.execute(
                select(func.count()).select_from(dated.subquery()))).scalar_one())
        ids += (await uow.session.execute(select(Order.id).where(where, Order.due_date.is_(None))
                                          .order_by(Order.no).offset(skip).limit(limit - len(ids)))).scalars()
    return ids


async def _orders_by_id(uow: UnitOfWork, ids: list[int]) -> list[Order]:
    found = {o.id: o for o in (await uow.session.execute(select(Order).where(Order.id.in_(ids)))).scalars()}
    return [found[i] for i in ids if i in found]


async def column_counts(uow: UnitOfWork) -> dict[str, int]:
    """How many open orders each kanban column holds (counted in the database)."""
    counts = {key: 0 for key in COLUMNS}
    others = [s for s in OPEN_STATES if s is not State.CONFIRMED]
    for state, n in await uow.session.execute(
            select(Order.state, func.count()).where(Order.state.in_(others)).group_by(Order.state)):
        counts[state] = int(n)
    # confirmed orders by production and line progress: a handful of groups, from ix_orders_line_progress
    code = stage_sql.progress()
    for production, progress, n in await uow.session.execute(
            select(Order.production, code, func.count()).where(Order.state == State.CONFIRMED)
            .group_by(Order.production, code)):
        counts[stage_sql.stage_of(production, progress)] += int(n)
    return counts


async def kanban(uow: UnitOfWork, today: date, tz: tzinfo, payment_due: PaymentDue,
                 limit: int | None = None) -> Kanban:
    """Every column's count and its first ``limit`` (:data:`COLUMN_LIMIT`) cards, earliest 交期 first."""
    await stage_sql.without_jit(uow.session)
    limit = COLUMN_LIMIT if limit is None else limit
    counts = await column_counts(uow)
    ids = {key: await column_order_ids(uow, key, limit) if counts[key] else [] for key in COLUMNS}
    orders = await _orders_by_id(uow, [i for key in COLUMNS for i in ids[key]])
    cards = {card.order.id: card for card in await _cards(uow, orders, today, tz, payment_due)}
    columns = [Column(key, [cards[i] for i in ids[key] if i in cards], counts[key]) for key in COLUMNS]
    return Kanban(columns, await finished_counts(uow))


async def finished_counts(uow: UnitOfWork) -> dict[str, int]:
    """How many orders are in each finished state: kept counts (``order_state_counts``, migration 0011)."""
    finished = {state.value: 0 for state in FINISHED_STATES}
    for state, count in await uow.session.execute(select(OrderStateCount.state, OrderStateCount.n)):
        finished[state] = int(count)
    return finished


async def column_page(uow: UnitOfWork, key: str, page: int, size: int, today: date, tz: tzinfo,
                      payment_due: PaymentDue) -> Column:
    """One page of one kanban column (the full list behind its first cards), in the kanban's order."""
    await stage_sql.without_jit(uow.session)
    total = (await uow.session.execute(select(func.count(Order.id)).where(
        Order.state.in_(OPEN_STATES), column_filter(key)))).scalar_one()
    ids = await column_order_ids(uow, key, size, (page - 1) * size)
    return Column(key, await _cards(uow, await _orders_by_id(uow, ids), today, tz, payment_due), int(total))


@dataclass
class TimelineRow:
    """One audit event and the title of the chat it came from (when known)."""

    event: AuditEvent
    chat_title: str


@dataclass
class ChangeRow:
    """A change request, who asked, and the version it produced (None unless applied)."""

    request: ChangeRequest
    requester: str
    version: int | None


@dataclass
class OrderDetail:
    """Everything the order page shows."""

    order: Order
    card: BoardCard
    shipped_pct: int
    paid_pct: int
    timeline: list[TimelineRow]
    changes: list[ChangeRow]


def percent(part: Decimal, whole: Decimal) -> int:
    """Whole percent, rounded down, 0..100 (0 when there is nothing to count)."""
    if whole <= 0:
        return 0
    return max(0, min(100, int((part * 100 / whole).to_integral_value(rounding="ROUND_FLOOR"))))


def shipped_share(order: Order) -> int:
    """Shipped share by value (mixed products make a quantity share meaningless); by quantity if unpriced."""
    total = sum((ln.qty * (ln.unit_price or 0) for ln in order.lines), Decimal(0))
    done = sum((ln.shipped_qty * (ln.unit_price or 0) for ln in order.lines), Decimal(0))
    if total <= 0:
        total = sum((ln.qty for ln in order.lines), Decimal(0))
        done = sum((ln.shipped_qty for ln in order.lines), Decimal(0))
    return percent(done, total)


async def order_detail(uow: UnitOfWork, no: int, today: date, tz: tzinfo,
                       payment_due: PaymentDue) -> OrderDetail | None:
    """One order with its audit timeline (oldest first) and its change requests (newest first)."""
    order = (await uow.session.execute(select(Order).where(Order.no == no))).scalar_one_or_none()
    if order is None:
        return None
    events = list((await uow.session.execute(
        select(AuditEvent).where(AuditEvent.order_id == order.id).order_by(AuditEvent.id))).scalars())
    chat_ids = {e.chat_id for e in events if e.chat_id}
    titles = {(c.platform, c.chat_id): c.title for c in (await uow.session.execute(
        select(Chat).where(Chat.chat_id.in_(chat_ids)))).scalars()} if chat_ids else {}
    timeline = [TimelineRow(e, titles.get((e.chat_platform or "", e.chat_id or ""), "")) for e in events]
    requests = list((await uow.session.execute(select(ChangeRequest).where(ChangeRequest.order_id == order.id)
                                               .order_by(ChangeRequest.id.desc()))).scalars())
    people = {p.id: p.label for p in (await uow.session.execute(
        select(Person).where(Person.id.in_({r.requested_by for r in requests})))).scalars()} if requests else {}
    versions = {cr_id: v for cr_id, v in await uow.session.execute(
        select(OrderVersion.change_request_id, OrderVersion.version).where(OrderVersion.order_id == order.id))}
    changes = [ChangeRow(r, people.get(r.requested_by, ""), versions.get(r.id)) for r in requests]
    (card,) = await _cards(uow, [order], today, tz, payment_due)
    return OrderDetail(order, card, shipped_share(order), percent(order.paid_amount, order.amount), timeline, changes)


MonthRow = sales_grid.MonthFigures
months_between = sales_grid.months_of


async def sales_by_month(uow: UnitOfWork, start: date, end: date, tz: tzinfo) -> list[MonthRow]:
    """Per month of [start, end]: the same figures as ``reports.sales_report``, bucketed in the business zone."""
    return (await sales_grid.sales_grid(uow, start, end, tz))[1]


#: a page a phone can show: the most overdue first, the rest counted
LIST_LIMIT = 200
