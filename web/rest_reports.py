"""REST API, money side: customers, a customer's statement (JSON or .xlsx), sales reports.

Registered by ``web.rest_api.setup_routes`` behind the same bearer token. The statement has the
figures of ``/对账`` (``reports.statement``); the sales rows those of ``/报表`` and the dashboard
(``storage.services.sales_groups``). Amounts are decimal strings with two places.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Annotated

from aiohttp import web
from pydantic import Field

from handlers.texts import api_orders as t
from storage.db import Database
from storage.repos.pages import Page
from storage.services import reports, sales_groups
from storage.services.statement_xlsx import XLSX_TYPE
from web.rest_openapi import Operation, Response
from web.rest_queries import BadParam, CustomerQuery, PeriodQuery, SalesQuery, parse
from web.rest_schemas import (
    CustomerRef,
    Day,
    Error,
    Money,
    OrderOut,
    Out,
    Paged,
    Timestamp,
    answer,
    dec,
    error,
    order_out,
)
from web.statement_download import workbook_response


class Customer(Out):
    """A customer and what it still owes on confirmed, held and pending orders (as the /客户 card)."""

    id: int
    name: str
    contact: str | None
    phone: str | None
    address: str | None
    #: null: unlimited
    credit_limit: Money | None
    payment_terms: str | None
    balance: Money


class CustomerPage(Paged):
    items: list[Customer]


class Shipment(Out):
    order_no: int
    seq: int
    shipped_at: Timestamp
    amount: Money
    carrier: str | None
    tracking_no: str | None


class Payment(Out):
    order_no: int
    paid_on: Day
    amount: Money
    method: str | None


class Statement(Out):
    """The figures of ``/对账``: opening (shipped minus paid before ``from``), the period's shipments and
    payments, closing, and the orders created in the period."""

    customer: CustomerRef
    from_: Annotated[Day, Field(alias="from")]
    to: Day
    opening: Money
    shipped: Money
    collected: Money
    closing: Money
    shipments: list[Shipment]
    payments: list[Payment]
    orders: list[OrderOut]


class SalesTotals(Out):
    orders: int
    sales: Money
    shipped: Money
    collected: Money


class SalesRow(SalesTotals):
    """One group: ``key`` is ``platform:user_id``, ``YYYY-MM`` or the customer id."""

    key: str
    name: str


class SalesReport(Out):
    """Sales (orders confirmed in the period), shipped and collected amounts by group, with totals."""

    from_: Annotated[Day, Field(alias="from")]
    to: Day
    group_by: sales_groups.GroupBy
    rows: list[SalesRow]
    totals: SalesTotals


_XLSX = {XLSX_TYPE: {"type": "string", "format": "binary"}}
#: the routes of this module, as documented (merged into ``web.rest_api``'s document)
OPERATIONS = (
    Operation("get", "/customers", "List customers with their open balance, oldest first", query=CustomerQuery,
              responses={200: Response("a page of customers", CustomerPage),
                         400: Response("bad page or size", Error)}),
    Operation("get", "/customers/{id}/statement",
              t.DOC_STATEMENT.format(xlsx=XLSX_TYPE), query=PeriodQuery,
              path_params={"id": {"type": "integer"}},
              responses={200: Response("the statement, or its workbook", Statement, _XLSX),
                         400: Response("bad from/to", Error), 404: Response("no such customer", Error)}),
    Operation("get", "/reports/sales", "Sales, shipped and collected amounts by owner, month or customer",
              query=SalesQuery, responses={200: Response("the report", SalesReport),
                                           400: Response("bad from/to or group_by", Error)}),
)


def setup_routes(app: web.Application, db: Database, prefix: str, tz: tzinfo, clock: Callable[[], datetime]) -> None:
    """Register ``/customers``, ``/customers/{id}/statement`` and ``/reports/sales`` under ``prefix``."""

    def today() -> date:
        return clock().astimezone(tz).date()

    async def customers(request: web.Request) -> web.Response:
        try:
            q = parse(CustomerQuery, request.query)
        except BadParam as exc:
            return error(400, str(exc))
        async with db.reader() as uow:
            rows, total = await uow.pages.search_customers(q.q, Page(q.page, q.size))
            balances = await uow.pages.open_balances([c.id for c in rows])
        items = [Customer(id=c.id, name=c.name, contact=c.contact, phone=c.phone, address=c.address,
                          credit_limit=dec(c.credit_limit) if c.credit_limit is not None else None,
                          payment_terms=c.payment_terms, balance=dec(balances.get(c.id, Decimal(0))))
                 for c in rows]
        return answer(CustomerPage(items=items, total=total, page=q.page, size=q.size))

    async def statement(request: web.Request) -> web.StreamResponse:
        raw = request.match_info["id"]
        try:
            start, end = parse(PeriodQuery, request.query, {"today": today()}).span
        except BadParam as exc:
            return error(400, str(exc))
        if not raw.isdigit() or len(raw) > 12:
            return error(404, "no such customer")
        if XLSX_TYPE in request.headers.get("Accept", ""):
            resp = await workbook_response(db, tz, int(raw), start, end)
            return resp or error(404, "no such customer")
        async with db.reader() as uow:
            customer = await uow.pages.customer(int(raw))
            if customer is None:
                return error(404, "no such customer")
            st = await reports.statement(uow, customer.id, start, end, tz)
            return answer(Statement(
                customer=CustomerRef(id=customer.id, name=customer.name), from_=start.isoformat(),
                to=end.isoformat(), opening=dec(st.opening), shipped=dec(st.shipped), collected=dec(st.collected),
                closing=dec(st.closing),
                shipments=[Shipment(order_no=no, seq=s.seq, shipped_at=s.shipped_at.astimezone(tz).isoformat(),
                                    amount=dec(s.amount), carrier=s.carrier, tracking_no=s.tracking_no)
                           for s, no in st.shipments],
                payments=[Payment(order_no=no, paid_on=p.paid_on.isoformat(), amount=dec(p.amount), method=p.method)
                          for p, no in st.payments],
                orders=[order_out(o, tz) for o in st.orders]))

    async def sales(request: web.Request) -> web.Response:
        try:
            q = parse(SalesQuery, request.query, {"today": today()})
        except BadParam as exc:
            return error(400, str(exc))
        start, end = q.span
        async with db.reader() as uow:
            rows = await sales_groups.sales_rows(uow, q.group_by, start, end, today(), tz)
        return answer(SalesReport(
            from_=start.isoformat(), to=end.isoformat(), group_by=q.group_by,
            rows=[SalesRow(key=r.key, name=r.name, orders=r.orders, sales=dec(r.sales), shipped=dec(r.shipped),
                           collected=dec(r.collected)) for r in rows],
            totals=SalesTotals(orders=sum(r.orders for r in rows), sales=dec(sum((r.sales for r in rows), Decimal(0))),
                               shipped=dec(sum((r.shipped for r in rows), Decimal(0))),
                               collected=dec(sum((r.collected for r in rows), Decimal(0))))))

    app.router.add_get(f"{prefix}/customers", customers)
    app.router.add_get(f"{prefix}/customers/{{id}}/statement", statement)
    app.router.add_get(f"{prefix}/reports/sales", sales)
