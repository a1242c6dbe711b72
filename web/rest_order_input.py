"""The request body of ``POST /api/v1/orders`` as pydantic models, checked by the chat's own parsers.

The fields and their limits come from ``handlers/args/order_fields.py`` (the one field list of an
order); quantities, prices and dates go through ``handlers.args`` exactly as ``/下单``'s words do,
strings are folded like chat text (``bot.commands.normalize``). A body is checked in two steps, so
that a retry with a known ``external_ref`` gets its order whatever the body says now:
:class:`OrderEnvelope` (who, which reference, text or fields, no unknown keys), then, inside the
transaction, :class:`NewOrder` (every field; ``context={"today": date}`` for relative dates).
Every problem becomes ``{"field": "lines[0].qty", "message": <Chinese>}`` (:func:`details`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

import handlers.args as args
from bot.commands import normalize, parse_command
from handlers.args.numbers import unit_of
from handlers.args.order_fields import (
    EXTERNAL_REF_MAX,
    MAX_LINES,
    NEW_ORDER_WORDS,
    OWNER_MAX,
    TEXT_MAX,
    order_field,
)
from handlers.texts import api_orders as t


def _problem(message: str, on: str | None = None) -> PydanticCustomError:
    """A refusal worded for the caller; ``on`` names a field of the model when the check spans several."""
    return PydanticCustomError("order_input", "{message}", {"message": message, "on": on})


def _fold(value: Any) -> Any:
    # null for a required string is "empty", as a blank one is
    return "" if value is None else normalize(value) if isinstance(value, str) else value


def _strip(value: Any) -> Any:
    return "" if value is None else value.strip() if isinstance(value, str) else value


def _blank_is_none(value: str | None) -> str | None:
    return value or None


def _required(value: str | None) -> str:
    if not value:
        raise _problem(t.EMPTY)
    return value


def _limit(name: str) -> Any:
    spec = order_field(name)
    return Field(max_length=spec.max_length, title=spec.label)


#: a string folded like chat text; blank (or null) is "not given"
Folded = BeforeValidator(lambda v: None if v is None else _fold(v))
Given = AfterValidator(_blank_is_none)
SkuIn = Annotated[str, _limit("sku"), BeforeValidator(_fold), AfterValidator(_required)]
UnitIn = Annotated[str | None, _limit("unit"), Folded, Given]
CustomerIn = Annotated[str | None, _limit("customer"), Folded, Given]
DueIn = Annotated[str | None, _limit("due_date"), Field(examples=list(t.DOC_DUE_EXAMPLES)), Folded, Given]
NoteIn = Annotated[str | None, _limit("note"), Folded, Given]
TermsIn = Annotated[str | None, _limit("payment_terms"), Folded, Given]
AddressIn = Annotated[str | None, _limit("address"), Folded, Given]
ContactIn = Annotated[str | None, _limit("contact"), Folded, Given]


class Quantity(NamedTuple):
    """A quantity and the unit glued to it (``20台``)."""

    amount: Decimal
    unit: str | None


def _number(value: Any, *, money: bool) -> tuple[Decimal, str | None]:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _problem(t.NOT_QTY_OR_TEXT)
    try:
        amount, unit = (args.parse_money(str(value)), None) if money else args.parse_qty(str(value))
    except args.ArgError as err:
        raise _problem(err.reason) from None
    if amount <= 0:
        raise _problem(t.PRICE_NOT_POSITIVE if money else t.QTY_NOT_POSITIVE)
    return amount, unit


def _qty(value: Any) -> Quantity:
    if value is None:
        raise _problem(t.EMPTY)
    return Quantity(*_number(value, money=False))


def _price(value: Any) -> Decimal | None:
    return None if value is None else _number(value, money=True)[0]


_QTY_SCHEMA = {"type": ["string", "number"], "description": t.DOC_QTY}
_PRICE_SCHEMA = {"type": ["string", "number"], "description": t.DOC_PRICE}
#: a :class:`Quantity` (typed Any so that the schema is the input's, not the tuple's)
QtyIn = Annotated[Any, PlainValidator(_qty), WithJsonSchema(_QTY_SCHEMA)]
PriceIn = Annotated[Decimal | None, PlainValidator(_price), WithJsonSchema(_PRICE_SCHEMA)]


class NewOrderLine(BaseModel):
    """One product line: ``sku`` (matched against the catalogue as in chat), ``qty``, ``unit``, ``unit_price``."""

    model_config = ConfigDict(extra="forbid")

    sku: SkuIn
    qty: QtyIn
    unit: UnitIn = None
    unit_price: PriceIn = None

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, unit: str | None) -> str | None:
        if unit is not None and unit_of(unit) is None:
            raise _problem(t.UNKNOWN_UNIT.format(unit=unit))
        return unit

    @model_validator(mode="after")
    def _same_unit(self) -> NewOrderLine:
        given: Quantity = self.qty
        if self.unit is not None and given.unit is not None and unit_of(self.unit) != given.unit:
            raise _problem(t.UNIT_CONFLICT.format(given=given.unit, unit=self.unit), on="unit")
        return self

    def line(self) -> args.LineArg:
        """The line as ``/下单`` would have read it."""
        given: Quantity = self.qty
        unit = unit_of(self.unit) if self.unit else given.unit
        return args.LineArg(product=self.sku, qty=given.amount, unit=unit, unit_price=self.unit_price)


Owner = Annotated[str, Field(max_length=OWNER_MAX, description=t.DOC_OWNER),
                  BeforeValidator(_strip), AfterValidator(_required)]
ExternalRef = Annotated[str | None, Field(max_length=EXTERNAL_REF_MAX, description="idempotency key (unique)"),
                        BeforeValidator(_strip), AfterValidator(_blank_is_none)]
OrderText = Annotated[str | None, Field(max_length=TEXT_MAX, description=t.DOC_TEXT, examples=[t.DOC_TEXT_EXAMPLE]),
                      BeforeValidator(_strip), AfterValidator(_blank_is_none)]


class OrderEnvelope(BaseModel):
    """The first look at a body: who, which reference, text or fields (the fields are checked later)."""

    model_config = ConfigDict(extra="forbid")

    owner: Owner
    external_ref: ExternalRef = None
    text: OrderText = None
    customer: Any = None
    lines: Any = None
    due_date: Any = None
    note: Any = None
    payment_terms: Any = None
    address: Any = None
    contact: Any = None

    @model_validator(mode="after")
    def _text_or_fields(self) -> OrderEnvelope:
        given = [f for f in FIELDS if getattr(self, f) is not None]
        if self.text is not None and given:
            raise _problem(t.TEXT_AND_FIELDS.format(fields="、".join(given)), on="text")
        return self


#: the order's own fields (not who, not the reference, not the text), in the order their problems are listed
FIELDS = tuple(name for name in OrderEnvelope.model_fields if name not in ("owner", "external_ref", "text"))


class NewOrder(BaseModel):
    """``POST /api/v1/orders``: either the fields or ``text`` (what follows ``/下单``), not both."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"description": t.DOC_BODY})

    owner: Owner
    external_ref: ExternalRef = None
    text: OrderText = None
    customer: CustomerIn = None
    lines: Annotated[list[NewOrderLine] | None, Field(max_length=MAX_LINES)] = None
    due_date: DueIn = None
    note: NoteIn = None
    payment_terms: TermsIn = None
    address: AddressIn = None
    contact: ContactIn = None
    _due: date | None = PrivateAttr(default=None)
    _parsed: args.OrderFields | None = PrivateAttr(default=None)

    @field_validator("due_date")
    @classmethod
    def _date(cls, raw: str | None, info: ValidationInfo) -> str | None:
        if raw is not None:
            try:
                args.parse_date(raw, _today(info))
            except args.ArgError as err:
                raise _problem(err.reason) from None
        return raw

    @model_validator(mode="after")
    def _order(self, info: ValidationInfo) -> NewOrder:
        today = _today(info)
        if self.text is not None:
            cmd = parse_command(self.text, NEW_ORDER_WORDS)
            if cmd is not None and cmd.name.lower() not in NEW_ORDER_WORDS:
                raise _problem(t.NOT_ORDER_TEXT.format(name=cmd.name), on="text")
            try:
                self._parsed = args.parse_new_order(cmd.args if cmd is not None else normalize(self.text), today)
            except args.ArgError as err:
                raise _problem(err.reason, on="text") from None
        elif self.customer is None and not self.lines:
            raise _problem(t.ORDER_EMPTY, on="customer")
        self._due = args.parse_date(self.due_date, today) if self.due_date is not None else None
        return self

    def order_fields(self) -> args.OrderFields:
        """What ``/下单`` would have read: from ``text``, or from the fields."""
        if self._parsed is not None:
            return self._parsed
        return args.OrderFields(customer=self.customer, lines=tuple(ln.line() for ln in self.lines or ()),
                                due_date=self._due, note=self.note, payment_terms=self.payment_terms,
                                address=self.address, contact=self.contact)


def _today(info: ValidationInfo) -> date:
    context = info.context or {}
    today = context.get("today")
    if not isinstance(today, date):
        raise TypeError("validate NewOrder with context={'today': date}")
    return today


# ---- problems as the API reports them --------------------------------------------------------------
_MESSAGES = {"extra_forbidden": t.UNKNOWN_FIELD, "string_type": t.NOT_TEXT, "missing": t.EMPTY,
             "list_type": t.NOT_LIST, "model_type": t.NOT_OBJECT, "model_attributes_type": t.NOT_OBJECT}


def _where(loc: tuple[str | int, ...]) -> str | None:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or None


def details(exc: ValidationError, *, unknown_first: bool = False) -> list[dict[str, Any]]:
    """Each problem as ``{"field", "message"}``: field names as in the body, messages in Chinese."""
    found = []
    for err in exc.errors():
        ctx = err.get("ctx") or {}
        loc = tuple(err["loc"]) + ((ctx["on"],) if ctx.get("on") else ())
        kind = err["type"]
        if kind == "order_input":
            message = str(ctx["message"])
        elif kind == "string_too_long":
            message = t.TOO_LONG.format(n=ctx["max_length"])
        elif kind == "too_long":
            message = t.TOO_MANY_LINES.format(n=ctx["max_length"])
        else:
            message = _MESSAGES.get(kind, err["msg"])
        found.append({"field": _where(loc), "message": message})
    if unknown_first:  # the envelope's: a misspelt key explains most of what follows
        found.sort(key=lambda d: (d["message"] != t.UNKNOWN_FIELD, d["field"] if d["message"] == t.UNKNOWN_FIELD
                                  else ""))
    return found
