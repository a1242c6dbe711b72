"""Export orders to an .xlsx workbook: a sheet of orders and a sheet of their lines.

:func:`collect` reads (async, one transaction); :func:`write_workbook` writes the file
(blocking: call it in a thread), streaming its rows (openpyxl's write-only mode: a month of a large
company is tens of thousands of rows). Column titles come from the caller (``handlers/texts``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from storage import lifecycle
from storage.db import UnitOfWork
from storage.models import Customer, Order, OrderLine, Person
from storage.repos.order_card import CardLine
from storage.vocab import STAGE_LABELS, STATE_LABELS

MONEY_FORMAT = "#,##0.00"
QTY_FORMAT = "#,##0.###"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
#: the kind of every column, in order: how the cell is formatted
ORDER_COLUMNS = ("int", "text", "text", "text", "text", "money", "money", "money", "date", "datetime", "text")
LINE_COLUMNS = ("int", "int", "text", "text", "qty", "text", "money", "money", "qty")


@dataclass(frozen=True)
class Sheet:
    """A sheet's title and its column titles (one per column of ORDER_COLUMNS / LINE_COLUMNS)."""

    title: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Export:
    """The rows to write."""

    orders: list[tuple[Any, ...]]
    lines: list[tuple[Any, ...]]


async def collect(uow: UnitOfWork, start: date | None, end: date | None, tz: tzinfo) -> Export:
    """Orders created from ``start`` to ``end`` (inclusive, business dates in ``tz``), by number.

    Two Core queries (the orders with their customer and owner, then their lines), no ORM objects."""
    period = []
    if start is not None:
        period.append(Order.created_at >= datetime.combine(start, time(0), tzinfo=tz))
    if end is not None:
        period.append(Order.created_at < datetime.combine(end + timedelta(days=1), time(0), tzinfo=tz))
    line_stmt = (select(OrderLine.order_id, OrderLine.line_no, OrderLine.product_id, OrderLine.sku, OrderLine.name,
                        OrderLine.qty, OrderLine.unit, OrderLine.unit_price, OrderLine.shipped_qty)
                 .join(Order, OrderLine.order_id == Order.id).where(*period).order_by(Order.no, OrderLine.line_no))
    by_order: dict[int, list[CardLine]] = {}
    for row in await uow.session.execute(line_stmt):
        by_order.setdefault(row[0], []).append(CardLine(*row[1:]))
    order_stmt = (select(Order.id, Order.no, Order.state, Order.production, Order.amount, Order.paid_amount,
                         Order.written_off, Order.due_date, Order.created_at, Order.external_ref, Customer.name,
                         Person.name, Person.user_id)
                  .outerjoin(Customer, Order.customer_id == Customer.id).join(Person, Order.owner_id == Person.id)
                  .where(*period).order_by(Order.no))
    orders: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    for (id_, no, state, production, amount, paid, written_off, due, created, ref, customer, owner_name,
         owner_id) in await uow.session.execute(order_stmt):
        view = _View(state, production, amount, paid, written_off, due, by_order.get(id_, []))
        stage = lifecycle.stage(view)
        orders.append((
            no, STATE_LABELS.get(state, state), STAGE_LABELS[stage] if stage else "", customer or "",
            owner_name or owner_id, amount, paid, lifecycle.balance(view), due,
            # Excel has no time zones: the business time, without offset
            created.astimezone(tz).replace(tzinfo=None), ref or "",
        ))
        for line in view.lines:
            lines.append((no, line.line_no, line.sku, line.name, line.qty, line.unit or "", line.unit_price,
                          line.line_amount, line.shipped_qty))
    return Export(orders, lines)


@dataclass
class _View:
    """What ``lifecycle.stage`` and ``lifecycle.balance`` read of an order."""

    state: str
    production: str
    amount: Decimal
    paid_amount: Decimal
    written_off: Decimal
    due_date: date | None
    lines: list[CardLine]
    owner_id: int = 0
    customer_id: int | None = None


def write_workbook(path: Path, data: Export, order_sheet: Sheet, line_sheet: Sheet) -> None:
    """Write the two sheets: bold frozen header row, typed cells, widths that fit the content."""
    book = Workbook(write_only=True)
    stream_sheet(book, order_sheet, ORDER_COLUMNS, data.orders)
    stream_sheet(book, line_sheet, LINE_COLUMNS, data.lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def stream_sheet(book: Workbook, sheet: Sheet, kinds: Sequence[str], rows: list[tuple[Any, ...]], *,
                 max_width: int = 50) -> None:
    """:func:`fill_sheet`'s sheet, written row by row into a write-only workbook (linear, little memory):
    the widths are measured first, since a streamed sheet takes its column settings before its rows."""
    if len(sheet.columns) != len(kinds):
        raise ValueError(f"{sheet.title}: {len(sheet.columns)} titles for {len(kinds)} columns")
    ws = book.create_sheet(sheet.title)
    widths = [_width(title) for title in sheet.columns]
    for values in rows:
        for i, value in enumerate(values):
            widths[i] = max(widths[i], _width(_shown(value, kinds[i])))
    for i, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), max_width)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for title in sheet.columns:
        cell = WriteOnlyCell(ws, title)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    formats = [_FORMATS.get(kind) for kind in kinds]
    for values in rows:
        ws.append([_stream_cell(ws, value, fmt) for value, fmt in zip(values, formats, strict=True)])


def _stream_cell(ws: Any, value: Any, number_format: str | None) -> Any:
    value = _cell_value(value)
    if isinstance(value, str):
        # text people typed (a customer called "=HYPERLINK(…)") must stay text, never a formula
        cell = WriteOnlyCell(ws, value)
        cell.data_type = "s"
        return cell
    if number_format is not None and value is not None:
        cell = WriteOnlyCell(ws, value)
        cell.number_format = number_format
        return cell
    return value


_FORMATS = {"money": MONEY_FORMAT, "qty": QTY_FORMAT, "date": DATE_FORMAT, "datetime": DATETIME_FORMAT}


def fill_sheet(ws: Worksheet, sheet: Sheet, kinds: Sequence[str], rows: list[tuple[Any, ...]], *,
               max_width: int = 50) -> None:
    """Write a titled sheet: bold frozen header, number formats by column kind, widths; text stays text."""
    if len(sheet.columns) != len(kinds):
        raise ValueError(f"{sheet.title}: {len(sheet.columns)} titles for {len(kinds)} columns")
    ws.title = sheet.title
    ws.append(list(sheet.columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = [_width(title) for title in sheet.columns]
    # the row number is counted here: openpyxl's ``max_row`` scans every cell written so far, and
    # asking it after each row made a month of a large company's orders take hours (quadratic)
    for row_no, values in enumerate(rows, start=ws.max_row + 1):
        cells = [_cell_value(v) for v in values]
        ws.append(cells)
        for column, value in enumerate(cells, 1):
            if isinstance(value, str):
                # text people typed (a customer called "=HYPERLINK(…)") must stay text, never a formula
                ws.cell(row=row_no, column=column).data_type = "s"
        for i, value in enumerate(values):
            widths[i] = max(widths[i], _width(_shown(value, kinds[i])))
    for i, kind in enumerate(kinds, 1):
        if kind in _FORMATS:
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = _FORMATS[kind]
        ws.column_dimensions[get_column_letter(i)].width = min(max(widths[i - 1] + 2, 8), max_width)
    ws.freeze_panes = "A2"


def _cell_value(value: Any) -> Any:
    # whole quantities as integers: 10.000 would otherwise read back as 10.0
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def _shown(value: Any, kind: str) -> str:
    """Roughly what Excel shows (for the column width)."""
    if value is None:
        return ""
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "date":
        return "2026-12-31"
    if kind == "datetime":
        return "2026-12-31 23:59"
    return str(value)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
