"""The parsed forms of command arguments (frozen, hashable, no database types)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

__all__ = [
    "ChangeArgs",
    "CustomerArgs",
    "LineArg",
    "LineChange",
    "ListFilter",
    "OrderFields",
    "PaymentArgs",
    "ReminderArgs",
    "ShipArgs",
    "TicketOpen",
    "TicketUpdate",
]


@dataclass(frozen=True)
class LineArg:
    """One order line as typed; ``product`` is free text, matched against the catalogue later."""

    product: str
    qty: Decimal
    unit: str | None = None
    #: None: not given yet (the order stays a draft)
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class OrderFields:
    """What ``/下单`` or ``/补充`` gave; None / empty = not given."""

    customer: str | None = None
    lines: tuple[LineArg, ...] = ()
    due_date: date | None = None
    note: str | None = None
    payment_terms: str | None = None
    address: str | None = None
    contact: str | None = None


@dataclass(frozen=True)
class LineChange:
    """A change to one line of a confirmed order: new quantity and/or new unit price."""

    product: str
    qty: Decimal | None = None
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class ChangeArgs:
    """What ``/变更`` asks to change; None / empty = unchanged."""

    due_date: date | None = None
    lines: tuple[LineChange, ...] = ()
    note: str | None = None
    address: str | None = None
    contact: str | None = None
    payment_terms: str | None = None


@dataclass(frozen=True)
class ShipArgs:
    """``/发货``: no lines means everything that remains."""

    order_no: int
    lines: tuple[tuple[str, Decimal], ...] = ()
    carrier: str | None = None
    tracking_no: str | None = None


@dataclass(frozen=True)
class PaymentArgs:
    """``/回款``: ``paid_on`` None means today."""

    order_no: int
    amount: Decimal
    method: str | None = None
    paid_on: date | None = None


@dataclass(frozen=True)
class ReminderArgs:
    """``/提醒``: ``when`` is aware, in the zone of the ``now`` it was parsed against."""

    order_no: int | None
    when: datetime
    text: str


@dataclass(frozen=True)
class TicketOpen:
    """``/售后 #12 问题``."""

    order_no: int
    text: str


#: the status value of a resolved ticket (TicketUpdate.status)
TICKET_RESOLVED: Literal["已解决"] = "已解决"


@dataclass(frozen=True)
class TicketUpdate:
    """``/售后 T3 处理中|已解决 [说明]``."""

    ticket_no: int
    status: Literal["处理中", "已解决"]
    note: str | None


@dataclass(frozen=True)
class ListFilter:
    """``/订单 [我的|待审批|逾期|本周|客户名]``."""

    kind: Literal["all", "mine", "pending", "overdue", "week", "customer"]
    customer: str | None = None


@dataclass(frozen=True)
class CustomerArgs:
    """``/客户 新增 名字 [联系人] [电话] [地址]``."""

    name: str
    contact: str | None = None
    phone: str | None = None
    address: str | None = None
