"""REST API ``/api/v1``: orders (read, and create as ``/下单`` does: ``web/rest_order_create.py``), their
audit timeline, the money side (``web/rest_reports.py``: customers, statements, sales) and the quotes side
(``web/rest_quotes.py``), behind a bearer token."""

from __future__ import annotations

import hmac
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.dispatch import Dispatcher
from storage.db import UnitOfWork
from storage.models import Order
from storage.repos.pages import OrderFilter, Page
from storage.vocab import Stage, State
from web import rest_order_create, rest_quotes, rest_reports
from web.rest_schemas import event_json, order_json

PREFIX = "/api/v1"
CENT = Decimal("0.01")


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
            page = Page(max(1, int(q.get("page", "1"))), min(200, max(1, int(q.get("size", "50")))))
        except ValueError:
            return _error(400, "page and size must be integers")
        if q.get("state") and q["state"] not in State.__members__:
            return _error(400, f"unknown state {q['state']!r}")
        stage = q.get("stage")
        if stage and stage not in Stage.__members__:
            return _error(400, f"unknown stage {stage!r}")
        where = OrderFilter(state=q.get("state") or None, stage=stage or None, customer=q.get("customer") or None,
                            owner=q.get("owner") or None, overdue=q.get("overdue") == "true",
                            today=datetime.now(tz).date())
        async with db.reader() as uow:
            items, total = await uow.pages.search_orders(where, page)
            body = {"items": [order_json(o, tz) for o in items], "total": total, "page": page.number,
                    "size": page.size}
        return web.json_response(body)

    async def _order(uow: UnitOfWork, raw: str) -> Order | None:
        return await uow.pages.order_by_no(int(raw)) if raw.isdigit() else None

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
            rows = await uow.pages.order_events(order.id)
            return web.json_response({"items": [event_json(e, tz) for e in rows]})

    async def post_order(request: web.Request) -> web.Response:
        status, body = await create_order(await request.read())
        headers = {"Location": f"{PREFIX}/orders/{body['no']}"} if status < 400 else None
        return web.json_response(body, status=status, headers=headers)

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
