"""Quotations (报价, ``Q12``) and purchase requests (采购, ``P3``): before and behind an order."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, Money, Qty, UTCDateTime, utcnow
from storage.models.catalog import Customer, Product
from storage.models.people import Person
from storage.vocab import PurchaseStatus, QuoteStatus

ZERO = Decimal("0.00")


class Quote(Base):
    """A quotation to a customer, numbered apart from orders (``Q12``)."""

    __tablename__ = "quotes"
    __table_args__ = (Index("ix_quotes_status_valid", "status", "valid_until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    no: Mapped[int] = mapped_column(Integer, unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    #: PENDING_APPROVAL (below floor) → OPEN / REJECTED; OPEN → WON / WITHDRAWN (expiry is computed)
    status: Mapped[str] = mapped_column(String(20), default=QuoteStatus.OPEN.value)
    amount: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    #: the last day the prices hold
    valid_until: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    payment_terms: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    #: below_floor / over_credit, as found when the quote was made
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
    #: the order it became (/成交)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    won_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    origin_platform: Mapped[str] = mapped_column(String(16))
    origin_chat_id: Mapped[str] = mapped_column(String(128))
    origin_chat_type: Mapped[str] = mapped_column(String(8), default="group")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lines: Mapped[list[QuoteLine]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="QuoteLine.line_no")
    customer: Mapped[Customer] = relationship(lazy="selectin")
    owner: Mapped[Person] = relationship(lazy="selectin", foreign_keys=[owner_id])


class QuoteLine(Base):
    """One priced line of a quotation."""

    __tablename__ = "quote_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128), default="")
    qty: Mapped[Decimal] = mapped_column(Qty())
    unit: Mapped[str | None] = mapped_column(String(16))
    unit_price: Mapped[Decimal] = mapped_column(Money())
    floor_price: Mapped[Decimal | None] = mapped_column(Money())

    @property
    def line_amount(self) -> Decimal:
        """qty × price, rounded to cents."""
        return (self.qty * self.unit_price).quantize(Decimal("0.01"))


class Purchase(Base):
    """A purchase request for one catalogue product (``P3``); arrivals may be partial."""

    __tablename__ = "purchases"
    __table_args__ = (Index("ix_purchases_status_expected", "status", "expected_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    no: Mapped[int] = mapped_column(Integer, unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    qty: Mapped[Decimal] = mapped_column(Qty())
    received_qty: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(0))
    supplier: Mapped[str | None] = mapped_column(String(128))
    expected_date: Mapped[date | None] = mapped_column(Date)
    #: OPEN → RECEIVED (in full)
    status: Mapped[str] = mapped_column(String(12), default=PurchaseStatus.OPEN.value)
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: every arrival: [{"qty": "5", "at": "…", "by": 7}, …]
    arrivals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    product: Mapped[Product] = relationship(lazy="selectin")

    @property
    def remaining(self) -> Decimal:
        """Quantity still to arrive."""
        return self.qty - self.received_qty


__all__ = ["Purchase", "Quote", "QuoteLine"]
