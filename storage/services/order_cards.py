"""The card of ``/查单`` as one read: the order, its last events and its shortage line.

One ``Database.read``: on SQLite the three statements go to a reader thread in one hand-off and
share one snapshot (see ``storage.reads``); nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.engine import Connection

from storage.db import Database
from storage.repos.order_card import CardEvent, OrderCard, read_card
from storage.services.purchasing import order_shortages


@dataclass(frozen=True)
class CardView:
    """What a card shows: the order, its last events (oldest first), and what stock cannot serve yet."""

    order: OrderCard
    history: list[CardEvent]
    #: (SKU, quantity short) for the order's catalogue lines the stock on hand cannot serve
    short: list[tuple[str, Decimal]]


async def order_card(db: Database, no: int, last: int = 6) -> CardView | None:
    """The card of order #no, or None when there is no such order."""
    return await db.read(lambda conn: _read(conn, no, last))


def _read(conn: Connection, no: int, last: int) -> CardView | None:
    found = read_card(conn, no, last)
    if found is None:
        return None
    order, history = found
    return CardView(order, history, order_shortages(conn, order))
