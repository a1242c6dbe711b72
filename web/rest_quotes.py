"""REST API, before and behind the order: ``/quotes``, ``/quotes/{no}``, ``/purchases`` and
``/shortages`` (read only; quotes and purchases are made in the chat)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, tzinfo

from aiohttp import web

from storage.db import Database
from storage.repos.pages import Page, QuoteFilter
from storage.services import purchasing
from web.rest_openapi import Operation, Response
from web.rest_queries import BadParam, PurchaseQuery, QuoteQuery, parse
from web.rest_schemas import (
    Error,
    PurchasePage,
    Quote,
    QuotePage,
    ShortageList,
    answer,
    error,
    purchase_out,
    quote_out,
    shortage_out,
)

#: the routes of this module, as documented (merged into ``web.rest_api``'s document)
OPERATIONS = (
    Operation("get", "/quotes", "List quotations, newest first", query=QuoteQuery, responses={
        200: Response("a page of quotations", QuotePage), 400: Response("bad status, page or size", Error)}),
    Operation("get", "/quotes/{no}", "One quotation", path_params={"no": {"type": "integer"}}, responses={
        200: Response("the quotation", Quote), 404: Response("no such quote", Error)}),
    Operation("get", "/purchases", "List purchase requests, newest first", query=PurchaseQuery, responses={
        200: Response("a page of purchase requests", PurchasePage),
        400: Response("bad status, page or size", Error)}),
    Operation("get", "/shortages", "Catalogue products short of what confirmed orders reserve", responses={
        200: Response("the shortages, first confirmed first served", ShortageList)}),
)


def setup_routes(app: web.Application, db: Database, prefix: str, tz: tzinfo, clock: Callable[[], datetime]) -> None:
    """Register ``/quotes``, ``/quotes/{no}``, ``/purchases`` and ``/shortages`` under ``prefix``."""

    def today() -> date:
        return clock().astimezone(tz).date()

    async def quotes(request: web.Request) -> web.Response:
        try:
            q = parse(QuoteQuery, request.query)
        except BadParam as exc:
            return error(400, str(exc))
        day = today()
        async with db.reader() as uow:
            rows, total = await uow.pages.search_quotes(QuoteFilter(day, q.status, q.owner, q.customer),
                                                        Page(q.page, q.size))
            return answer(QuotePage(items=[quote_out(r, day, tz) for r in rows], total=total, page=q.page,
                                    size=q.size))

    async def quote(request: web.Request) -> web.Response:
        raw = request.match_info["no"]
        if not raw.isdigit():
            return error(404, "no such quote")
        async with db.reader() as uow:
            found = await uow.pages.quote_by_no(int(raw))
            if found is None:
                return error(404, "no such quote")
            return answer(quote_out(found, today(), tz))

    async def purchases(request: web.Request) -> web.Response:
        try:
            q = parse(PurchaseQuery, request.query)
        except BadParam as exc:
            return error(400, str(exc))
        async with db.reader() as uow:
            rows, total = await uow.pages.search_purchases(q.status, today() if q.overdue else None,
                                                           Page(q.page, q.size))
            return answer(PurchasePage(items=[purchase_out(r, tz) for r in rows], total=total, page=q.page,
                                       size=q.size))

    async def shortages(request: web.Request) -> web.Response:
        async with db.reader() as uow:
            found = await purchasing.all_shortages(uow)
        return answer(ShortageList(items=[shortage_out(s) for s in found]))

    app.router.add_get(f"{prefix}/quotes", quotes)
    app.router.add_get(f"{prefix}/quotes/{{no}}", quote)
    app.router.add_get(f"{prefix}/purchases", purchases)
    app.router.add_get(f"{prefix}/shortages", shortages)
