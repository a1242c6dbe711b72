"""Loading the facts the rules read, with bounded queries that use the indexes.

Each query selects only what could produce a reminder now:

- approvals: ``PENDING`` steps active for at least 4 h (``ix_approvals_status``);
- deliveries: ``CONFIRMED`` orders with a line not fully shipped and 交期 in the few days
  whose reminders can fall due today (:func:`delivery_windows`; ``ix_orders_state_due`` +
  ``ix_order_lines_order_id``). An order first seen late beyond the grace (confirmed long
  after its 交期, or a downtime of more than 3 days) gets no group notice: it is in the
  owner's daily digest instead;
- payments: ``CONFIRMED`` orders with a balance (``ix_orders_state_due`` prefix), once a day;
- tickets: resolved in the last 33 days and at least 3 days ago (``ix_tickets_resolved``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, select

from schedules.calendar import Calendar
from schedules.rules import (
    APPROVAL_FIRST,
    LATE_ESCALATE_DAYS,
    SOON_DAYS,
    VISIT_AFTER,
    ApprovalFacts,
    OrderFacts,
    Staff,
    TicketFacts,
)
from storage.db import UnitOfWork
from storage.models import Approval, Customer, Order, OrderLine, Person, PersonRole, Shipment, Ticket

#: overdue notices still sent this many days after their first working moment (downtime)
LATE_GRACE = timedelta(days=3)
ZERO = Decimal(0)
VISIT_WINDOW = timedelta(days=30)
CHUNK = 500


def _unshipped() -> Any:
    """Some line of the order is not fully shipped."""
    return exists().where(OrderLine.order_id == Order.id, OrderLine.shipped_qty < OrderLine.qty)


def order_columns() -> Any:
    """The columns :class:`OrderFacts` needs (customer name, open lines, last shipment)."""
    unshipped = _unshipped()
    last_ship = select(func.max(Shipment.shipped_at)).where(Shipment.order_id == Order.id).scalar_subquery()
    return (
        select(Order.id, Order.no, Order.owner_id, Order.state, Order.due_date, Order.amount,
               Order.paid_amount, Order.written_off, Order.payment_terms, Order.confirmed_at,
               Order.origin_platform, Order.origin_chat_id, Order.origin_chat_type, Customer.name,
               unshipped.label("unshipped"), last_ship.label("last_ship"))
        .outerjoin(Customer, Customer.id == Order.customer_id)
    )


def order_facts(row: Any) -> OrderFacts:
    """:class:`OrderFacts` from a row of :func:`order_columns`."""
    fully = not row.unshipped
    return OrderFacts(
        id=row.id, no=row.no, owner_id=row.owner_id, state=row.state, due_date=row.due_date,
        amount=Decimal(row.amount), balance=Decimal(row.amount) - Decimal(row.paid_amount) - Decimal(row.written_off),
        fully_shipped=fully, payment_terms=row.payment_terms, confirmed_at=row.confirmed_at,
        full_shipped_at=row.last_ship if fully else None, customer=row.name or "",
        origin=(row.origin_platform, row.origin_chat_id, row.origin_chat_type),
    )


def delivery_windows(cal: Calendar, today: date) -> list[tuple[date, date]]:
    """The 交期 ranges whose delivery reminders can fall due on ``today``.

    due soon: [today, today + 2]; overdue (fires the working day after 交期): from the
    previous working day − grace to yesterday; the 7-day escalation likewise, 6 days
    earlier. Counting from the previous working day keeps long holidays covered.
    """
    start = cal.previous_working_day(today) - LATE_GRACE
    return [(today, today + timedelta(days=SOON_DAYS)),
            (start, today - timedelta(days=1)),
            (start - timedelta(days=LATE_ESCALATE_DAYS - 1), today - timedelta(days=LATE_ESCALATE_DAYS))]


async def delivery_candidates(uow: UnitOfWork, cal: Calendar, today: date) -> list[OrderFacts]:
    """Confirmed, not fully shipped, 交期 in one of :func:`delivery_windows` (only what planning needs)."""
    out: dict[int, OrderFacts] = {}
    for lo, hi in delivery_windows(cal, today):
        stmt = select(Order.id, Order.no, Order.owner_id, Order.due_date).where(
            Order.state == "CONFIRMED", Order.due_date >= lo, Order.due_date <= hi, _unshipped())
        for r in await uow.session.execute(stmt):
            out[r.id] = OrderFacts(r.id, r.no, r.owner_id, "CONFIRMED", r.due_date, ZERO, ZERO, False)
    return list(out.values())


async def late_deliveries(uow: UnitOfWork, today: date) -> list[OrderFacts]:
    """Confirmed, not fully shipped, 交期 before today (the daily digest; no lookback)."""
    stmt = order_columns().where(Order.state == "CONFIRMED", Order.due_date < today, _unshipped())
    return [order_facts(r) for r in await uow.session.execute(stmt)]


async def deliveries_on(uow: UnitOfWork, day: date) -> list[OrderFacts]:
    """Confirmed, not fully shipped, 交期 on ``day``."""
    stmt = order_columns().where(Order.state == "CONFIRMED", Order.due_date == day, _unshipped())
    return [order_facts(r) for r in await uow.session.execute(stmt)]


async def payment_candidates(uow: UnitOfWork) -> list[OrderFacts]:
    """Confirmed orders with a balance (the terms decide in Python whether they are late)."""
    stmt = order_columns().where(Order.state == "CONFIRMED",
                                  Order.amount - Order.paid_amount - Order.written_off > 0)
    return [order_facts(r) for r in await uow.session.execute(stmt)]


async def orders_by_id(uow: UnitOfWork, ids: Iterable[int]) -> dict[int, OrderFacts]:
    """Current facts of the given orders (to check a reminder's reason at delivery)."""
    out: dict[int, OrderFacts] = {}
    for chunk in _chunks(sorted(set(ids))):
        for row in await uow.session.execute(order_columns().where(Order.id.in_(chunk))):
            out[row.id] = order_facts(row)
    return out


def approval_columns() -> Any:
    """The columns :class:`ApprovalFacts` needs."""
    return (select(Approval.id, Approval.order_id, Order.no, Order.owner_id, Approval.role, Approval.status,
                   Approval.activated_at, Order.amount, Customer.name)
            .join(Order, Order.id == Approval.order_id).outerjoin(Customer, Customer.id == Order.customer_id))


def _approval(row: Any) -> ApprovalFacts:
    return ApprovalFacts(row.id, row.order_id, row.no, row.owner_id, row.role, row.status, row.activated_at,
                         Decimal(row.amount), row.name or "")


async def waiting_approvals(uow: UnitOfWork, now: datetime) -> list[ApprovalFacts]:
    """PENDING steps active for at least 4 h of wall time (working time is never more)."""
    stmt = approval_columns().where(Approval.status == "PENDING", Approval.activated_at <= now - APPROVAL_FIRST)
    return [_approval(r) for r in await uow.session.execute(stmt)]


async def pending_approvals(uow: UnitOfWork) -> list[ApprovalFacts]:
    """Every PENDING step (the daily digest)."""
    stmt = approval_columns().where(Approval.status == "PENDING").order_by(Approval.activated_at)
    return [_approval(r) for r in await uow.session.execute(stmt)]


async def approvals_by_id(uow: UnitOfWork, ids: Iterable[int]) -> dict[int, ApprovalFacts]:
    """Current approval steps by id."""
    out: dict[int, ApprovalFacts] = {}
    for chunk in _chunks(sorted(set(ids))):
        for row in await uow.session.execute(approval_columns().where(Approval.id.in_(chunk))):
            out[row.id] = _approval(row)
    return out


def _ticket_columns() -> Any:
    return select(Ticket.id, Ticket.no, Ticket.order_id, Order.no.label("order_no"), Ticket.status,
                  Ticket.resolved_at).join(Order, Order.id == Ticket.order_id)


async def resolved_tickets(uow: UnitOfWork, now: datetime) -> list[TicketFacts]:
    """Tickets resolved 3 to 33 days ago."""
    stmt = _ticket_columns().where(Ticket.status == "RESOLVED", Ticket.resolved_at <= now - VISIT_AFTER,
                                   Ticket.resolved_at >= now - VISIT_AFTER - VISIT_WINDOW)
    return [TicketFacts(r.id, r.no, r.order_id, r.order_no, r.status, r.resolved_at)
            for r in await uow.session.execute(stmt)]


async def tickets_by_id(uow: UnitOfWork, ids: Iterable[int]) -> dict[int, TicketFacts]:
    """Current tickets by id."""
    out: dict[int, TicketFacts] = {}
    for chunk in _chunks(sorted(set(ids))):
        for r in await uow.session.execute(_ticket_columns().where(Ticket.id.in_(chunk))):
            out[r.id] = TicketFacts(r.id, r.no, r.order_id, r.order_no, r.status, r.resolved_at)
    return out


async def staff(uow: UnitOfWork) -> Staff:
    """Active people by role and their managers."""
    holders: dict[str, list[int]] = {}
    rows = await uow.session.execute(
        select(PersonRole.role, Person.id).join(Person, Person.id == PersonRole.person_id)
        .where(Person.active.is_(True)).order_by(Person.id))
    for role, pid in rows:
        holders.setdefault(role, []).append(pid)
    people = list(await uow.session.execute(select(Person.id, Person.manager_id, Person.active)))
    active = {pid for pid, _, is_active in people if is_active}
    # a manager who left is no escalation target: the role holders step in
    managers = {pid: mid for pid, mid, _ in people if mid is not None and mid in active}
    return Staff({k: tuple(v) for k, v in holders.items()}, managers)


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]
