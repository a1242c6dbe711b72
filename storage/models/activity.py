"""What happens to an order after it is confirmed, and its history: shipments, payments,
after-sales tickets, follow-ups, reminders and the audit trail."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, Money, Qty, UTCDateTime, utcnow
from storage.models.people import Person
from storage.vocab import ReminderStatus, TicketStatus


class Shipment(Base):
    """One shipment (partial or full) of an order."""

    __tablename__ = "shipments"
    # the sales page sums a period of shipments from the index alone (migration 0009)
    # the receivables find an order's last shipment from the index (migration 0013)
    __table_args__ = (Index("ix_shipments_shipped", "shipped_at", "order_id", "amount"),
                      Index("ix_shipments_order_shipped", "order_id", "shipped_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_no: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(Money())
    shipped_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lines: Mapped[list[ShipmentLine]] = relationship(lazy="selectin", cascade="all, delete-orphan")


class ShipmentLine(Base):
    """Quantity of one order line in one shipment."""

    __tablename__ = "shipment_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    qty: Mapped[Decimal] = mapped_column(Qty())


class Payment(Base):
    """A payment received for an order."""

    __tablename__ = "payments"
    # the sales page sums a period of payments from the index alone (migration 0009)
    __table_args__ = (Index("ix_payments_paid", "paid_on", "order_id", "amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    method: Mapped[str | None] = mapped_column(String(16))
    paid_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Ticket(Base):
    """An after-sales ticket (售后), shown to people as ``T<no>``."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_resolved", "status", "resolved_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    no: Mapped[int] = mapped_column(Integer, unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    #: OPEN → IN_PROGRESS → RESOLVED
    status: Mapped[str] = mapped_column(String(12), default=TicketStatus.OPEN.value)
    text: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FollowUp(Base):
    """A follow-up note (跟进记录) on an order."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[Person] = relationship(lazy="selectin")


class Reminder(Base):
    """A reminder due at a time: set by a person (/提醒) or by a rule of the scheduler."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_due", "status", "due_at"), Index("ix_reminders_order", "order_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    #: PENDING → SENT / CANCELLED
    status: Mapped[str] = mapped_column(String(10), default=ReminderStatus.PENDING.value)
    #: a rule's reminder for one reason is created once
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEvent(Base):
    """One change of anything: who, when, what (before/after), from which chat and message."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_order", "order_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    order_version: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text, default="")
    actor_platform: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[str] = mapped_column(String(128))
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    actor_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    chat_platform: Mapped[str | None] = mapped_column(String(16))
    chat_id: Mapped[str | None] = mapped_column(String(128))
    #: message / card / api / cli / scheduler
    source: Mapped[str] = mapped_column(String(12))
    #: the platform event id (message id or card click id) that caused it
    source_ref: Mapped[str | None] = mapped_column(String(128))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Counter(Base):
    """Named counters for human-facing numbers (order #no, ticket T-no)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
