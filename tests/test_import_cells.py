"""How import cells are read (Excel's floats and dates, English state codes, Excel serial dates, compact
dates) and how the header row is matched (blank, doubled and unknown columns)."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from handlers import import_export_cli as importing
from handlers.import_export_cli import Cells, parse_day
from handlers.import_file_reader import ProgressBar, Table, map_headers
from storage.services.import_report import Report
from storage.vocab import State


def cells(values: list[object]) -> tuple[Cells, Report]:
    report = Report("customers", False)
    return Cells(2, values, {"a": 0, "b": 1}, report), report


def test_text_cells_as_excel_gives_them() -> None:
    c, _ = cells([13800138000.0, datetime(2026, 12, 15, 0, 0)])  # noqa: DTZ001 (Excel has no zones)
    assert c.text("a") == "13800138000" and c.text("b") == "2026-12-15"
    c, _ = cells([1.5, date(2026, 1, 2)])
    assert c.text("a") == "1.5" and c.text("b") == "2026-01-02"


def test_a_true_or_false_cell_is_not_a_number() -> None:
    c, report = cells([True, None])
    assert c.number("a") is None and c.bad
    assert c.number("b") is None  # empty stays empty
    assert [e for e in report.errors] and "not_number" in str(report.errors[0])


@pytest.mark.parametrize(("value", "state"), [("confirmed", State.CONFIRMED), ("CLOSED", State.CLOSED),
                                              ("已结清", State.COMPLETED), ("暂停", State.ON_HOLD)])
def test_states_in_chinese_or_english(value: str, state: State) -> None:
    c, _ = cells([value, None])
    assert c.state("a") is state and not c.bad
    assert c.state("b") is None


@pytest.mark.parametrize(("value", "day"), [
    (46006, date(2025, 12, 15)), (46006.75, date(2025, 12, 15)), (0, None), (3_000_000, None),
    ("20261215", date(2026, 12, 15)), ("2026年12月15日", date(2026, 12, 15)), ("2026-02-30", None),
    ("2026.12.15 10:30", date(2026, 12, 15)), ("下周", None), (True, None),
])
def test_days_from_cells(value: object, day: date | None) -> None:
    assert parse_day(value) == day


def test_headers_blank_doubled_and_unknown() -> None:
    report = Report("customers", False)
    table = Table(1, ["客户名称", "", "名称", "备注栏"])
    assert map_headers("customers", table, report) == {"name": 0}
    notes = " ".join(str(n) for n in report.notes)
    assert "twice_column" in notes and "unknown_columns" in notes and "备注栏" in notes


def test_the_progress_bar_draws_once_per_percent_and_finishes_once() -> None:
    out = io.StringIO()
    bar = ProgressBar("导入", out, width=10)
    bar(0, 0)  # nothing to do: nothing drawn
    assert out.getvalue() == ""
    for done in range(0, 1001):
        bar(done, 1000)
    assert out.getvalue().count("%") == 101
    bar.finish()
    bar.finish()
    bar(5, 10)  # after the finish nothing more is drawn
    assert out.getvalue().endswith("\n") and out.getvalue().count("\n") == 1


def test_the_os_user_falls_back_when_there_is_no_login(monkeypatch: pytest.MonkeyPatch) -> None:
    def nobody() -> str:
        raise OSError("no login name")

    monkeypatch.setattr(importing.getpass, "getuser", nobody)
    assert importing._os_user() == "cli"


def test_a_decimal_cell_keeps_its_digits(tmp_path: Path) -> None:
    c, _ = cells([0.1, "1.5万"])
    assert c.number("a") == Decimal("0.1") and c.number("b") == Decimal(15000)
