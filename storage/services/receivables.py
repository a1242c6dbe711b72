"""The sales page's receivables: aging of every open balance and the two overdue lists, in SQL.

A balance's payment due date is ``payment_due(terms, confirmed_at, full_shipment_at, zone)``
(``schedules.terms``, passed in as :data:`~storage.services.dashboard.PaymentDue`): per payment
terms it is a non-decreasing function of one moment, the confirmation or the full shipment (the
last shipment of a fully shipped order). So "at least k days late" is, for each terms text, "that
moment is before some cut-off", and the cut-off is found in Python by asking ``payment_due`` itself
(a binary search over days). Terms with the same cut-offs are counted together: one grouped read
per kind of terms counts and sums the balances of each aging bucket; the lists read only the most
overdue rows. Nothing loads more orders than it shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, literal, literal_column, or_, select

from storage import stage_sql
from storage.db import UnitOfWork
from storage.models import Order, Shipment
from storage.services.dashboard import BUCKETS, LIST_LIMIT, BoardCard, PaymentDue, _cards, _orders_by_id
from storage.services.sales_grid import from_cents
from storage.vocab import State

ZERO = Decimal("0.00")
LIVE = (State.CONFIRMED, State.ON_HOLD)
#: how far back (days) a cut-off is looked for: older moments than this are all equally late
HORIZON = 40_000


@dataclass
class Receivables:
    """Open balances (confirmed or held orders) with their aging and the overdue lists."""

    count: int
    buckets: dict[str, Decimal]
    counts: dict[str, int]
    total: Decimal
    payment_overdue: list[BoardCard]
    delivery_overdue: list[BoardCard]
    #: how many are overdue in all (the lists show the most overdue LIST_LIMIT)
    payment_overdue_total: int = 0
    delivery_overdue_total: int = 0


def _balance_cents() -> ColumnElement[Any]:
    return func.round((Order.amount - Order.paid_amount - Order.written_off) * 100)


def _owing() -> ColumnElement[bool]:
    # whole cents: SQLite subtracts floats, 0.3 - 0.1 - 0.2 is not quite 0 there
    # the states written out: the partial index ix_orders_owing then serves on SQLite too
    return and_(stage_sql.live(), _balance_cents() > 0)


def _last_cut(due_of: Callable[[date], date | None], target: date) -> date | None:
    """The latest day whose due date is on or before ``target`` (None: no such day in the horizon)."""
    lo, hi = target - timedelta(days=HORIZON), target + timedelta(days=400)

    def ok(day: date) -> bool:
        due = due_of(day)
        return due is not None and due <= target

    if not ok(lo):
        return None
    while (hi - lo).days > 1:
        mid = lo + timedelta(days=(hi - lo).days // 2)
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return hi if ok(hi) else lo


@dataclass(frozen=True)
class _Kind:
    """How a set of terms texts is due: on which moment, and the moment's cut-off per aging threshold."""

    confirmed: bool
    cuts: tuple[datetime | None, ...]  # for BUCKETS[1:]: "late at least first days" ⇔ moment < cut


def _kind(terms: str | None, today: date, tz: tzinfo, payment_due: PaymentDue) -> _Kind:
    probe = datetime.combine(today, time(12), tz)
    confirmed = payment_due(terms, probe, None, tz) is not None

    def due_of(day: date) -> date | None:
        moment = datetime.combine(day, time(12), tz)
        return payment_due(terms, moment, None if confirmed else moment, tz)

    cuts = []
    for _, first, _ in BUCKETS[1:]:
        day = _last_cut(due_of, today - timedelta(days=first))
        cuts.append(None if day is None else datetime.combine(day + timedelta(days=1), time(), tz))
    return _Kind(confirmed, tuple(cuts))


def _moment(kind: _Kind) -> Any:
    if kind.confirmed:
        return Order.confirmed_at
    last = select(func.max(Shipment.shipped_at)).where(Shipment.order_id == Order.id).scalar_subquery()
    return case((stage_sql.fully_shipped(), last), else_=None)


def _before(moment: ColumnElement[Any], cut: datetime | None) -> ColumnElement[bool]:
    return false() if cut is None else moment < literal(cut, Order.confirmed_at.type)


def _terms_in(texts: list[str | None]) -> ColumnElement[bool]:
    named = [t for t in texts if t is not None]
    cond = Order.payment_terms.in_(named) if named else false()
    return or_(cond, Order.payment_terms.is_(None)) if None in texts else cond


async def receivables(uow: UnitOfWork, today: date, tz: tzinfo, payment_due: PaymentDue) -> Receivables:
    """Aging of every open balance, the payment-overdue list (most late first) and the delivery-overdue list."""
    await stage_sql.without_jit(uow.session)
    grouped: dict[_Kind, list[str | None]] = {}
    for (terms,) in await uow.session.execute(select(Order.payment_terms).where(_owing()).distinct()):
        grouped.setdefault(_kind(terms, today, tz, payment_due), []).append(terms)
    kinds = list(grouped.items())
    buckets = {key: ZERO for key, _, _ in BUCKETS}
    counts = {key: 0 for key, _, _ in BUCKETS}
    late: list[tuple[int, int, int]] = []  # (days late, no, id) of the most overdue of each kind
    if kinds:
        by_confirmation = [t for kind, texts in kinds if kind.confirmed for t in texts]
        moment = case((_terms_in(by_confirmation), Order.confirmed_at), else_=_moment(_Kind(False, ())))
        kind_no = case(*((_terms_in(texts), literal_column(str(i))) for i, (_, texts) in enumerate(kinds)),
                       else_=literal_column("-1"))
        # OFFSET 0 keeps the subquery whole on both databases: each order's moment is computed once
        owing = select(Order.id, Order.no, Order.payment_terms, _balance_cents().label("cents"),
                       moment.label("moment"), kind_no.label("kind")).where(_owing()).offset(0).subquery("owing")
        at, kind_col = owing.c.moment, owing.c.kind
        bucket = case(*((and_(kind_col == i, _before(at, cut)), literal_column(f"'{key}'"))
                        for i, (kind, _) in enumerate(kinds)
                        for (key, _, _), cut in reversed(list(zip(BUCKETS[1:], kind.cuts, strict=True)))),
                      else_=literal_column(f"'{BUCKETS[0][0]}'")).label("bucket")
        for key, n, total in await uow.session.execute(
                select(bucket, func.count(), func.sum(owing.c.cents)).group_by(literal_column("bucket"))):
            counts[key] += int(n)
            buckets[key] += from_cents(total)
        overdue = or_(*(and_(kind_col == i, _before(at, kind.cuts[0])) for i, (kind, _) in enumerate(kinds)))
        ranked = select(owing, func.row_number().over(partition_by=kind_col, order_by=(at, owing.c.no))
                        .label("rn")).where(overdue).subquery("ranked")
        rows = list(await uow.session.execute(
            select(ranked.c.id, ranked.c.no, ranked.c.payment_terms, ranked.c.moment, ranked.c.kind)
            .where(ranked.c.rn <= LIST_LIMIT)))
        full = {kind for kind in {row[4] for row in rows} if sum(1 for row in rows if row[4] == kind) >= LIST_LIMIT}
        found: dict[int, tuple[int, int, int]] = {}
        for oid, no, terms, when, _kind_no in rows:
            # the moment stands for the confirmation or the full shipment, whichever the terms count from
            due = payment_due(terms, when, when, tz)
            if due is not None and due < today:
                found[int(oid)] = ((today - due).days, int(no), int(oid))
        for kind in full:
            # a list cut at the limit ends inside one due date that many moments share (月结: a whole month's
            # shipments): the earliest moments are not the lowest numbers, so that due date's rows are read again
            # by number, as the list orders them
            cut_rows = [found[int(row[0])] for row in rows if row[4] == kind and int(row[0]) in found]
            if not cut_rows:
                continue
            least_late = min(days for days, _, _ in cut_rows)
            for oid, no, days in await _due_on(uow, kinds[kind], today - timedelta(days=least_late), today, tz,
                                               payment_due):
                found[oid] = (days, no, oid)
        late.extend(found.values())
    late.sort(key=lambda row: (-row[0], row[1]))
    paying = await _cards(uow, await _orders_by_id(uow, [oid for _, _, oid in late[:LIST_LIMIT]]), today, tz,
                          payment_due)
    # not fully shipped = goods left, or no lines: counted apart, each from ix_orders_line_progress alone
    # (with the OR, SQLite read ~75,000 orders from the table by their 交期); the 交期 as an expression in
    # the second, or SQLite would take ix_orders_state_due and the table again
    delivering_states = Order.state.in_((State.PENDING_APPROVAL, State.CONFIRMED))
    delivery_total = sum([(await uow.session.execute(select(func.count(Order.id)).where(*cond))).scalar_one()
                          for cond in ((delivering_states, Order.due_date < today, stage_sql.unshipped_line()),
                                       (delivering_states, func.coalesce(Order.due_date, Order.due_date) < today,
                                        stage_sql.progress().is_(None)))])
    # one read per state, each walking ix_orders_state_due in 交期 order and stopping at the limit
    firsts = [row for state in (State.PENDING_APPROVAL, State.CONFIRMED) for row in await uow.session.execute(
        select(Order.due_date, Order.no, Order.id).where(Order.state == state, Order.due_date < today,
                                                         stage_sql.not_fully_shipped())
        .order_by(Order.due_date, Order.no).limit(LIST_LIMIT))]
    ids = [oid for _, _, oid in sorted(firsts)[:LIST_LIMIT]]
    delivering = await _cards(uow, await _orders_by_id(uow, ids), today, tz, payment_due)
    return Receivables(sum(counts.values()), buckets, counts, sum(buckets.values(), ZERO),
                       [c for c in paying if c.pay_late_days], delivering,
                       sum(n for key, n in counts.items() if key != BUCKETS[0][0]), int(delivery_total))


async def _due_on(uow: UnitOfWork, kind: tuple[_Kind, list[str | None]], due: date, today: date, tz: tzinfo,
                  payment_due: PaymentDue) -> list[tuple[int, int, int]]:
    """(id, no, days late) of the first LIST_LIMIT owing orders by number, of one kind, due exactly on ``due``."""
    shape, texts = kind
    out: list[tuple[int, int, int]] = []
    for terms in texts:

        def due_of(day: date, terms: str | None = terms) -> date | None:
            moment = datetime.combine(day, time(12), tz)
            return payment_due(terms, moment, None if shape.confirmed else moment, tz)

        upto, before = _last_cut(due_of, due), _last_cut(due_of, due - timedelta(days=1))
        if upto is None:
            continue
        moment: Any = Order.confirmed_at if shape.confirmed else _moment(shape)
        stmt = (select(Order.id, Order.no, moment).where(_owing(), _terms_in([terms]),
                                                         _before(moment, _day_after(upto, tz)))
                .order_by(Order.no).limit(LIST_LIMIT))
        if before is not None:
            stmt = stmt.where(~_before(moment, _day_after(before, tz)))
        for oid, no, when in await uow.session.execute(stmt):
            if when is not None and payment_due(terms, when, when, tz) == due:
                out.append((int(oid), int(no), (today - due).days))
    return out


def _day_after(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tz)
