"""REST API ``/api/v1``: orders (read, and create as ``/下单`` does: ``web/rest_order_create.py``), their
audit timeline, the money side (``web/rest_reports.py``: customers, statements, sales) and the quotes side
(``web/rest_quotes.py``), behind a bearer token."""

from __future__ import annotations

import hmac
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from bot.dispatch import Dispatcher
from storage import lifecycle
from storage.models import AuditEvent, Customer, Order, OrderLine, Person
from storage.vocab import STAGE_LABELS, STATE_LABELS, Stage, State
from web import rest_order_create, rest_quotes, rest_reports

PREFIX = "/api/v1"
CENT = Decimal("0.01")


def _dec(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}"


def order_json(order: Order, tz: Any) -> dict[str, Any]:
    """The interface's ``Order`` object."""
    stage = lifecycle.stage(order)
    return {
        "no": order.no,
        "state": order.state,
        "state_label": STATE_LABELS.get(order.state, order.state),
        "stage": stage.value if stage else None,
        "stage_label": STAGE_LABELS[stage] if stage else None,
        "customer": {"id": order.customer.id, "name": order.customer.name} if order.customer else None,
        "owner": {"platform": order.owner.platform, "user_id": order.owner.user_id, "name": order.owner.name},
        "lines": [{"sku": ln.sku, "name": ln.name, "qty": _qty(ln.qty), "unit": ln.unit,
                   "unit_price": _dec(ln.unit_price) if ln.unit_price is not None else None,
                   "shipped_qty": _qty(ln.shipped_qty)} for ln in order.lines],
        "amount": _dec(order.amount),
        "paid_amount": _dec(order.paid_amount),
        "balance": _dec(lifecycle.balance(order)),
        "due_date": order.due_date.isoformat() if order.due_date else None,
        "payment_terms": order.payment_terms,
        "note": order.note,
        "missing": lifecycle.missing(order),
        "version": order.version,
        "created_at": order.created_at.astimezone(tz).isoformat(),
        "updated_at": order.updated_at.astimezone(tz).isoformat(),
    }


def event_json(ev: AuditEvent, tz: Any) -> dict[str, Any]:
    """One audit event."""
    return {
        "id": ev.id, "at": ev.at.astimezone(tz).isoformat(), "action": ev.action, "summary": ev.summary,
        "who": {"platform": ev.actor_platform, "user_id": ev.actor_user_id, "name": ev.actor_name,
                "roles": ev.actor_roles},
        "chat": {"platform": ev.chat_platform, "chat_id": ev.chat_id} if ev.chat_id else None,
        "source": ev.source, "source_ref": ev.source_ref, "order_version": ev.order_version,
        "before": ev.before, "after": ev.after,
    }


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def setup_routes(app: web.Application, dispatcher: Dispatcher) -> None:
    """Register the API routes and the OpenAPI document."""
    db, settings, clock = dispatcher.db, dispatcher.settings, dispatcher.clock
    create_order = rest_order_create.creator(dispatcher)
    token = settings.api_token.get_secret_value()
    tz = settings.tz

    @web.middleware
    async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith(PREFIX) or request.path == f"{PREFIX}/openapi.json":
            return await handler(request)  # type: ignore[no-any-return]
        if not token:
            return _error(403, "API is off: set GENDAN_API_TOKEN")
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return _error(401, "missing or wrong bearer token")
        return await handler(request)  # type: ignore[no-any-return]

    app.middlewares.append(auth)

    async def list_orders(request: web.Request) -> web.Response:
        q = request.query
        try:
            page = max(1, int(q.get("page", "1")))
            size = min(200, max(1, int(q.get("size", "50"))))
        except ValueError:
            return _error(400, "page and size must be integers")
        stmt = select(Order)
        if q.get("state"):
            if q["state"] not in State.__members__:
                return _error(400, f"unknown state {q['state']!r}")
            stmt = stmt.where(Order.state == q["state"])
        if q.get("customer"):
            c = q["customer"]
            stmt = stmt.join(Customer, Customer.id == Order.customer_id).where(
                (Customer.name.contains(c)) | (Customer.id == (int(c) if c.isdigit() else -1)))
        if q.get("owner"):
            stmt = stmt.join(Person, Person.id == Order.owner_id).where(Person.user_id == q["owner"])
        if q.get("overdue") == "true":
            today = datetime.now(tz).date()
            unshipped = select(OrderLine.order_id).where(OrderLine.shipped_qty < OrderLine.qty)
            stmt = stmt.where(Order.state == "CONFIRMED", Order.due_date < today, Order.id.in_(unshipped))
        stage = q.get("stage")
        if stage and stage not in Stage.__members__:
            return _error(400, f"unknown stage {stage!r}")
        async with db.reader() as uow:
            if stage:
                # the stage is computed; filter among confirmed orders in Python
                rows = [o for o in (await uow.session.execute(
                    stmt.where(Order.state == "CONFIRMED").order_by(Order.no.desc()))).scalars()
                    if (s := lifecycle.stage(o)) and s.value == stage]
                total, items = len(rows), rows[(page - 1) * size: page * size]
            else:
                total = (await uow.session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
                items = list((await uow.session.execute(
                    stmt.order_by(Order.no.desc()).offset((page - 1) * size).limit(size))).scalars())
            body = {"items": [order_json(o, tz) for o in items], "total": total, "page": page, "size": size}
        return web.json_response(body)

    async def _order(uow: Any, raw: str) -> Order | None:
        if not raw.isdigit():
            return None
        result = await uow.session.execute(select(Order).where(Order.no == int(raw)))
        found: Order | None = result.scalar_one_or_none()
        return found

    async def get_order(request: web.Request) -> web.Response:
        async with db.reader() as uow:
            order = await _order(uow, request.match_info["no"])
            if order is None:
                return _error(404, "no such order")
            return web.json_response(order_json(order, tz))

    async def get_events(request: web.Request) -> web.Response:
        async with db.reader() as uow:
            order = await _order(uow, request.match_info["no"])
            if order is None:
                return _error(404, "no such order")
            rows = (await uow.session.execute(
                select(AuditEvent).where(AuditEvent.order_id == order.id).order_by(AuditEvent.id))).scalars()
            return web.json_response({"items": [event_json(e, tz) for e in rows]})

    async def post_order(request: web.Request) -> web.Response:
        status, body = await create_order(await request.read())
        if status >= 400:
            return web.json_response(body, status=status)
        async with db.uow() as uow:
            order = await _order(uow, str(body["no"]))
            if order is None:  # created a moment ago; only a concurrent purge could remove it
                return _error(404, "no such order")
            return web.json_response(order_json(order, tz), status=status,
                                     headers={"Location": f"{PREFIX}/orders/{order.no}"})

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(OPENAPI)

    app.router.add_get(f"{PREFIX}/orders", list_orders)
    app.router.add_post(f"{PREFIX}/orders", post_order)
    app.router.add_get(f"{PREFIX}/orders/{{no}}", get_order)
    app.router.add_get(f"{PREFIX}/orders/{{no}}/events", get_events)
    app.router.add_get(f"{PREFIX}/openapi.json", openapi)
    rest_reports.setup_routes(app, db, PREFIX, tz, clock, order_json)
    rest_quotes.setup_routes(app, db, PREFIX, tz, clock)


_ORDER_SCHEMA = {
    "type": "object",
    "required": ["no", "state", "stage", "stage_label", "customer", "owner", "lines", "amount", "paid_amount",
                 "due_date", "payment_terms", "missing", "version", "created_at", "updated_at"],
    "properties": {
        "no": {"type": "integer"},
        "state": {"type": "string", "enum": [s.value for s in State]},
        "stage": {"type": ["string", "null"], "enum": [s.value for s in Stage] + [None]},
        "stage_label": {"type": ["string", "null"]},
        "amount": {"type": "string", "pattern": r"^-?\d+\.\d{2}$"},
        "paid_amount": {"type": "string", "pattern": r"^-?\d+\.\d{2}$"},
        "due_date": {"type": ["string", "null"], "format": "date"},
        "version": {"type": "integer"},
    },
}
_TEXT = {"type": "string"}
_NEW_ORDER_SCHEMA = {
    "type": "object",
    "required": ["owner"],
    "additionalProperties": False,
    "description": "Either the fields or text (what follows /下单), not both. Numbers and dates as in chat.",
    "properties": {
        "owner": {"type": "string", "description": "platform:user_id of a person holding 销售"},
        "external_ref": {"type": "string", "maxLength": 64, "description": "idempotency key (unique)"},
        "text": {"type": "string", "example": "华为 A100×20@300 交期12-15"},
        "customer": _TEXT, "due_date": {"type": "string", "example": "2026-12-15"}, "note": _TEXT,
        "payment_terms": _TEXT, "address": _TEXT, "contact": _TEXT,
        "lines": {"type": "array", "items": {"type": "object", "required": ["sku", "qty"],
                                             "additionalProperties": False, "properties": {
            "sku": _TEXT, "qty": {"type": ["string", "number"]}, "unit": _TEXT,
            "unit_price": {"type": ["string", "number"]}}}},
    },
}
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "gendan API", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                   "schemas": {"Order": _ORDER_SCHEMA, "NewOrder": _NEW_ORDER_SCHEMA}},
    "security": [{"bearer": []}],
    "paths": {
        f"{PREFIX}/orders": {"get": {"summary": "List orders", "parameters": [
            {"name": n, "in": "query", "schema": {"type": "string"}}
            for n in ("state", "stage", "customer", "owner", "overdue", "page", "size")],
            "responses": {"200": {"description": "{items: [Order], total}"}}},
            "post": {"summary": "Create an order with the same validation as /下单",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "$ref": "#/components/schemas/NewOrder"}}}},
                     "responses": {
                         "201": {"description": "created", "content": {"application/json": {"schema": {
                             "$ref": "#/components/schemas/Order"}}}},
                         "200": {"description": "an order with this external_ref exists: that order",
                                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}},
                         "400": {"description": "{error, details: [{field, message}]}; nothing was written"}}}},
        f"{PREFIX}/orders/{{no}}": {"get": {"summary": "One order", "parameters": [
            {"name": "no", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "Order",
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}},
                          "404": {"description": "no such order"}}}},
        f"{PREFIX}/orders/{{no}}/events": {"get": {"summary": "Audit timeline", "parameters": [
            {"name": "no", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "{items: [event]}"}}}},
    },
}

OPENAPI["paths"].update({f"{PREFIX}{path}": spec for path, spec in rest_reports.PATHS.items()})
OPENAPI["paths"].update({f"{PREFIX}{path}": spec for path, spec in rest_quotes.PATHS.items()})
OPENAPI["components"]["schemas"].update(rest_quotes.SCHEMAS)
