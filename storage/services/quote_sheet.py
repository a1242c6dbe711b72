"""A quotation sheet for the customer (the printable page and its .xlsx).

:func:`collect` reads one quote; :func:`render` builds the workbook in memory (blocking: call it
with ``asyncio.to_thread``). Every word (titles, labels, file name) comes from the caller's
layout (``handlers/texts/quotes.py``): storage holds no user-facing words.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, tzinfo
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from storage.db import UnitOfWork
from storage.models import Quote
from storage.services.exporter import MONEY_FORMAT, Sheet

LINE_COLUMNS = ("text", "text", "qty", "text", "money", "money")
_UNSAFE = str.maketrans({c: "_" for c in '\\/:*?"<>|\r\n\t'})


@dataclass(frozen=True)
class SheetLayout:
    """The words of the sheet: header labels (company, customer, quote no, date, valid until,
    payment terms, note, total, status), the lines table, and the file name pattern (``{no}``, ``{customer}``)."""

    title: str
    labels: tuple[str, ...]
    lines: Sheet
    filename: str


@dataclass(frozen=True)
class QuoteSheet:
    """What the sheet shows."""

    no: int
    status: str
    company: str
    customer: str
    owner: str
    quoted_on: date
    valid_until: date
    payment_terms: str
    note: str
    amount: Decimal
    lines: list[tuple[str, str, Decimal, str, Decimal, Decimal]]


async def collect(uow: UnitOfWork, no: int, company: str, tz: tzinfo) -> QuoteSheet | None:
    """The sheet of ``Q<no>``; None when there is no such quote."""
    quote = (await uow.session.execute(select(Quote).where(Quote.no == no))).scalar_one_or_none()
    if quote is None:
        return None
    lines = [(ln.sku, ln.name, ln.qty, ln.unit or "", ln.unit_price, ln.line_amount) for ln in quote.lines]
    return QuoteSheet(quote.no, quote.status, company, quote.customer.name, quote.owner.label,
                      quote.created_at.astimezone(tz).date(), quote.valid_until, quote.payment_terms or "",
                      quote.note or "", quote.amount, lines)


def header_values(sheet: QuoteSheet) -> tuple[str, ...]:
    """The header rows' values, in the order of ``SheetLayout.labels``."""
    return (sheet.company, sheet.customer, f"Q{sheet.no}", sheet.quoted_on.isoformat(),
            sheet.valid_until.isoformat(), sheet.payment_terms, sheet.note, f"{sheet.amount:,.2f}", sheet.owner)


def render(sheet: QuoteSheet, layout: SheetLayout) -> bytes:
    """The workbook as bytes (blocking: run it in a thread)."""
    values = header_values(sheet)
    if len(layout.labels) != len(values):
        raise ValueError(f"{len(layout.labels)} labels for {len(values)} header rows")
    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)
    ws.title = layout.title
    for label, value in zip(layout.labels, values, strict=True):
        ws.append([label, value])
        ws.cell(ws.max_row, 2).data_type = "s"  # a name typed as "=…" stays text
        ws.cell(ws.max_row, 1).font = Font(bold=True)
    ws.append([])
    ws.append(list(layout.lines.columns))
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for sku, name, qty, unit, price, amount in sheet.lines:
        ws.append([sku, name, qty, unit, price, amount])
        for col in (1, 2, 4):
            ws.cell(ws.max_row, col).data_type = "s"
        for col in (5, 6):
            ws.cell(ws.max_row, col).number_format = MONEY_FORMAT
    for letter, width in zip("ABCDEF", (16, 24, 10, 8, 14, 16), strict=True):
        ws.column_dimensions[letter].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def filename(sheet: QuoteSheet, layout: SheetLayout) -> str:
    """The download's file name, the customer's name made safe for any file system."""
    return layout.filename.format(no=sheet.no, customer=sheet.customer.translate(_UNSAFE))
