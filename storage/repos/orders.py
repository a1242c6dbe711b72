"""Orders: look-ups by number, search with a filter, history, follow-ups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Integer, Table, bindparam, func, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from storage.models import AuditEvent, ChangeRequest, FollowUp, Order, OrderLine
from storage.repos.order_card import CardEvent, OrderCard, order_card
from storage.vocab import ChangeStatus, State

#: the states whose balance a customer still owes (the customer card's 未结)
OPEN_STATES = (State.CONFIRMED.value, State.ON_HOLD.value, State.PENDING_APPROVAL.value)

#: built once: a statement made per call costs more to build and to key for SQLAlchemy's compiled cache
#: than to run (the card of /查单 itself: storage/repos/order_card.py)
_HISTORY = (select(AuditEvent).where(AuditEvent.order_id == bindparam("order_id"))
            .order_by(AuditEvent.id.desc()).limit(bindparam("last", type_=Integer)))

_ORDERS, _LINES = cast(Table, Order.__table__), cast(Table, OrderLine.__table__)
#: a new order and its lines, written with Core (see :meth:`OrderRepository.insert_new`): every mapped column
#: but the key, so that the objects hold all of them afterwards (nothing left to load on first access)
_ORDER_KEYS = tuple(p.key for p in inspect(Order).column_attrs if p.key != "id")
_LINE_KEYS = tuple(p.key for p in inspect(OrderLine).column_attrs if p.key not in ("id", "order_id"))
_INSERT_ORDER = insert(_ORDERS).returning(_ORDERS.c.id)
#: all lines in one statement on both databases (a multi-row VALUES); the rows come back in any order, so
#: each carries its line number
_INSERT_LINES = insert(_LINES).returning(_LINES.c.id, _LINES.c.line_no)


@dataclass(frozen=True)
class OrderSearch:
    """Which orders a list shows; every set field narrows it (``None``: no condition)."""

    owner_id: int | None = None
    state: str | None = None
    #: confirmed orders due before this day with something left to ship
    overdue_on: date | None = None
    #: due within these days (inclusive)
    due_from: date | None = None
    due_to: date | None = None
    customer_ids: Sequence[int] | None = None


class OrderRepository:
    """Orders, read and written through one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_no(self, no: int, *, lock: bool = True) -> Order | None:
        """The order #no; ``lock`` takes its row lock (PostgreSQL) for the transaction."""
        stmt = select(Order).where(Order.no == no)
        if lock:
            # populate_existing: a copy read earlier in this session must not hide what the lock waited for
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def insert_new(self, order: Order) -> None:
        """Write a new order and its lines, two statements on both databases, and put them into the session
        as if just read back (persistent: a later change is an ORM update with its optimistic lock).

        The unit of work's flush cost more than the writing itself (per-object bookkeeping, its sort, one
        INSERT per line on SQLite, where the ORM cannot rely on the order of a multi-row RETURNING).
        ``order`` is a new, transient ``Order`` with every column but ``id`` set (``row_version`` too: 1),
        its lines likewise but for ``id`` and ``order_id``, and its relations set (``customer`` may be
        None; ``owner`` a person of this session). The database's triggers see the same rows as before.
        """
        unset = [k for k in _ORDER_KEYS if k not in order.__dict__]
        unset += [f"line.{k}" for line in order.lines for k in _LINE_KEYS if k not in line.__dict__]
        if unset or "lines" not in order.__dict__ or "customer" not in order.__dict__ or order.id is not None:
            raise ValueError(f"insert_new: a new order with every column set, not {unset or order}")
        order.id = (await self.session.execute(_INSERT_ORDER, {k: order.__dict__[k] for k in _ORDER_KEYS})
                    ).scalar_one()
        if order.lines:
            rows = [{"order_id": order.id, **{k: line.__dict__[k] for k in _LINE_KEYS}} for line in order.lines]
            ids = {line_no: line_id for line_id, line_no in await self.session.execute(_INSERT_LINES, rows)}
            for line in order.lines:
                line.order_id, line.id = order.id, ids[line.line_no]
                make_transient_to_detached(line)
        make_transient_to_detached(order)
        self.session.add(order)  # persistent, and so are its lines (they have their keys): nothing to flush

    async def card(self, no: int, last: int = 6) -> tuple[OrderCard, list[CardEvent]] | None:
        """The order #no as ``/查单`` shows it, with its last ``last`` audit events (Core reads, no ORM)."""
        return await order_card(self.session, no, last)

    async def by_id(self, order_id: int) -> Order:
        """The order with this primary key (it exists: a row refers to it)."""
        return await self.session.get_one(Order, order_id)

    async def search(self, search: OrderSearch, limit: int = 15) -> list[Order]:
        """Orders matching ``search``, newest first."""
        stmt = select(Order).order_by(Order.id.desc()).limit(limit)
        if search.owner_id is not None:
            stmt = stmt.where(Order.owner_id == search.owner_id)
        if search.state is not None:
            stmt = stmt.where(Order.state == search.state)
        if search.overdue_on is not None:
            unshipped = select(OrderLine.order_id).where(OrderLine.shipped_qty < OrderLine.qty)
            stmt = stmt.where(Order.state == State.CONFIRMED.value, Order.due_date < search.overdue_on,
                              Order.id.in_(unshipped))
        if search.due_from is not None:
            stmt = stmt.where(Order.due_date >= search.due_from)
        if search.due_to is not None:
            stmt = stmt.where(Order.due_date <= search.due_to)
        if search.customer_ids is not None:
            stmt = stmt.where(Order.customer_id.in_(list(search.customer_ids)))
        return list((await self.session.execute(stmt)).scalars())

    async def history(self, order: Order, last: int = 6) -> list[AuditEvent]:
        """The order's last ``last`` audit events, oldest first."""
        rows = (await self.session.execute(_HISTORY, {"order_id": order.id, "last": last})).scalars()
        return list(reversed(list(rows)))

    async def has_pending_change(self, order: Order) -> bool:
        """Whether a change request of the order waits for a decision."""
        found = await self.session.execute(select(ChangeRequest.id).where(
            ChangeRequest.order_id == order.id, ChangeRequest.status == ChangeStatus.PENDING).limit(1))
        return found.first() is not None

    async def open_balance(self, customer_id: int) -> tuple[int, Decimal]:
        """The customer's open orders: how many, and what they still owe (amount − paid − written off)."""
        count, balance = (await self.session.execute(
            select(func.count(Order.id),
                   func.coalesce(func.sum(Order.amount - Order.paid_amount - Order.written_off), 0))
            .where(Order.customer_id == customer_id, Order.state.in_(OPEN_STATES)))).one()
        # SQLite keeps numerics as floats, so the sum comes back as one: exact yuan again
        return int(count), Decimal(str(balance if balance is not None else 0)).quantize(Decimal("0.01"))

    def add_follow_up(self, order: Order, author_id: int, text: str, now: datetime) -> FollowUp:
        """Record a follow-up note on the order (written with the transaction)."""
        note = FollowUp(order_id=order.id, author_id=author_id, text=text, created_at=now)
        self.session.add(note)
        return note
