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

from sqlalchemy import func, select

from storage import lifecycle
from storage.db import UnitOfWork
from storage.models import AuditEvent, ChangeRequest, Chat, Order, OrderVersion, Payment, Person, Shipment
from storage.services.base import money
from storage.services.reports import COUNTED, ZERO, day_bounds
from storage.vocab import Stage, State

#: (payment terms, confirmed at, full shipment at, business zone) → payment due date (``schedules.terms``)
PaymentDue = Callable[[str | None, datetime | None, datetime | None, tzinfo], date | None]

#: kanban columns, left to right: a state, or the computed stage of a confirmed order
COLUMNS: tuple[str, ...] = (State.DRAFT, State.REJECTED, State.PENDING_APPROVAL, Stage.PREPARING,
                            Stage.IN_PRODUCTION, Stage.READY, Stage.PARTIALLY_SHIPPED, Stage.AWAITING_PAYMENT,
                            State.ON_HOLD)
OPEN_STATES = (State.DRAFT, State.REJECTED, State.PENDING_APPROVAL, State.CONFIRMED, State.ON_HOLD)
FINISHED_STATES = (State.COMPLETED, State.CLOSED, State.CANCELLED)
#: cards shown per column; a phone cannot scroll through more, the rest is counted
COLUMN_LIMIT = 100
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


async def kanban(uow: UnitOfWork, today: date, tz: tzinfo, payment_due: PaymentDue) -> Kanban:
    """Every open order in its column, earliest 交期 first (no 交期 last)."""
    orders = list((await uow.session.execute(select(Order).where(Order.state.in_(OPEN_STATES)))).scalars())
    orders.sort(key=lambda o: (o.due_date is None, o.due_date or date.max, o.no))
    columns = {key: Column(key) for key in COLUMNS}
    shown = []
    for order in orders:
        column = columns[column_key(order)]
        column.total += 1
        if column.total <= COLUMN_LIMIT:
            shown.append(order)
    for card in await _cards(uow, shown, today, tz, payment_due):
        columns[column_key(card.order)].cards.append(card)
    finished = {state.value: 0 for state in FINISHED_STATES}
    for state, count in await uow.session.execute(
            select(Order.state, func.count(Order.id)).where(Order.state.in_(FINISHED_STATES)).group_by(Order.state)):
        finished[state] = int(count)
    return Kanban(list(columns.values()), finished)


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


@dataclass
class MonthRow:
    """Sales (confirmed), shipped and collected amounts of one business-zone month."""

    month: date  # the first day of the month
    orders: int = 0
    sales: Decimal = ZERO
    shipped: Decimal = ZERO
    collected: Decimal = ZERO


def months_between(start: date, end: date) -> list[date]:
    """First days of the months from ``start``'s to ``end``'s, inclusive."""
    out, cur = [], start.replace(day=1)
    while cur <= end:
        out.append(cur)
        cur = date(cur.year + cur.month // 12, cur.month % 12 + 1, 1)
    return out


async def sales_by_month(uow: UnitOfWork, start: date, end: date, tz: tzinfo) -> list[MonthRow]:
    """Per month of [start, end]: the same figures as ``reports.sales_report``, bucketed in the business zone."""
    lo, hi = day_bounds(start, end, tz)
    rows = {m: MonthRow(m) for m in months_between(start, end)}

    def row(day: date) -> MonthRow:
        return rows[day.replace(day=1)]

    for confirmed, amount in await uow.session.execute(select(Order.confirmed_at, Order.amount).where(
            Order.confirmed_at >= lo, Order.confirmed_at < hi, Order.state.in_(COUNTED))):
        if confirmed is None:  # the filter excludes it; the column is nullable
            continue
        r = row(confirmed.astimezone(tz).date())
        r.orders += 1
        r.sales += money(amount)
    for at, amount in await uow.session.execute(select(Shipment.shipped_at, Shipment.amount).where(
            Shipment.shipped_at >= lo, Shipment.shipped_at < hi)):
        row(at.astimezone(tz).date()).shipped += money(amount)
    for day, amount in await uow.session.execute(select(Payment.paid_on, Payment.amount).where(
            Payment.paid_on >= start, Payment.paid_on <= end)):
        row(day).collected += money(amount)
    return list(rows.values())


@dataclass
class Receivables:
    """Open balances (confirmed or held orders) with their aging and the overdue lists."""

    cards: list[BoardCard]
    buckets: dict[str, Decimal]
    counts: dict[str, int]
    total: Decimal
    payment_overdue: list[BoardCard]
    delivery_overdue: list[BoardCard]
    #: how many are overdue in all (the lists show the most overdue LIST_LIMIT)
    payment_overdue_total: int = 0
    delivery_overdue_total: int = 0


#: a page a phone can show: the most overdue first, the rest counted
LIST_LIMIT = 200


def bucket_of(card: BoardCard) -> str:
    """The aging bucket: days past the payment due date (no due date yet counts as current)."""
    days = card.pay_late_days or 0
    for key, first, last in BUCKETS:
        if days >= first and (last is None or days <= last):
            return key
    return BUCKETS[-1][0]


async def receivables(uow: UnitOfWork, today: date, tz: tzinfo, payment_due: PaymentDue) -> Receivables:
    """Aging of every open balance, the payment-overdue list (most late first) and the delivery-overdue list."""
    live = (State.CONFIRMED, State.ON_HOLD)
    owing = [o for o in (await uow.session.execute(select(Order).where(
        Order.state.in_(live), Order.amount - Order.paid_amount - Order.written_off > 0))).scalars()
        if lifecycle.balance(o) > 0]  # SQLite subtracts floats: 0.3 - 0.1 - 0.2 is not quite 0 there
    late = list((await uow.session.execute(select(Order).where(
        Order.state.in_((State.PENDING_APPROVAL, State.CONFIRMED)), Order.due_date < today))).scalars())
    cards = await _cards(uow, owing, today, tz, payment_due)
    buckets = {key: ZERO for key, _, _ in BUCKETS}
    counts = {key: 0 for key, _, _ in BUCKETS}
    for card in cards:
        key = bucket_of(card)
        buckets[key] += lifecycle.balance(card.order)
        counts[key] += 1
    paying = sorted((c for c in cards if c.pay_late_days), key=lambda c: (-(c.pay_late_days or 0), c.order.no))
    delivering = sorted((c for c in await _cards(uow, late, today, tz, payment_due) if c.late_days),
                        key=lambda c: (-(c.late_days or 0), c.order.no))
    return Receivables(cards, buckets, counts, sum(buckets.values(), ZERO), paying[:LIST_LIMIT],
                       delivering[:LIST_LIMIT], len(paying), len(delivering))
