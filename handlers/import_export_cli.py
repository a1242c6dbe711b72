"""``gendan import`` and ``gendan export``: read the file, type every cell with the chat's own number
parsers, hand the rows to :mod:`storage.services.import_file`, and render the report in Chinese.

Numbers accept what people type in chats and Excel shows (``1,200``, ``1.5万``, ``¥300``); dates
accept Excel dates, ``2026-12-15``, ``2026/12/15``, ``2026.12.15`` and ``2026年12月15日``.
"""

from __future__ import annotations

import asyncio
import functools
import getpass
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from handlers.args.numbers import try_money, try_qty
from handlers.args.tokens import ArgError, clip, prep
from handlers.import_file_reader import FileProblem, ProgressBar, Table, map_headers, read_table
from handlers.texts import import_export as t
from storage.db import Database
from storage.services import exporter
from storage.services.base import Provenance
from storage.services.import_catalogue import CustomerRow, ProductRow
from storage.services.import_file import run
from storage.services.import_orders import OrderRow
from storage.services.import_report import ImportContext, Kind, Report
from storage.vocab import State

_CENT = Decimal("0.01")
_LIMIT = Decimal(10) ** 12
_EXCEL_EPOCH = date(1899, 12, 30)
_DATE_RE = re.compile(rf"(\d{{4}})\s*[-/.{t.YEAR}]\s*(\d{{1,2}})\s*[-/.{t.MONTH}]\s*(\d{{1,2}})\s*{t.DAY}?"
                      r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
_COMPACT_DATE_RE = re.compile(r"(\d{4})(\d{2})(\d{2})")
# A file repeats its cells (customers, products, dates, quantities): each distinct text is parsed once.
# The results are immutable (str, Decimal, date, tuples of them); an exception is not cached.
_prep = functools.lru_cache(maxsize=65536)(prep)
_try_money = functools.lru_cache(maxsize=65536)(try_money)
_try_qty = functools.lru_cache(maxsize=65536)(try_qty)


class Cells:
    """Typed access to one row's cells; a cell that cannot be read is reported and marks the row bad."""

    def __init__(self, row: int, values: list[Any], columns: dict[str, int], report: Report) -> None:
        self.row = row
        self.values = values
        self.columns = columns
        self.report = report
        self.bad = False

    def raw(self, name: str) -> Any:
        """The cell's value, None when the column is absent or the cell is empty."""
        col = self.columns.get(name)
        value = self.values[col] if col is not None and col < len(self.values) else None
        if isinstance(value, str):
            value = _prep(value)
        return None if value == "" else value

    def _fail(self, code: str, name: str, value: Any) -> None:
        self.bad = True
        self.report.error(self.row, code, field=name, value=clip(str(value)))

    def text(self, name: str) -> str | None:
        """Text; whole numbers without ".0" (a phone or SKU Excel took for a number)."""
        value = self.raw(name)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, datetime | date):
            return value.isoformat()[:10]
        return None if value is None else str(value)

    def number(self, name: str, *, money: bool = False) -> Decimal | None:
        """A number (money: quantized to cents); ``1,200`` ``1.5万`` ``¥300`` in text cells."""
        value = self.raw(name)
        if value is None:
            return None
        parsed: Decimal | None
        try:
            if isinstance(value, bool):
                parsed = None
            elif isinstance(value, int | float):
                # repr: the shortest text that is this float, so 0.1 stays 0.1
                parsed = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
            else:
                found = _try_money(str(value)) if money else _try_qty(str(value))
                parsed = found[0] if isinstance(found, tuple) else found
        except (ArgError, InvalidOperation):
            self._fail("too_large", name, value)
            return None
        if parsed is None or not parsed.is_finite():
            self._fail("not_number", name, value)
            return None
        if abs(parsed) >= _LIMIT:
            self._fail("too_large", name, value)
            return None
        return parsed.quantize(_CENT, rounding=ROUND_HALF_UP) if money else parsed

    def unit(self, name: str) -> str | None:
        """The unit written after a quantity in a text cell (``20台``), if any."""
        value = self.raw(name)
        found = _try_qty(value) if isinstance(value, str) else None
        return found[1] if found else None

    def date(self, name: str) -> date | None:
        """An Excel date, a serial number, or 2026-12-15 / 2026/12/15 / 2026年12月15日 / 20261215."""
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        day = _parse_day(value) if isinstance(value, str) else parse_day(value)
        if day is None:
            self._fail("not_date", name, value)
        return day

    def state(self, name: str) -> State | None:
        """状态: a Chinese label or synonym, or an English state code."""
        value = self.text(name)
        if value is None:
            return None
        found = t.STATE_WORDS.get(value) or next((s for s in State if s.value == value.upper()), None)
        if found is None:
            self.bad = True
            self.report.error(self.row, "unknown_state", value=clip(value), allowed=t.LIST_SEP.join(t.ALLOWED_STATES))
        return found


def parse_day(value: Any) -> date | None:
    """A date from a CSV cell, an Excel serial number or a command-line argument; None if not one."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        # Excel stores dates as days since 1899-12-30; a CSV of such a sheet shows the number
        return _EXCEL_EPOCH + timedelta(days=int(value)) if 1 <= value < 2958466 else None
    text = prep(str(value))
    match = _DATE_RE.fullmatch(text) or _COMPACT_DATE_RE.fullmatch(text)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


_parse_day = functools.lru_cache(maxsize=65536)(parse_day)


def _customer(c: Cells) -> CustomerRow:
    return CustomerRow(c.row, c.text("name"), contact=c.text("contact"), phone=c.text("phone"),
                       address=c.text("address"), credit_limit=c.number("credit_limit", money=True),
                       payment_terms=c.text("payment_terms"), bad=c.bad)


def _product(c: Cells) -> ProductRow:
    return ProductRow(c.row, c.text("sku"), name=c.text("name"), unit=c.text("unit"),
                      price=c.number("price", money=True), floor_price=c.number("floor_price", money=True),
                      stock=c.number("stock"), bad=c.bad)


def _order(c: Cells) -> OrderRow:
    # arguments are evaluated left to right, so ``bad`` comes last: after every cell was read
    return OrderRow(c.row, c.text("ref"), customer=c.text("customer"), product=c.text("product"),
                    qty=c.number("qty"), unit=c.text("unit") or c.unit("qty"),
                    unit_price=c.number("unit_price", money=True), due=c.date("due"), ordered=c.date("ordered"),
                    owner=c.text("owner"), state=c.state("state"), shipped=c.number("shipped"),
                    paid=c.number("paid", money=True), bad=c.bad)


_RECORDS: dict[str, Callable[[Cells], Any]] = {"customers": _customer, "products": _product, "orders": _order}


def to_records(kind: Kind, table: Table, report: Report) -> list[Any]:
    """Typed rows of the table (bad cells reported; their rows flagged ``bad``)."""
    columns = map_headers(kind, table, report)
    if columns is None:
        return []
    return [_RECORDS[kind](Cells(number, values, columns, report)) for number, values in table.rows]


async def run_import(db: Database, kind: Kind, path: Path, *, dry_run: bool, now: datetime, tz: tzinfo,
                     default_owner: str | None = None, stream: TextIO | None = None) -> tuple[str, int]:
    """Import one file: (the report, exit status 0 when clean, 1 when nothing was imported for errors)."""
    report = Report(kind, dry_run)
    try:
        table = await asyncio.to_thread(read_table, path)
    except FileProblem as exc:
        report.error(0, exc.code, **exc.params)
        return t.render(report), 1
    rows = to_records(kind, table, report)
    user = _os_user()
    # a shell import has no chat person behind it: the history shows "导入 <file>"; the audit row keeps
    # the login that ran it (user_id) and the file (source_ref)
    prov = Provenance(person_id=0, platform="cli", user_id=user, name=t.IMPORT_ACTOR.format(file=path.name)[:64],
                      roles=frozenset(), source="import", source_ref=path.name[:128])
    progress = ProgressBar(t.PROGRESS, stream)
    ctx = ImportContext(prov, now, tz, default_owner, progress)
    try:
        if rows or not report.errors:
            await run(db, kind, rows, report, ctx)
    finally:
        progress.finish()
    return t.render(report), 1 if report.errors else 0


async def run_export(db: Database, path: Path, start: str | None, end: str | None,
                     tz: tzinfo) -> tuple[str, int]:
    """Export orders created from ``start`` to ``end`` (inclusive; 2026-12-15); (message, exit status)."""
    days: list[date | None] = []
    for text in (start, end):
        day = parse_day(text) if text else None
        if text and day is None:
            return t.BAD_CLI_DATE.format(value=text), 2
        days.append(day)
    async with db.reader() as uow:
        data = await exporter.collect(uow, days[0], days[1], tz)
    await asyncio.to_thread(exporter.write_workbook, path, data, t.ORDER_SHEET, t.LINE_SHEET)
    return t.EXPORTED.format(orders=len(data.orders), lines=len(data.lines), path=path), 0


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (containers)
        return "cli"
