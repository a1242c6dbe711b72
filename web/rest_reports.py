"""REST API, money side: customers, a customer's statement (JSON or .xlsx), sales reports.

Registered by ``web.rest_api.setup_routes`` behind the same bearer token. The statement has the
figures of ``/对账`` (``reports.statement``); the sales rows those of ``/报表`` and the dashboard
(``storage.services.sales_groups``). Amounts are decimal strings with two places.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from aiohttp import web

from storage.db import Database
from storage.models import Order
from storage.repos.pages import Page
from storage.services import reports, sales_groups
from storage.services.statement_xlsx import XLSX_TYPE
from web.statement_download import workbook_response

CENT = Decimal("0.01")
#: the longest period a statement or report covers (a typo such as 0202 for 2026 is refused)
MAX_DAYS = 3700
OrderJson = Callable[[Order, Any], dict[str, Any]]


class BadParam(ValueError):
    """A query parameter that cannot be used: answered 400 with the message."""


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(CENT))


def paging(query: Any) -> tuple[int, int]:
    """``page`` (from 1) and ``size`` (1..200, default 50)."""
    try:
        return max(1, int(query.get("page", "1"))), min(200, max(1, int(query.get("size", "50"))))
    except ValueError:
        raise BadParam("page and size must be integers") from None


def period(query: Any, today: date) -> tuple[date, date]:
    """``from``/``to`` (ISO dates, inclusive); by default this month up to today."""
    try:
        start = date.fromisoformat(query["from"]) if query.get("from") else today.replace(day=1)
        end = date.fromisoformat(query["to"]) if query.get("to") else today
    except ValueError:
        raise BadParam("from and to must be dates (YYYY-MM-DD)") from None
    if end < start:
        raise BadParam("to is before from")
    if (end - start).days > MAX_DAYS:
        raise BadParam(f"the period may cover at most {MAX_DAYS} days")
    return start, end


def setup_routes(app: web.Application, db: Database, prefix: str, tz: tzinfo, clock: Callable[[], datetime],
                 order_json: OrderJson) -> None:
    """Register ``/customers``, ``/customers/{id}/statement`` and ``/reports/sales`` under ``prefix``."""

    def today() -> date:
        return clock().astimezone(tz).date()

    def bad(exc: Exception) -> web.Response:
        return web.json_response({"error": str(exc)}, status=400)

    async def customers(request: web.Request) -> web.Response:
        try:
            page, size = paging(request.query)
        except BadParam as exc:
            return bad(exc)
        async with db.reader() as uow:
            rows, total = await uow.pages.search_customers(request.query.get("q", "").strip(), Page(page, size))
            balances = await uow.pages.open_balances([c.id for c in rows])
        items = [{"id": c.id, "name": c.name, "contact": c.contact, "phone": c.phone, "address": c.address,
                  "credit_limit": _dec(c.credit_limit), "payment_terms": c.payment_terms,
                  "balance": _dec(balances.get(c.id, Decimal(0)))} for c in rows]
        return web.json_response({"items": items, "total": total, "page": page, "size": size})

    async def statement(request: web.Request) -> web.StreamResponse:
        raw = request.match_info["id"]
        try:
            start, end = period(request.query, today())
        except BadParam as exc:
            return bad(exc)
        if not raw.isdigit() or len(raw) > 12:
            return web.json_response({"error": "no such customer"}, status=404)
        if XLSX_TYPE in request.headers.get("Accept", ""):
            resp = await workbook_response(db, tz, int(raw), start, end)
            return resp or web.json_response({"error": "no such customer"}, status=404)
        async with db.reader() as uow:
            customer = await uow.pages.customer(int(raw))
            if customer is None:
                return web.json_response({"error": "no such customer"}, status=404)
            st = await reports.statement(uow, customer.id, start, end, tz)
            return web.json_response({
                "customer": {"id": customer.id, "name": customer.name},
                "from": start.isoformat(), "to": end.isoformat(),
                "opening": _dec(st.opening), "shipped": _dec(st.shipped), "collected": _dec(st.collected),
                "closing": _dec(st.closing),
                "shipments": [{"order_no": no, "seq": s.seq, "shipped_at": s.shipped_at.astimezone(tz).isoformat(),
                               "amount": _dec(s.amount), "carrier": s.carrier, "tracking_no": s.tracking_no}
                              for s, no in st.shipments],
                "payments": [{"order_no": no, "paid_on": p.paid_on.isoformat(), "amount": _dec(p.amount),
                              "method": p.method} for p, no in st.payments],
                "orders": [order_json(o, tz) for o in st.orders],
            })

    async def sales(request: web.Request) -> web.Response:
        group_by = request.query.get("group_by", "owner")
        if group_by not in sales_groups.GROUPS:
            return bad(BadParam(f"group_by must be one of {', '.join(sales_groups.GROUPS)}"))
        try:
            start, end = period(request.query, today())
        except BadParam as exc:
            return bad(exc)
        async with db.reader() as uow:
            rows = await sales_groups.sales_rows(uow, group_by, start, end, today(), tz)
        keys = ("sales", "shipped", "collected")
        totals = {k: _dec(sum((getattr(r, k) for r in rows), Decimal(0))) for k in keys}
        return web.json_response({
            "from": start.isoformat(), "to": end.isoformat(), "group_by": group_by,
            "rows": [{"key": r.key, "name": r.name, "orders": r.orders, **{k: _dec(getattr(r, k)) for k in keys}}
                     for r in rows],
            "totals": {"orders": sum(r.orders for r in rows), **totals},
        })

    app.router.add_get(f"{prefix}/customers", customers)
    app.router.add_get(f"{prefix}/customers/{{id}}/statement", statement)
    app.router.add_get(f"{prefix}/reports/sales", sales)


def _period_params() -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "schema": {"type": "string", "format": "date"},
             "description": "inclusive; default: this month up to today"} for n in ("from", "to")]


_MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2}$"}
#: the OpenAPI paths of this module (merged into ``web.rest_api.OPENAPI``)
PATHS: dict[str, Any] = {
    "/customers": {"get": {"summary": "List customers with their open balance", "parameters": [
        {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "part of the name"},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}}],
        "responses": {"200": {"description": "{items: [{id, name, contact, phone, address, credit_limit, "
                                             "payment_terms, balance}], total}"},
                      "400": {"description": "bad page or size"}}}},
    "/customers/{id}/statement": {"get": {
        "summary": "Reconciliation statement (as /对账); Accept: " + XLSX_TYPE + " gives the workbook",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                       *_period_params()],
        "responses": {"200": {"description": "opening, shipped, collected, closing, shipments, payments, orders",
                              "content": {"application/json": {"schema": {"type": "object", "properties": {
                                  k: _MONEY for k in ("opening", "shipped", "collected", "closing")}}},
                                  XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
                      "400": {"description": "bad from/to"}, "404": {"description": "no such customer"}}}},
    "/reports/sales": {"get": {"summary": "Sales, shipped and collected amounts by owner, month or customer",
                               "parameters": [*_period_params(), {"name": "group_by", "in": "query", "schema": {
                                   "type": "string", "enum": list(sales_groups.GROUPS), "default": "owner"}}],
                               "responses": {"200": {"description": "{rows: [{key, name, orders, sales, shipped, "
                                                                    "collected}], totals}"},
                                             "400": {"description": "bad from/to or group_by"}}}},
}
