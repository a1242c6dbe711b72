"""Reading an import file (.xlsx, or .csv in UTF-8 with or without BOM, or GBK as Excel in China
writes it) into a header and numbered rows, and matching the headers to fields. Blocking: run
:func:`read_table` in a thread."""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from handlers.args.tokens import prep
from handlers.texts import import_export as t
from storage.services.import_report import Report

XLSX = (".xlsx", ".xlsm")
CSV = (".csv", ".txt")


class FileProblem(Exception):
    """The file as a whole cannot be read; ``code`` names a text of ``handlers.texts.import_export.ISSUES``."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass
class Table:
    """The header row and the data rows, each with its row number as the spreadsheet shows it."""

    header_row: int
    headers: list[str]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)


def read_table(path: Path) -> Table:
    """Read the first sheet (or the CSV); the header is the first non-empty row; blank rows are skipped."""
    if not path.is_file():
        raise FileProblem("no_file", path=str(path))
    suffix = path.suffix.lower()
    if suffix in XLSX:
        raw = _xlsx_rows(path)
    elif suffix in CSV:
        raw = _csv_rows(path)
    else:
        raise FileProblem("bad_format", suffix=suffix or path.name)
    table: Table | None = None
    for number, values in enumerate(raw, 1):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        if table is None:
            table = Table(number, ["" if v is None else str(v) for v in values])
        else:
            table.rows.append((number, list(values)))
    if table is None:
        raise FileProblem("empty")
    return table


def _xlsx_rows(path: Path) -> list[list[Any]]:
    try:
        # read_only streams the sheet (a 200,000-row file would otherwise take a gigabyte);
        # data_only: a formula's last computed value
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise FileProblem("unreadable", reason=str(exc) or type(exc).__name__) from exc
    try:
        sheet = book.worksheets[0]
        return [list(values) for values in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _csv_rows(path: Path) -> list[list[Any]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            # Excel in China saves "CSV" in the ANSI code page, GBK; GB18030 is its superset
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise FileProblem("unreadable", reason=str(exc)) from exc
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    return [list(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def header_key(text: str) -> str:
    """A header as compared: no spaces, underscores or case, no "*" mark, no trailing "(元)" note."""
    key = prep(text).strip().lstrip("*").strip()
    key = re.sub(r"\([^()]*\)$", "", key)
    return key.replace(" ", "").replace("_", "").lower()


def map_headers(kind: str, table: Table, report: Report) -> dict[str, int] | None:
    """Field → column index; reports missing, doubled and unused columns. None when a required one is missing."""
    aliases = t.HEADERS[kind]
    claims: dict[str, list[tuple[int, int]]] = {}  # field → [(alias rank, column)]
    unused: list[str] = []
    for col, header in enumerate(table.headers):
        key = header_key(header)
        if not key:
            continue
        for name, words in aliases.items():
            ranks = [i for i, word in enumerate(words) if header_key(word) == key]
            if ranks:
                claims.setdefault(name, []).append((ranks[0], col))
                break
        else:
            unused.append(header)
    columns: dict[str, int] = {}
    for name, found in claims.items():
        found.sort()
        columns[name] = found[0][1]
        for _, col in found[1:]:
            report.note(table.header_row, "twice_column", field=name, first=table.headers[found[0][1]],
                        second=table.headers[col])
    if unused:
        report.note(table.header_row, "unknown_columns", columns=t.LIST_SEP.join(unused))
    missing = [name for name in t.REQUIRED[kind] if name not in columns]
    for name in missing:
        report.error(table.header_row, "missing_column", field=name, aliases=t.LIST_SEP.join(aliases[name][:3]))
    return None if missing else columns


class ProgressBar:
    """A one-line progress bar on stderr: ``导入 [######......] 120/300  40%``."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._pct = -1
        self._finished = False

    def __call__(self, done: int, total: int) -> None:
        if total <= 0 or self._finished:
            return
        done = min(done, total)
        pct = done * 100 // total
        # redraw only when the percentage moves: a 10 000-row file draws ~100 times, not 10 000
        if pct == self._pct and done < total:
            return
        self._pct = pct
        filled = self.width * done // total
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {pct:3d}%")
        if done == total:
            self.finish()
        self.stream.flush()

    def finish(self) -> None:
        """End the bar's line (also when the import stopped early), so the report starts on its own line."""
        if self._pct >= 0 and not self._finished:
            self.stream.write("\n")
            self.stream.flush()
        self._finished = True
