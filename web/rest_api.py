"""REST API ``/api/v1``: orders (read, and create as ``/下单`` does: ``web/rest_order_create.py``), their
audit timeline, the money side (``web/rest_reports.py``: customers, statements, sales) and the quotes side
(``web/rest_quotes.py``), behind a bearer token.

Query parameters are parsed by the models of ``web/rest_queries.py``, bodies by those of
``web/rest_order_input.py``, and every answer is a model of ``web/rest_schemas.py``; the OpenAPI
document at ``/api/v1/openapi.json`` is generated from the same models (``web/rest_openapi.py``).
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.dispatch import Dispatcher
from handlers.texts import api_orders as t
from storage.db import UnitOfWork
from storage.models import Order as OrderRow
from storage.repos.pages import OrderFilter, Page
from web import rest_order_create, rest_quotes, rest_reports
from web.rest_openapi import Operation, Response, document
from web.rest_order_input import NewOrder
from web.rest_queries import BadParam, OrderQuery, parse
from web.rest_schemas import Error, EventList, Invalid, OrderOut, OrderPage, answer, error, event_out, order_out

PREFIX = "/api/v1"
_NO = {"no": {"type": "integer"}}
_UNAUTHORIZED = {401: Response("missing or wrong bearer token", Error), 403: Response("the API is off", Error)}

#: the routes of this module, as documented
OPERATIONS = (
    Operation("get", "/orders", "List orders, newest first", query=OrderQuery, responses={
        200: Response("a page of orders", OrderPage), 400: Response("bad state, stage, page or size", Error)}),
    Operation("post", "/orders", t.DOC_SUMMARY, body=NewOrder,
              responses={201: Response("created", OrderOut),
                         200: Response("an order with this external_ref exists: that order", OrderOut),
                         400: Response("every problem of the body, or the refusal; nothing was written", Invalid)}),
    Operation("get", "/orders/{no}", "One order", path_params=_NO, responses={
        200: Response("the order", OrderOut), 404: Response("no such order", Error)}),
    Operation("get", "/orders/{no}/events", "Audit timeline, oldest first", path_params=_NO, responses={
        200: Response("the order's audit events", EventList), 404: Response("no such order", Error)}),
)


def operations() -> list[Operation]:
    """Every documented route of the API, this module's and the others'."""
    openapi = Operation("get", "/openapi.json", "This document (no token needed)",
                        responses={200: Response("OpenAPI 3.1")})
    with_auth = [*OPERATIONS, *rest_reports.OPERATIONS, *rest_quotes.OPERATIONS]
    return [Operation(op.method, op.path, op.summary, {**op.responses, **_UNAUTHORIZED}, op.query, op.body,
                      op.path_params) for op in with_auth] + [openapi]


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document served at ``/api/v1/openapi.json``."""
    doc = document(PREFIX, operations())
    doc["paths"][f"{PREFIX}/openapi.json"]["get"]["security"] = []
    return doc


def setup_routes(app: web.Application, dispatcher: Dispatcher) -> None:
    """Register the API routes and the OpenAPI document."""
    db, settings, clock = dispatcher.db, dispatcher.settings, dispatcher.clock
    token = settings.api_token.get_secret_value()
    tz = settings.tz
    spec = openapi_document()

    @web.middleware
    async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith(PREFIX) or request.path == f"{PREFIX}/openapi.json":
            return await handler(request)  # type: ignore[no-any-return]
        if not token:
            return error(403, "API is off: set GENDAN_API_TOKEN")
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return error(401, "missing or wrong bearer token")
        return await handler(request)  # type: ignore[no-any-return]

    app.middlewares.append(auth)

    async def list_orders(request: web.Request) -> web.Response:
        try:
            q = parse(OrderQuery, request.query)
        except BadParam as exc:
            return error(400, str(exc))
        where = OrderFilter(state=q.state, stage=q.stage, customer=q.customer, owner=q.owner, overdue=q.overdue,
                            today=datetime.now(tz).date())
        async with db.reader() as uow:
            items, total = await uow.pages.search_orders(where, Page(q.page, q.size))
            return answer(OrderPage(items=[order_out(o, tz) for o in items], total=total, page=q.page, size=q.size))

    async def _order(uow: UnitOfWork, raw: str) -> OrderRow | None:
        return await uow.orders.by_no(int(raw), lock=False) if raw.isdigit() else None

    async def get_order(request: web.Request) -> web.Response:
        async with db.reader() as uow:
            order = await _order(uow, request.match_info["no"])
            if order is None:
                return error(404, "no such order")
            return answer(order_out(order, tz))

    async def get_events(request: web.Request) -> web.Response:
        async with db.reader() as uow:
            order = await _order(uow, request.match_info["no"])
            if order is None:
                return error(404, "no such order")
            return answer(EventList(items=[event_out(e, tz) for e in await uow.pages.order_events(order.id)]))

    async def post_order(request: web.Request) -> web.Response:
        status, body = await rest_order_create.create(dispatcher, await request.read())
        headers = {"Location": f"{PREFIX}/orders/{body.no}"} if isinstance(body, OrderOut) else None
        return answer(body, status, headers)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(spec)

    app.router.add_get(f"{PREFIX}/orders", list_orders)
    app.router.add_post(f"{PREFIX}/orders", post_order)
    app.router.add_get(f"{PREFIX}/orders/{{no}}", get_order)
    app.router.add_get(f"{PREFIX}/orders/{{no}}/events", get_events)
    app.router.add_get(f"{PREFIX}/openapi.json", openapi)
    rest_reports.setup_routes(app, db, PREFIX, tz, clock)
    rest_quotes.setup_routes(app, db, PREFIX, tz, clock)
