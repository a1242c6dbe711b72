"""A customer's reconciliation statement (``/对账``) as an .xlsx workbook.

:func:`collect` reads (async, one transaction, the figures of ``reports.statement`` so the
workbook and the chat summary never disagree); :func:`render` builds the workbook in memory
(blocking: call it with ``asyncio.to_thread``). Sheet and column titles come from the caller
(``handlers/texts/statements.py``): storage holds no user-facing words.

Sheets: a summary (customer, period, opening, shipped, collected, closing: one label and one
value per row) and one detail sheet each for the period's orders, shipments and payments.
Money cells are numbers with two decimals, every header row is bold and frozen.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, tzinfo
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from storage import lifecycle
from storage.db import UnitOfWork
from storage.models import Customer
from storage.services import reports
from storage.services.exporter import MONEY_FORMAT, Sheet, fill_sheet
from storage.vocab import STATE_LABELS

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: the kind of every column, in order (how its cells are formatted)
ORDER_COLUMNS = ("int", "date", "text", "text", "money", "money", "money", "date")
SHIPMENT_COLUMNS = ("date", "int", "int", "money", "text", "text")
PAYMENT_COLUMNS = ("date", "int", "money", "text")
#: the summary rows, in order: customer, period, opening, shipped, collected, closing
SUMMARY_ROWS = 6
#: characters a file name may not hold on Windows (the customer's name goes into it)
_UNSAFE = str.maketrans({c: "_" for c in '\\/:*?"<>|\r\n\t'})


@dataclass(frozen=True)
class StatementLayout:
    """The words of the workbook: sheet titles, column titles, summary labels, file name pattern."""

    summary: Sheet
    #: one label per summary row (:data:`SUMMARY_ROWS`)
    labels: tuple[str, ...]
    orders: Sheet
    shipments: Sheet
    payments: Sheet
    #: ``str.format`` pattern with ``{start}`` and ``{end}`` (ISO dates)
    period: str
    #: ``str.format`` pattern with ``{customer}``, ``{start}`` and ``{end}``; ends in ``.xlsx``
    filename: str


@dataclass(frozen=True)
class StatementBook:
    """What the workbook shows."""

    customer_id: int
    customer: str
    start: date
    end: date
    opening: Decimal
    shipped: Decimal
    collected: Decimal
    closing: Decimal
    orders: list[tuple[Any, ...]]
    shipments: list[tuple[Any, ...]]
    payments: list[tuple[Any, ...]]


async def collect(uow: UnitOfWork, customer_id: int, start: date, end: date, tz: tzinfo) -> StatementBook | None:
    """The statement of customer ``customer_id`` for [start, end]; None when there is no such customer."""
    customer = await uow.session.get(Customer, customer_id)
    if customer is None:
        return None
    st = await reports.statement(uow, customer_id, start, end, tz)
    orders = [(o.no, o.created_at.astimezone(tz).date(), STATE_LABELS.get(o.state, o.state), o.owner.label,
               o.amount, o.paid_amount, lifecycle.balance(o), o.due_date) for o in st.orders]
    shipments = [(s.shipped_at.astimezone(tz).date(), no, s.seq, s.amount, s.carrier or "", s.tracking_no or "")
                 for s, no in st.shipments]
    payments = [(p.paid_on, no, p.amount, p.method or "") for p, no in st.payments]
    return StatementBook(customer.id, customer.name, start, end, st.opening, st.shipped, st.collected, st.closing,
                         orders, shipments, payments)


def render(book: StatementBook, layout: StatementLayout) -> bytes:
    """The workbook as bytes (blocking: run it in a thread)."""
    if len(layout.labels) != SUMMARY_ROWS:
        raise ValueError(f"{len(layout.labels)} summary labels for {SUMMARY_ROWS} rows")
    wb = Workbook()
    summary = wb.active
    assert isinstance(summary, Worksheet)
    period = layout.period.format(start=book.start.isoformat(), end=book.end.isoformat())
    values = (book.customer, period, book.opening, book.shipped, book.collected, book.closing)
    fill_sheet(summary, layout.summary, ("text", "text"), list(zip(layout.labels, values, strict=True)))
    for row in summary.iter_rows(min_row=4, min_col=2, max_col=2):  # the four amounts
        row[0].number_format = MONEY_FORMAT
    fill_sheet(wb.create_sheet(), layout.orders, ORDER_COLUMNS, book.orders)
    fill_sheet(wb.create_sheet(), layout.shipments, SHIPMENT_COLUMNS, book.shipments)
    fill_sheet(wb.create_sheet(), layout.payments, PAYMENT_COLUMNS, book.payments)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def filename(book: StatementBook, layout: StatementLayout) -> str:
    """The download's file name, with the customer's name made safe for any file system."""
    return layout.filename.format(customer=book.customer.translate(_UNSAFE), start=book.start.isoformat(),
                                  end=book.end.isoformat())


