"""The order card of ``/查单``: read with two Core statements into plain objects, no ORM unit of work.

The reads are synchronous functions of a connection, so that ``/查单`` runs them (with the card's
shortage line, ``storage.services.purchasing.order_shortages``) in one ``Database.read``: one
hand-off to a reader thread on SQLite instead of one per statement.

``/查单`` is the command people send most, and it changes nothing. Loading it as ORM objects
(identity map, instrumented attributes, joined-eager uniquing) cost about 0.5 ms of the ~3 ms of CPU
the whole command took; rows turned into the small dataclasses below cost a fraction of that. The
objects have the attribute names of the ORM models they stand for, so the rules
(``storage.lifecycle``'s ``OrderView``) and the card's texts read either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Integer, Table, bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent, Customer, Order, OrderLine, Person
from storage.models.orders import LineFigures

_ORDERS = cast(Table, Order.__table__)
_LINES = cast(Table, OrderLine.__table__)
_CUSTOMERS = cast(Table, Customer.__table__)
_PEOPLE = cast(Table, Person.__table__)
_AUDIT = cast(Table, AuditEvent.__table__)

_ORDER_COLUMNS = ("id", "no", "state", "production", "owner_id", "customer_id", "due_date", "payment_terms",
                  "note", "amount", "paid_amount", "written_off", "state_reason")
_LINE_COLUMNS = ("line_no", "product_id", "sku", "name", "qty", "unit", "unit_price", "shipped_qty")
_EVENT_COLUMNS = ("at", "action", "summary", "order_version", "actor_name", "actor_user_id", "after")

#: the order, its customer's and owner's names and its lines: one row per line (one with no line)
_CARD = (
    select(*(_ORDERS.c[n] for n in _ORDER_COLUMNS), _CUSTOMERS.c.name.label("customer_name"),
           _PEOPLE.c.name.label("owner_name"), _PEOPLE.c.user_id.label("owner_user_id"),
           *(_LINES.c[n].label(f"line_{n}") for n in _LINE_COLUMNS))
    .select_from(_ORDERS)
    .join(_PEOPLE, _PEOPLE.c.id == _ORDERS.c.owner_id)
    .outerjoin(_CUSTOMERS, _CUSTOMERS.c.id == _ORDERS.c.customer_id)
    .outerjoin(_LINES, _LINES.c.order_id == _ORDERS.c.id)
    .where(_ORDERS.c.no == bindparam("no"))
    .order_by(_LINES.c.line_no)
)
_HISTORY = (select(*(_AUDIT.c[n] for n in _EVENT_COLUMNS)).where(_AUDIT.c.order_id == bindparam("order_id"))
            .order_by(_AUDIT.c.id.desc()).limit(bindparam("last", type_=Integer)))


@dataclass(frozen=True, slots=True)
class CardLine(LineFigures):
    """An order line as the card shows it."""

    line_no: int
    product_id: int | None
    sku: str
    name: str
    qty: Decimal
    unit: str | None
    unit_price: Decimal | None
    shipped_qty: Decimal


@dataclass(frozen=True, slots=True)
class CardName:
    """The customer or owner of a card: what it shows of them."""

    name: str
    user_id: str = ""

    @property
    def label(self) -> str:
        """A display name: the name when known, else the user id (as ``Person.label``)."""
        return self.name or self.user_id


@dataclass(slots=True)
class OrderCard:
    """An order as ``/查单`` shows it (not attached to any session: nothing here is written)."""

    id: int
    no: int
    state: str
    production: str
    owner_id: int
    customer_id: int | None
    due_date: date | None
    payment_terms: str | None
    note: str | None
    amount: Decimal
    paid_amount: Decimal
    written_off: Decimal
    state_reason: str | None
    customer: CardName | None
    owner: CardName
    lines: tuple[CardLine, ...]


@dataclass(frozen=True, slots=True)
class CardEvent:
    """One audit event of the card's history."""

    at: datetime
    action: str
    summary: str
    order_version: int | None
    actor_name: str
    actor_user_id: str
    after: dict[str, Any] | None


def read_card(conn: Connection, no: int, last: int) -> tuple[OrderCard, list[CardEvent]] | None:
    """The order #no and its ``last`` audit events (oldest first), or None; two statements.

    Synchronous: run by ``Database.read`` (one hand-off for the whole card on SQLite) or, inside a
    unit of work, through the session's ``run_sync`` (:func:`order_card`).
    """
    rows = conn.execute(_CARD, {"no": no}).all()
    if not rows:
        return None
    first = rows[0]._mapping
    lines = tuple(CardLine(*(row._mapping[f"line_{n}"] for n in _LINE_COLUMNS))
                  for row in rows if row._mapping["line_line_no"] is not None)
    card = OrderCard(**{n: first[n] for n in _ORDER_COLUMNS},
                     customer=CardName(first["customer_name"]) if first["customer_id"] is not None else None,
                     owner=CardName(first["owner_name"] or "", first["owner_user_id"]), lines=lines)
    events = [CardEvent(*row) for row in conn.execute(_HISTORY, {"order_id": card.id, "last": last})]
    events.reverse()
    return card, events


async def order_card(session: AsyncSession, no: int, last: int) -> tuple[OrderCard, list[CardEvent]] | None:
    """:func:`read_card` in ``session``'s transaction."""
    return await session.run_sync(lambda sync: read_card(sync.connection(), no, last))
