"""Orders, their lines, approvals, change requests and versions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, Unmapped, mapped_column, relationship, unmapped_column

from storage.models.base import Base, Money, Qty, UTCDateTime, utcnow
from storage.models.catalog import Customer
from storage.models.people import Person
from storage.vocab import ApprovalStatus, ChangeStatus

ZERO = Decimal("0.00")

#: the open states that reserve stock and owe money (``ix_orders_owing``'s condition)
LIVE_SQL = "state IN ('CONFIRMED', 'ON_HOLD')"


class Order(Base):
    """A sales order. ``state`` is written only by :mod:`storage.lifecycle`."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_state_due", "state", "due_date"),
        Index("ix_orders_owner_state", "owner_id", "state"),
        # exports, statements and reports select a period of orders by creation time
        Index("ix_orders_created", "created_at"),
        # the sales page sums a period of confirmed orders from the index alone (migration 0009)
        Index("ix_orders_confirmed", "confirmed_at", "state", "owner_id", "amount"),
        # the kanban counts and the late lists read the line progress from the index (migration 0011)
        Index("ix_orders_line_progress", "state", "line_progress", "production", "due_date"),
        # the receivables and the shortage list read the open (reserving, owing) orders from this small index
        # alone; SQLite uses it only for the condition written out (``storage.stage_sql.live``) (migration 0013)
        Index("ix_orders_owing", "state", "payment_terms", "confirmed_at", "line_progress", "no", "owner_id",
              "amount", "paid_amount", "written_off", sqlite_where=text(LIVE_SQL), postgresql_where=text(LIVE_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    no: Mapped[int] = mapped_column(Integer, unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    state: Mapped[str] = mapped_column(String(20), default="DRAFT")
    #: NONE / STARTED / FINISHED; the stage is computed from this and the shipped/paid amounts
    production: Mapped[str] = mapped_column(String(10), default="NONE")
    due_date: Mapped[date | None] = mapped_column(Date)
    payment_terms: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(128))
    amount: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    paid_amount: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    written_off: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    #: the content version: 1 at creation, +1 for every applied change request
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: optimistic lock: bumped by every UPDATE; a stale writer fails
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)
    approval_round: Mapped[int] = mapped_column(Integer, default=0)
    state_reason: Mapped[str | None] = mapped_column(Text)
    #: the 订单号 of an order imported from another system (re-importing the same file matches on it)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    origin_platform: Mapped[str] = mapped_column(String(16))
    origin_chat_id: Mapped[str] = mapped_column(String(128))
    origin_chat_type: Mapped[str] = mapped_column(String(8), default="group")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    #: the lines' progress (``storage.stage_sql.progress``), kept by triggers on ``order_lines``
    #: (migration 0011): SQL reads it; the ORM neither loads nor writes it
    line_progress: Unmapped[int | None] = unmapped_column(SmallInteger)

    lines: Mapped[list[OrderLine]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="OrderLine.line_no", back_populates="order"
    )
    customer: Mapped[Customer | None] = relationship(lazy="selectin")
    owner: Mapped[Person] = relationship(lazy="selectin")

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012  (SQLAlchemy reads a plain class dict)

    @property
    def balance(self) -> Decimal:
        """What is still to be collected."""
        return self.amount - self.paid_amount - self.written_off


class LineFigures:
    """What a line's quantity, price and shipped quantity give: shared by ``OrderLine`` and the plain
    line objects of the hot reads (the ``/查单`` card, the export)."""

    __slots__ = ()
    if TYPE_CHECKING:  # given by the subclasses (mapped columns, dataclass fields); no class annotations here,
        # which the declarative mapping would read as columns
        qty: Decimal
        unit_price: Decimal | None
        shipped_qty: Decimal

    @property
    def line_amount(self) -> Decimal:
        """qty × price (zero while unpriced), rounded to cents."""
        if self.unit_price is None:
            return ZERO
        return (self.qty * self.unit_price).quantize(Decimal("0.01"))

    @property
    def remaining(self) -> Decimal:
        """Quantity still to ship."""
        return self.qty - self.shipped_qty


class OrderLine(LineFigures, Base):
    """One product line of an order."""

    __tablename__ = "order_lines"
    # by order, with what the stage and the reservations read (storage/stage_sql.py; migration 0009)
    __table_args__ = (Index("ix_order_lines_progress", "order_id", "qty", "shipped_qty", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    #: indexed: a product's reservation sums its open lines (storage/services/purchasing.py)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128), default="")
    qty: Mapped[Decimal] = mapped_column(Qty())
    unit: Mapped[str | None] = mapped_column(String(16))
    #: None while the order is a draft without a price for this line
    unit_price: Mapped[Decimal | None] = mapped_column(Money())
    shipped_qty: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(0))
    #: the product's floor price when the line was priced (None: no floor)
    floor_price: Mapped[Decimal | None] = mapped_column(Money())

    order: Mapped[Order] = relationship(back_populates="lines")


class OrderStateCount(Base):
    """How many orders are in each finished state, kept by triggers on ``orders`` (migration 0011).

    The kanban's footer reads three rows instead of counting ~900,000 orders; only the finished
    states are counted, so creating and moving open orders never touches these rows."""

    __tablename__ = "order_state_counts"

    state: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, nullable=False)


class Approval(Base):
    """One step of an approval chain (for an order submission or a change request)."""

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_status", "status", "activated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    change_request_id: Mapped[int | None] = mapped_column(ForeignKey("change_requests.id"))
    round: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    #: why this step is needed: amount≥T1, amount≥T2, price below floor, over credit
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: WAITING (a later step) → PENDING (active) → APPROVED / REJECTED / CANCELLED
    status: Mapped[str] = mapped_column(String(12), default=ApprovalStatus.WAITING.value)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    decider: Mapped[Person | None] = relationship(lazy="selectin")


class ChangeRequest(Base):
    """A requested change of a confirmed order, with the full before/after."""

    __tablename__ = "change_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    #: PENDING → APPLIED / REJECTED / WITHDRAWN
    status: Mapped[str] = mapped_column(String(12), default=ChangeStatus.PENDING.value)
    requested_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    from_version: Mapped[int] = mapped_column(Integer)
    #: [{"field": "交期", "before": "2026-12-15", "after": "2026-12-20"}, …]
    diff: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OrderVersion(Base):
    """A full snapshot of an order's content at one version."""

    __tablename__ = "order_versions"
    __table_args__ = (UniqueConstraint("order_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    change_request_id: Mapped[int | None] = mapped_column(ForeignKey("change_requests.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


__all__ = ["Approval", "ChangeRequest", "Order", "OrderLine", "OrderVersion", "Qty"]
