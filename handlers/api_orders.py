"""``POST /api/v1/orders``: a shop or ERP creates an order exactly as ``/下单`` would.

``bot/api.py`` may not import handlers, so the composition root hands it :func:`creator`'s
callable. The body is checked field by field (every problem is listed, nothing is written),
then the order goes through the same steps as ``/下单``: ``resolve_fields`` (customer and
products matched, a new customer filed), ``orders.create`` (draft or submitted, approval
chain), and ``notify.dispatch_events`` (subscribed groups, approval cards to 主管/老板). It is
processed as if the owner had typed ``/下单`` in their 1:1 chat with the bot: the owner gets the
reply there, and the order's later notices go there too. The audit trail says ``source=api``.

Idempotency: ``external_ref`` is unique on orders; a repeated one answers the order it made.
The request does not pass through the inbox: an HTTP client retries with the same
``external_ref``, and a replayed inbox event could not rebuild a JSON body anyway.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.commands import normalize, parse_command
from bot.context import Context, PersonInfo
from bot.dispatch import Dispatcher
from bot.errors import UserError
from bot.events import Actor, ChatMessage, ChatRef
from handlers import args
from handlers.args.numbers import unit_of
from handlers.common import refusing, resolve_fields
from handlers.notify import dispatch_events
from handlers.texts import api_orders as t
from handlers.texts import orders as ot
from storage.db import Database
from storage.domain_events import Submitted
from storage.models import Order, Person
from storage.services import orders as svc
from storage.vocab import Role

#: body → (HTTP status, body): 201/200 ``{"no": n}``, or 400 ``{"error", "details"}``
OrderCreator = Callable[[bytes], Awaitable[tuple[int, dict[str, Any]]]]
MAX_LINES = 200
ORDER_WORDS = ("下单", "开单", "新订单", "order")
_FIELDS = ("customer", "lines", "due_date", "note", "payment_terms", "address", "contact")
_KEYS = frozenset({*_FIELDS, "owner", "external_ref", "text"})
_LINE_KEYS = frozenset({"sku", "qty", "unit", "unit_price"})
#: column sizes (PostgreSQL refuses longer values; SQLite would keep them)
_LIMITS = {"customer": 128, "payment_terms": 64, "contact": 128, "external_ref": 64, "owner": 150, "sku": 64,
           "note": 2000, "address": 500, "text": 5000, "due_date": 40, "unit": 16}


class Invalid(Exception):
    """The body is refused; ``details`` names each field and what is wrong with it."""

    def __init__(self, details: list[dict[str, Any]]) -> None:
        super().__init__(details)
        self.details = details


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, field: str, message: str) -> None:
        self.items.append({"field": field, "message": message})

    def check(self) -> None:
        if self.items:
            raise Invalid(self.items)


@dataclass(frozen=True)
class _Request:
    owner: str
    ref: str | None
    text: str | None


def creator(dispatcher: Dispatcher) -> OrderCreator:
    """The callable ``bot/api.py`` calls with the raw request body."""

    async def create(raw: bytes) -> tuple[int, dict[str, Any]]:
        try:
            return await _create(dispatcher, raw)
        except Invalid as exc:
            return 400, {"error": t.INVALID, "details": exc.details}
        except UserError as exc:  # a refusal of the order itself (ambiguous customer, too large …)
            return 400, {"error": f"{t.REFUSED}：{exc.text}", "details": [{"field": None, "message": exc.text}]}

    return create


async def _create(dispatcher: Dispatcher, raw: bytes) -> tuple[int, dict[str, Any]]:
    body = _decode(raw)
    req = _request(body)
    if req.ref and (no := await _existing(dispatcher.db, req.ref)) is not None:
        return 200, {"no": no}
    owner = await _owner(dispatcher.db, req.owner)
    today = dispatcher.clock().astimezone(dispatcher.settings.tz).date()
    fields = _from_text(req.text, today) if req.text is not None else _from_body(body, today)
    try:
        no = await _store(dispatcher, owner, req.ref, fields)
    except IntegrityError:
        # the same external_ref was created by a concurrent request in the meantime
        if req.ref and (no := await _existing(dispatcher.db, req.ref)) is not None:
            return 200, {"no": no}
        raise
    return 201, {"no": no}


def _decode(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Invalid([{"field": None, "message": t.NOT_JSON}]) from None
    if not isinstance(body, dict):
        raise Invalid([{"field": None, "message": t.NOT_JSON}])
    return body


def _request(body: dict[str, Any]) -> _Request:
    errs = _Errors()
    for key in sorted(set(body) - _KEYS):
        errs.add(key, t.UNKNOWN_FIELD)
    owner = _required(body.get("owner"), "owner", errs, fold=False)
    ref = _str(body.get("external_ref"), "external_ref", errs, fold=False)
    text = _str(body.get("text"), "text", errs, fold=False)
    given = [f for f in _FIELDS if body.get(f) is not None]
    if text is not None and given:
        errs.add("text", t.TEXT_AND_FIELDS.format(fields="、".join(given)))
    errs.check()
    assert owner is not None
    return _Request(owner, ref, text)


def _str(value: Any, field: str, errs: _Errors, *, fold: bool = True) -> str | None:
    """A string field: None or blank is "not given"; folded like chat text unless ``fold`` is off."""
    if value is None:
        return None
    if not isinstance(value, str):
        errs.add(field, t.NOT_TEXT)
        return None
    text = normalize(value) if fold else value.strip()
    limit = _LIMITS.get(field.rsplit(".", 1)[-1], 2000)
    if len(text) > limit:
        errs.add(field, t.TOO_LONG.format(n=limit))
        return None
    return text or None


def _required(value: Any, field: str, errs: _Errors, *, fold: bool = True) -> str | None:
    """Like :func:`_str`, and a missing or blank value is an error too."""
    before = len(errs.items)
    text = _str(value, field, errs, fold=fold)
    if text is None and len(errs.items) == before:
        errs.add(field, t.EMPTY)
    return text


async def _existing(db: Database, ref: str) -> int | None:
    async with db.uow() as uow:
        found: int | None = (await uow.session.execute(
            select(Order.no).where(Order.external_ref == ref))).scalar_one_or_none()
    return found


async def _owner(db: Database, spec: str) -> PersonInfo:
    platform, sep, user_id = spec.partition(":")
    if not (sep and platform and user_id):
        raise Invalid([{"field": "owner", "message": t.OWNER_FORMAT}])
    async with db.uow() as uow:
        person = (await uow.session.execute(select(Person).where(
            Person.platform == platform, Person.user_id == user_id))).scalar_one_or_none()
        if person is None or not person.active:
            raise Invalid([{"field": "owner", "message": t.OWNER_UNKNOWN.format(owner=spec)}])
        if Role.SALES not in person.role_names:
            raise Invalid([{"field": "owner", "message": t.OWNER_NOT_SALES.format(name=person.label)}])
        return PersonInfo(person.id, person.platform, person.user_id, person.label, person.role_names)


def _from_text(text: str, today: date) -> args.OrderFields:
    """``text``: what follows ``/下单`` (the command word itself may be included)."""
    cmd = parse_command(text, ORDER_WORDS)
    if cmd is not None and cmd.name.lower() not in ORDER_WORDS:
        raise Invalid([{"field": "text", "message": t.NOT_ORDER_TEXT.format(name=cmd.name)}])
    try:
        return args.parse_new_order(cmd.args if cmd is not None else normalize(text), today)
    except args.ArgError as err:
        raise Invalid([{"field": "text", "message": err.reason}]) from None


def _from_body(body: dict[str, Any], today: date) -> args.OrderFields:
    errs = _Errors()
    customer = _str(body.get("customer"), "customer", errs)
    lines = _lines(body.get("lines"), errs)
    due = None
    raw_due = _str(body.get("due_date"), "due_date", errs)
    if raw_due is not None:
        try:
            due = args.parse_date(raw_due, today)
        except args.ArgError as err:
            errs.add("due_date", err.reason)
    texts = {f: _str(body.get(f), f, errs) for f in ("note", "payment_terms", "address", "contact")}
    errs.check()
    if customer is None and not lines:
        raise Invalid([{"field": "customer", "message": t.ORDER_EMPTY}])
    return args.OrderFields(customer=customer, lines=tuple(lines), due_date=due, note=texts["note"],
                            payment_terms=texts["payment_terms"], address=texts["address"],
                            contact=texts["contact"])


def _lines(value: Any, errs: _Errors) -> list[args.LineArg]:
    if value is None:
        return []
    if not isinstance(value, list):
        errs.add("lines", t.NOT_LIST)
        return []
    if len(value) > MAX_LINES:
        errs.add("lines", t.TOO_MANY_LINES.format(n=MAX_LINES))
        return []
    return [line for i, item in enumerate(value) if (line := _line(item, f"lines[{i}]", errs)) is not None]


def _line(item: Any, where: str, errs: _Errors) -> args.LineArg | None:
    if not isinstance(item, dict):
        errs.add(where, t.NOT_OBJECT)
        return None
    before = len(errs.items)
    for key in sorted(set(item) - _LINE_KEYS):
        errs.add(f"{where}.{key}", t.UNKNOWN_FIELD)
    sku = _required(item.get("sku"), f"{where}.sku", errs)
    qty, qty_unit = _number(item.get("qty"), f"{where}.qty", errs, money=False)
    unit = _str(item.get("unit"), f"{where}.unit", errs)
    if unit is not None and unit_of(unit) is None:
        errs.add(f"{where}.unit", t.UNKNOWN_UNIT.format(unit=unit))
    elif unit is not None and qty_unit is not None and unit_of(unit) != qty_unit:
        errs.add(f"{where}.unit", t.UNIT_CONFLICT.format(given=qty_unit, unit=unit))
    price, _ = _number(item.get("unit_price"), f"{where}.unit_price", errs, money=True)
    if len(errs.items) > before or sku is None or qty is None:
        return None
    return args.LineArg(product=sku, qty=qty, unit=unit_of(unit) if unit else qty_unit, unit_price=price)


def _number(value: Any, field: str, errs: _Errors, *, money: bool) -> tuple[Decimal | None, str | None]:
    """A quantity (with an optional glued unit) or a unit price; numbers as in chat (``20台``, ``1.5万``, ``¥300``)."""
    if value is None:
        if not money:
            errs.add(field, t.EMPTY)
        return None, None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        errs.add(field, t.NOT_QTY_OR_TEXT)
        return None, None
    try:
        amount, unit = (args.parse_money(str(value)), None) if money else args.parse_qty(str(value))
    except args.ArgError as err:
        errs.add(field, err.reason)
        return None, None
    if amount <= 0:
        errs.add(field, t.PRICE_NOT_POSITIVE if money else t.QTY_NOT_POSITIVE)
        return None, None
    return amount, unit


async def _store(dispatcher: Dispatcher, owner: PersonInfo, ref: str | None, fields: args.OrderFields) -> int:
    """Create the order as the owner's ``/下单`` in their 1:1 chat would, with ``source=api``."""
    event_id = f"api:{ref}" if ref else f"api:{uuid.uuid4().hex}"
    chat = ChatRef(owner.platform, owner.user_id, "single")
    inbound = ChatMessage(platform=owner.platform, event_id=event_id, chat=chat,
                          actor=Actor(owner.platform, owner.user_id, owner.name), text="")
    # an API request has no inbox row (idempotence is by external_ref): nothing to mark done
    ctx = Context(inbound=inbound, person=owner, settings=dispatcher.settings, db=dispatcher.db,
                  clock=dispatcher.clock, dispatcher=dispatcher, inbox_done=True)
    # the request came from no chat: the audit names the API and the caller's reference
    prov = replace(ctx.prov, chat_platform=None, chat_id=None, source="api", source_ref=ref or event_id)
    async with ctx.uow() as uow:
        resolved = await resolve_fields(uow, fields, owner.id)
        origin = svc.Origin(owner.platform, owner.user_id, "single")
        with refusing(None):
            order, events = await svc.create(uow, prov, resolved.data, origin, ctx.rules, ctx.now())
        order.external_ref = ref
        await uow.session.flush()
        await dispatch_events(ctx, uow, order, events)
        ctx.reply(t.via_api(ref) + "\n" + ot.created(order, resolved.new_customer, resolved.free_lines, None,
                                                      next((e for e in events if isinstance(e, Submitted)), None)))
        return order.no
