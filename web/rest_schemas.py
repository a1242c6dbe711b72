"""Every JSON object the REST API answers, as pydantic models, and how each is built from storage's rows.

The OpenAPI document (``web/rest_openapi.py``) is generated from these models, so what the
document says is what the handlers send. Amounts are decimal strings with two places, quantities
plain decimal strings, dates ISO, timestamps ISO with the business time zone's offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from handlers.texts import api_orders as t
from storage import lifecycle
from storage import models as rows
from storage.services import purchasing
from storage.services.quotes import expired
from storage.vocab import (
    QUOTE_EXPIRED_LABEL,
    QUOTE_STATUS_LABELS,
    STAGE_LABELS,
    STATE_LABELS,
    PurchaseStatus,
    QuoteStatus,
    Stage,
    State,
)

CENT = Decimal("0.01")
#: the quote ``status`` filter and field also know EXPIRED: an open quote past its last valid day
QUOTE_FILTERS = (*(s.value for s in QuoteStatus), "EXPIRED")
PURCHASE_STATUSES = (PurchaseStatus.OPEN, PurchaseStatus.RECEIVED)

Money = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", examples=["1200.40"])]
Qty = Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?$", examples=["20"])]
Day = Annotated[str, Field(json_schema_extra={"format": "date"})]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


def _enum(values: Sequence[str | None]) -> Any:
    return Field(json_schema_extra={"enum": list(values)})


class Out(BaseModel):
    """A response object: exactly these keys."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def dump(self) -> dict[str, Any]:
        """The JSON body."""
        return self.model_dump(mode="json", by_alias=True)


class Error(Out):
    """``{"error": …}``: a bad parameter (400), an unknown id (404), a refused token (401/403)."""

    error: str


class Problem(Out):
    """One problem of a refused body: the field as named in the body (null: the body as a whole)."""

    field: str | None
    message: str


class Invalid(Out):
    """``POST /orders`` refused (400): every problem at once; nothing was written."""

    error: str = Field(examples=[t.INVALID])
    details: list[Problem]


class CustomerRef(Out):
    id: int
    name: str


class PersonRef(Out):
    platform: str
    user_id: str
    name: str


class OrderLine(Out):
    sku: str
    name: str
    qty: Qty
    unit: str | None
    unit_price: Money | None
    shipped_qty: Qty


class OrderOut(Out):
    """The interface's ``Order`` (named apart from the table class it is built from)."""

    model_config = ConfigDict(title="Order")

    no: int
    state: Annotated[str, _enum([s.value for s in State])]
    state_label: str
    stage: Annotated[str | None, _enum([*(s.value for s in Stage), None])]
    stage_label: str | None
    customer: CustomerRef | None
    owner: PersonRef
    lines: list[OrderLine]
    amount: Money
    paid_amount: Money
    balance: Money
    due_date: Day | None
    payment_terms: str | None
    note: str | None
    #: what a draft still needs (``unit_price``, ``due_date`` …)
    missing: list[str]
    version: int
    created_at: Timestamp
    updated_at: Timestamp


class Paged(Out):
    total: int
    page: int
    size: int


class OrderPage(Paged):
    items: list[OrderOut]


class Who(Out):
    platform: str | None
    user_id: str | None
    name: str | None
    roles: Any


class Chat(Out):
    platform: str | None
    chat_id: str


class Event(Out):
    """One entry of an order's audit trail."""

    id: int
    at: Timestamp
    action: str
    summary: str
    who: Who
    chat: Chat | None
    source: str
    source_ref: str | None
    order_version: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class EventList(Out):
    items: list[Event]


class QuoteLine(Out):
    sku: str
    name: str
    qty: Qty
    unit: str | None
    unit_price: Money


class Quote(Out):
    """The interface's ``Quote`` (shown as ``Q<no>``; numbered apart from orders)."""

    no: int
    status: Annotated[str, _enum(QUOTE_FILTERS)]
    status_label: str
    customer: CustomerRef
    owner: PersonRef
    lines: list[QuoteLine]
    amount: Money
    valid_until: Day
    due_date: Day | None
    payment_terms: str | None
    note: str | None
    warnings: list[Annotated[str, _enum(["below_floor", "over_credit"])]]
    #: the order it became
    order_id: int | None
    created_at: Timestamp


class QuotePage(Paged):
    items: list[Quote]


class Purchase(Out):
    """The interface's ``Purchase`` (shown as ``P<no>``)."""

    no: int
    status: Annotated[str, _enum(PURCHASE_STATUSES)]
    sku: str
    qty: Qty
    received_qty: Qty
    supplier: str | None
    expected_date: Day | None
    created_at: Timestamp
    received_at: Timestamp | None


class PurchasePage(Paged):
    items: list[Purchase]


class Shortage(Out):
    """A catalogue product short of what confirmed orders reserve; ``orders``: those not covered."""

    sku: str
    unit: str | None
    on_hand: Qty
    reserved: Qty
    on_order: Qty
    short: Qty
    orders: list[int]


class ShortageList(Out):
    items: list[Shortage]


def answer(model: Out, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A model as the JSON answer."""
    return web.json_response(model.dump(), status=status, headers=headers)


def error(status: int, message: str) -> web.Response:
    """``{"error": message}``."""
    return answer(Error(error=message), status)


def dec(value: Decimal) -> str:
    """Money: two places."""
    return str(value.quantize(CENT))


def qty(value: Decimal) -> str:
    """A quantity without trailing zeros."""
    return f"{value.normalize():f}"


def _at(value: datetime, tz: tzinfo) -> str:
    return value.astimezone(tz).isoformat()


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def order_out(order: rows.Order, tz: tzinfo) -> OrderOut:
    """The interface's ``Order`` of a row."""
    stage = lifecycle.stage(order)
    return OrderOut(
        no=order.no, state=order.state, state_label=STATE_LABELS.get(order.state, order.state),
        stage=stage.value if stage else None, stage_label=STAGE_LABELS[stage] if stage else None,
        customer=CustomerRef(id=order.customer.id, name=order.customer.name) if order.customer else None,
        owner=PersonRef(platform=order.owner.platform, user_id=order.owner.user_id, name=order.owner.name),
        lines=[OrderLine(sku=ln.sku, name=ln.name, qty=qty(ln.qty), unit=ln.unit,
                            unit_price=dec(ln.unit_price) if ln.unit_price is not None else None,
                            shipped_qty=qty(ln.shipped_qty)) for ln in order.lines],
        amount=dec(order.amount), paid_amount=dec(order.paid_amount), balance=dec(lifecycle.balance(order)),
        due_date=_day(order.due_date), payment_terms=order.payment_terms, note=order.note,
        missing=lifecycle.missing(order), version=order.version,
        created_at=_at(order.created_at, tz), updated_at=_at(order.updated_at, tz))


def order_json(order: rows.Order, tz: tzinfo) -> dict[str, Any]:
    """The ``Order`` as a JSON body."""
    return order_out(order, tz).dump()


def event_out(ev: rows.AuditEvent, tz: tzinfo) -> Event:
    """One audit event."""
    return Event(
        id=ev.id, at=_at(ev.at, tz), action=ev.action, summary=ev.summary,
        who=Who(platform=ev.actor_platform, user_id=ev.actor_user_id, name=ev.actor_name, roles=ev.actor_roles),
        chat=Chat(platform=ev.chat_platform, chat_id=ev.chat_id) if ev.chat_id else None,
        source=ev.source, source_ref=ev.source_ref, order_version=ev.order_version, before=ev.before,
        after=ev.after)


def quote_out(q: rows.Quote, today: date, tz: tzinfo) -> Quote:
    """The interface's ``Quote``."""
    lapsed = expired(q, today)
    return Quote(
        no=q.no, status="EXPIRED" if lapsed else q.status,
        status_label=QUOTE_EXPIRED_LABEL if lapsed else QUOTE_STATUS_LABELS.get(q.status, q.status),
        customer=CustomerRef(id=q.customer.id, name=q.customer.name),
        owner=PersonRef(platform=q.owner.platform, user_id=q.owner.user_id, name=q.owner.name),
        lines=[QuoteLine(sku=ln.sku, name=ln.name, qty=qty(ln.qty), unit=ln.unit, unit_price=dec(ln.unit_price))
               for ln in q.lines],
        amount=dec(q.amount), valid_until=q.valid_until.isoformat(), due_date=_day(q.due_date),
        payment_terms=q.payment_terms, note=q.note, warnings=list(q.warnings), order_id=q.order_id,
        created_at=_at(q.created_at, tz))


def purchase_out(p: rows.Purchase, tz: tzinfo) -> Purchase:
    """The interface's ``Purchase``."""
    return Purchase(
        no=p.no, status=p.status, sku=p.product.sku, qty=qty(p.qty), received_qty=qty(p.received_qty),
        supplier=p.supplier, expected_date=_day(p.expected_date), created_at=_at(p.created_at, tz),
        received_at=_at(p.received_at, tz) if p.received_at else None)


def shortage_out(s: purchasing.Shortage) -> Shortage:
    """One shortage."""
    return Shortage(sku=s.sku, unit=s.unit, on_hand=qty(s.on_hand), reserved=qty(s.reserved),
                       on_order=qty(s.on_order), short=qty(s.short), orders=[w.order_no for w in s.waiting])
