"""REST API, before and behind the order: ``/quotes``, ``/quotes/{no}``, ``/purchases`` and
``/shortages`` (read only; quotes and purchases are made in the chat)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from aiohttp import web

from storage.db import Database
from storage.models import Purchase, Quote
from storage.repos.pages import Page, QuoteFilter
from storage.services import purchasing
from storage.services.quotes import expired
from storage.vocab import QUOTE_EXPIRED_LABEL, QUOTE_STATUS_LABELS, QuoteStatus
from web.rest_reports import BadParam, paging

CENT = Decimal("0.01")
#: the ``status`` filter also takes EXPIRED: an open quote past its last valid day
QUOTE_FILTERS = (*(s.value for s in QuoteStatus), "EXPIRED")


def _dec(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}"


def quote_json(q: Quote, today: date, tz: tzinfo) -> dict[str, Any]:
    """The interface's ``Quote`` object."""
    lapsed = expired(q, today)
    return {
        "no": q.no, "status": "EXPIRED" if lapsed else q.status,
        "status_label": QUOTE_EXPIRED_LABEL if lapsed else QUOTE_STATUS_LABELS.get(q.status, q.status),
        "customer": {"id": q.customer.id, "name": q.customer.name},
        "owner": {"platform": q.owner.platform, "user_id": q.owner.user_id, "name": q.owner.name},
        "lines": [{"sku": ln.sku, "name": ln.name, "qty": _qty(ln.qty), "unit": ln.unit,
                   "unit_price": _dec(ln.unit_price)} for ln in q.lines],
        "amount": _dec(q.amount), "valid_until": q.valid_until.isoformat(),
        "due_date": q.due_date.isoformat() if q.due_date else None, "payment_terms": q.payment_terms,
        "note": q.note, "warnings": list(q.warnings), "order_id": q.order_id,
        "created_at": q.created_at.astimezone(tz).isoformat(),
    }


def purchase_json(p: Purchase, tz: tzinfo) -> dict[str, Any]:
    """The interface's ``Purchase`` object."""
    return {
        "no": p.no, "status": p.status, "sku": p.product.sku, "qty": _qty(p.qty),
        "received_qty": _qty(p.received_qty), "supplier": p.supplier,
        "expected_date": p.expected_date.isoformat() if p.expected_date else None,
        "created_at": p.created_at.astimezone(tz).isoformat(),
        "received_at": p.received_at.astimezone(tz).isoformat() if p.received_at else None,
    }


def setup_routes(app: web.Application, db: Database, prefix: str, tz: tzinfo, clock: Callable[[], datetime]) -> None:
    """Register ``/quotes``, ``/quotes/{no}``, ``/purchases`` and ``/shortages`` under ``prefix``."""

    def today() -> date:
        return clock().astimezone(tz).date()

    def bad(message: str, status: int = 400) -> web.Response:
        return web.json_response({"error": message}, status=status)

    async def quotes(request: web.Request) -> web.Response:
        q = request.query
        try:
            page, size = paging(q)
        except BadParam as exc:
            return bad(str(exc))
        status = q.get("status")
        if status and status not in QUOTE_FILTERS:
            return bad(f"unknown status {status!r}")
        where = QuoteFilter(today(), status or None, q.get("owner") or None, q.get("customer") or None)
        async with db.reader() as uow:
            rows, total = await uow.pages.search_quotes(where, Page(page, size))
            items = [quote_json(r, today(), tz) for r in rows]
        return web.json_response({"items": items, "total": total, "page": page, "size": size})

    async def quote(request: web.Request) -> web.Response:
        raw = request.match_info["no"]
        if not raw.isdigit():
            return bad("no such quote", 404)
        async with db.reader() as uow:
            found = await uow.pages.quote_by_no(int(raw))
            if found is None:
                return bad("no such quote", 404)
            return web.json_response(quote_json(found, today(), tz))

    async def purchases(request: web.Request) -> web.Response:
        q = request.query
        try:
            page, size = paging(q)
        except BadParam as exc:
            return bad(str(exc))
        if q.get("status") and q["status"] not in ("OPEN", "RECEIVED"):
            return bad(f"unknown status {q['status']!r}")
        overdue_on = today() if q.get("overdue") == "true" else None
        async with db.reader() as uow:
            rows, total = await uow.pages.search_purchases(q.get("status") or None, overdue_on, Page(page, size))
            items = [purchase_json(r, tz) for r in rows]
        return web.json_response({"items": items, "total": total, "page": page, "size": size})

    async def shortages(request: web.Request) -> web.Response:
        async with db.reader() as uow:
            found = await purchasing.all_shortages(uow)
        return web.json_response({"items": [
            {"sku": s.sku, "unit": s.unit, "on_hand": _qty(s.on_hand), "reserved": _qty(s.reserved),
             "on_order": _qty(s.on_order), "short": _qty(s.short), "orders": [w.order_no for w in s.waiting]}
            for s in found]})

    app.router.add_get(f"{prefix}/quotes", quotes)
    app.router.add_get(f"{prefix}/quotes/{{no}}", quote)
    app.router.add_get(f"{prefix}/purchases", purchases)
    app.router.add_get(f"{prefix}/shortages", shortages)


_PAGING = [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
           {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}}]
_MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2}$"}
QUOTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["no", "status", "status_label", "customer", "owner", "lines", "amount", "valid_until", "warnings"],
    "properties": {
        "no": {"type": "integer", "description": "shown as Q<no>; numbered apart from orders"},
        "status": {"type": "string", "enum": list(QUOTE_FILTERS)},
        "amount": _MONEY, "valid_until": {"type": "string", "format": "date"},
        "warnings": {"type": "array", "items": {"type": "string", "enum": ["below_floor", "over_credit"]}},
        "order_id": {"type": ["integer", "null"], "description": "the order it became"},
    },
}
PURCHASE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["no", "status", "sku", "qty", "received_qty"],
    "properties": {"no": {"type": "integer", "description": "shown as P<no>"},
                   "status": {"type": "string", "enum": ["OPEN", "RECEIVED"]},
                   "expected_date": {"type": ["string", "null"], "format": "date"}},
}
#: the OpenAPI paths and schemas of this module (merged into ``web.rest_api.OPENAPI``)
PATHS: dict[str, Any] = {
    "/quotes": {"get": {"summary": "List quotations, newest first", "parameters": [
        {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(QUOTE_FILTERS)}},
        {"name": "owner", "in": "query", "schema": {"type": "string"}, "description": "user id of the owner"},
        {"name": "customer", "in": "query", "schema": {"type": "string"}, "description": "part of the name"},
        *_PAGING],
        "responses": {"200": {"description": "{items: [Quote], total, page, size}"},
                      "400": {"description": "bad status, page or size"}}}},
    "/quotes/{no}": {"get": {"summary": "One quotation", "parameters": [
        {"name": "no", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "Quote", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/Quote"}}}}, "404": {"description": "no such quote"}}}},
    "/purchases": {"get": {"summary": "List purchase requests, newest first", "parameters": [
        {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["OPEN", "RECEIVED"]}},
        {"name": "overdue", "in": "query", "schema": {"type": "string", "enum": ["true"]}}, *_PAGING],
        "responses": {"200": {"description": "{items: [Purchase], total, page, size}"},
                      "400": {"description": "bad status, page or size"}}}},
    "/shortages": {"get": {"summary": "Catalogue products short of what confirmed orders reserve",
                           "responses": {"200": {"description": "{items: [{sku, unit, on_hand, reserved, on_order, "
                                                                "short, orders}]}"}}}},
}
SCHEMAS: dict[str, Any] = {"Quote": QUOTE_SCHEMA, "Purchase": PURCHASE_SCHEMA}
