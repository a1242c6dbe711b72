"""Typed SQLAlchemy 2 models. Money is ``Decimal``; every timestamp is timezone-aware."""

from storage.models.activity import (
    AuditEvent,
    Counter,
    FollowUp,
    Payment,
    Reminder,
    Shipment,
    ShipmentLine,
    Ticket,
)
from storage.models.base import Base, UTCDateTime, utcnow
from storage.models.catalog import Customer, Product, StockMove
from storage.models.figures import SalesDay
from storage.models.messaging import (
    InboxEvent,
    KeyValue,
    LocalMessage,
    OutboxMessage,
    Prompt,
    RateSlot,
    SentCard,
)
from storage.models.orders import ZERO, Approval, ChangeRequest, Order, OrderLine, OrderStateCount, OrderVersion
from storage.models.people import Chat, ChatSubscription, Person, PersonRole, Tenant
from storage.models.quotes import Purchase, Quote, QuoteLine

__all__ = [
    "ZERO",
    "Approval",
    "AuditEvent",
    "Base",
    "ChangeRequest",
    "Chat",
    "ChatSubscription",
    "Counter",
    "Customer",
    "FollowUp",
    "InboxEvent",
    "KeyValue",
    "LocalMessage",
    "Order",
    "OrderLine",
    "OrderStateCount",
    "OrderVersion",
    "OutboxMessage",
    "Payment",
    "Person",
    "PersonRole",
    "Product",
    "Prompt",
    "Purchase",
    "Quote",
    "QuoteLine",
    "RateSlot",
    "Reminder",
    "SalesDay",
    "SentCard",
    "Shipment",
    "ShipmentLine",
    "StockMove",
    "Tenant",
    "Ticket",
    "UTCDateTime",
    "utcnow",
]
