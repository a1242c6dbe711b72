"""The facts the reminder rules read, as :class:`storage.repos.agenda.AgendaRepository` returns them.

Plain frozen dataclasses (no session, no lazy loading): the rules in ``schedules/`` are pure
functions of these, and tests build them by hand. :class:`PlannedReminder` is what the
repository needs of a rule's output to store it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class OrderFacts:
    """What the rules read of an order."""

    id: int
    no: int
    owner_id: int
    state: str
    due_date: date | None
    amount: Decimal
    balance: Decimal
    fully_shipped: bool
    payment_terms: str | None = None
    confirmed_at: datetime | None = None
    #: the last shipment of a fully shipped order
    full_shipped_at: datetime | None = None
    customer: str = ""
    origin: tuple[str, str, str] = ("local", "", "group")


@dataclass(frozen=True)
class ApprovalFacts:
    """A PENDING approval step and the order it belongs to."""

    id: int
    order_id: int
    order_no: int
    owner_id: int
    role: str
    status: str
    activated_at: datetime
    amount: Decimal = Decimal(0)
    customer: str = ""


@dataclass(frozen=True)
class TicketFacts:
    """An after-sales ticket."""

    id: int
    no: int
    order_id: int
    order_no: int
    status: str
    resolved_at: datetime | None


@dataclass(frozen=True)
class QuoteFacts:
    """An open quotation near its last valid day."""

    id: int
    no: int
    owner_id: int
    status: str
    valid_until: date
    customer: str
    amount: Decimal


@dataclass(frozen=True)
class PurchaseFacts:
    """An open purchase request and who waits for its goods."""

    id: int
    no: int
    sku: str
    status: str
    expected_date: date | None
    waiting_owners: tuple[int, ...] = ()
    waiting_orders: tuple[int, ...] = ()


@dataclass(frozen=True)
class PurchaseRow:
    """A purchase as stored, with its product's id and stock (who waits is worked out from them)."""

    facts: PurchaseFacts
    product_id: int
    stock: Decimal


@dataclass(frozen=True)
class StaffRows:
    """Active people by role (ids ascending), and each person's manager when that manager is active."""

    holders: dict[str, tuple[int, ...]]
    managers: dict[int, int]


@dataclass(frozen=True)
class PersonRef:
    """How ``gendan jobs`` names a person: platform, user id and display name."""

    platform: str
    user_id: str
    name: str


class PlannedReminder(Protocol):
    """A rule reminder to store once (``schedules.rules.Due`` has these fields)."""

    @property
    def kind(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def person_id(self) -> int: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def order_id(self) -> int | None: ...
    @property
    def text(self) -> str: ...
