"""Dates against fixed todays: a Sunday, a year end and a month end (handlers/args/dates.py)."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.args import ArgError, parse_date, parse_past_date

SUNDAY = date(2026, 11, 29)  # Sunday; the week is Mon 11-23 .. Sun 11-29
YEAR_END = date(2026, 12, 30)  # Wednesday; the week is Mon 12-28 .. Sun 2027-01-03
MONTH_END = date(2026, 1, 31)  # Saturday; February 2026 has 28 days


def test_fixed_todays_are_the_weekdays_the_tables_assume() -> None:
    assert (SUNDAY.weekday(), YEAR_END.weekday(), MONTH_END.weekday()) == (6, 2, 5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天", date(2026, 11, 29)),
        ("明天", date(2026, 11, 30)),
        ("后天", date(2026, 12, 1)),
        ("大后天", date(2026, 12, 2)),
        ("下周三", date(2026, 12, 2)),
        ("下星期三", date(2026, 12, 2)),
        ("下礼拜一", date(2026, 11, 30)),
        ("下周日", date(2026, 12, 6)),
        ("下下周一", date(2026, 12, 7)),
        ("周五", date(2026, 12, 4)),
        ("星期五", date(2026, 12, 4)),
        ("礼拜五", date(2026, 12, 4)),
        ("周日", date(2026, 11, 29)),  # a bare weekday counts today
        ("星期天", date(2026, 11, 29)),
        ("这周日", date(2026, 11, 29)),
        ("周一", date(2026, 11, 30)),
        ("周1", date(2026, 11, 30)),
        ("月底", date(2026, 11, 30)),
        ("本月底", date(2026, 11, 30)),
        ("月末", date(2026, 11, 30)),
        ("下月初", date(2026, 12, 1)),
        ("下个月初", date(2026, 12, 1)),
        ("下月底", date(2026, 12, 31)),
        ("下月中", date(2026, 12, 15)),
        ("年底", date(2026, 12, 31)),
        ("12月15日", date(2026, 12, 15)),
        ("12月15号", date(2026, 12, 15)),
        ("12月15", date(2026, 12, 15)),
        ("十二月十五日", date(2026, 12, 15)),
        ("12-15", date(2026, 12, 15)),
        ("12/15", date(2026, 12, 15)),
        ("12.15", date(2026, 12, 15)),
        ("１２－１５", date(2026, 12, 15)),
        ("2026-12-15", date(2026, 12, 15)),
        ("2026/12/15", date(2026, 12, 15)),
        ("2026.12.15", date(2026, 12, 15)),
        ("2026年12月15日", date(2026, 12, 15)),
        ("2027-1-5", date(2027, 1, 5)),
        ("15号", date(2026, 12, 15)),
        ("15日", date(2026, 12, 15)),
        ("十五号", date(2026, 12, 15)),
        ("29号", date(2026, 11, 29)),  # today counts
        ("30号", date(2026, 11, 30)),
        ("31号", date(2026, 12, 31)),  # November has no 31st
        ("1号", date(2026, 12, 1)),
        ("11-29", date(2026, 11, 29)),
        ("2-29", date(2028, 2, 29)),  # the next February 29th
        ("3天后", date(2026, 12, 2)),
        ("10天以后", date(2026, 12, 9)),
        ("2周后", date(2026, 12, 13)),
        ("12 月 15 日", date(2026, 12, 15)),
    ],
)
def test_dates_on_a_sunday(text: str, expected: date) -> None:
    assert parse_date(text, SUNDAY) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1-5", date(2027, 1, 5)),
        ("1月5日", date(2027, 1, 5)),
        ("1.5", date(2027, 1, 5)),
        ("15号", date(2027, 1, 15)),
        ("30号", date(2026, 12, 30)),
        ("31号", date(2026, 12, 31)),
        ("1号", date(2027, 1, 1)),
        ("明天", date(2026, 12, 31)),
        ("后天", date(2027, 1, 1)),
        ("大后天", date(2027, 1, 2)),
        ("月底", date(2026, 12, 31)),
        ("下月初", date(2027, 1, 1)),
        ("下月底", date(2027, 1, 31)),
        ("下周一", date(2027, 1, 4)),
        ("这周五", date(2027, 1, 1)),  # this week runs into next year
        ("本周日", date(2027, 1, 3)),
        ("周三", date(2026, 12, 30)),
        ("周二", date(2027, 1, 5)),
        ("12-31", date(2026, 12, 31)),
        ("十二月三十一日", date(2026, 12, 31)),
        ("2027-01-05", date(2027, 1, 5)),
        ("3天后", date(2027, 1, 2)),
        ("年底", date(2026, 12, 31)),
        ("明年初", date(2027, 1, 1)),
    ],
)
def test_dates_at_year_end(text: str, expected: date) -> None:
    assert parse_date(text, YEAR_END) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("月底", date(2026, 1, 31)),
        ("下月初", date(2026, 2, 1)),
        ("下月底", date(2026, 2, 28)),
        ("31号", date(2026, 1, 31)),
        ("30号", date(2026, 3, 30)),  # February has no 30th
        ("29号", date(2026, 3, 29)),  # nor a 29th in 2026
        ("1号", date(2026, 2, 1)),
        ("2-28", date(2026, 2, 28)),
        ("2月29日", date(2028, 2, 29)),
        ("周六", date(2026, 1, 31)),
        ("这周日", date(2026, 2, 1)),
        ("下周一", date(2026, 2, 2)),
        ("明天", date(2026, 2, 1)),
    ],
)
def test_dates_at_month_end(text: str, expected: date) -> None:
    assert parse_date(text, MONTH_END) == expected


@pytest.mark.parametrize(
    ("text", "today", "fragment"),
    [
        ("这周五", SUNDAY, "2026-11-27，已经过去了"),
        ("本周五", SUNDAY, "已经过去了"),
        ("上周五", SUNDAY, "已经过去了"),
        ("昨天", SUNDAY, "2026-11-28，已经过去了"),
        ("2026-11-28", SUNDAY, "已经过去了"),
        ("2025-12-15", SUNDAY, "已经过去了"),
        ("这周五", MONTH_END, "2026-01-30"),
        ("2-30", SUNDAY, "「2-30」不是有效日期"),
        ("13-01", SUNDAY, "不是有效日期"),
        ("2026-02-29", SUNDAY, "不是有效日期"),
        ("32号", SUNDAY, "不是有效日期"),
        ("0号", SUNDAY, "不是有效日期"),
        ("2099-01-01", SUNDAY, "太远"),
        ("9999天后", SUNDAY, "太远"),
        ("下周八", SUNDAY, "没看懂日期"),
        ("12-15-16", SUNDAY, "没看懂日期"),
        ("改天", SUNDAY, "没看懂日期"),
        ("", SUNDAY, "没看懂日期"),
        ("月初", SUNDAY, "2026-11-01，已经过去了"),
    ],
)
def test_dates_refused(text: str, today: date, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_date(text, today)
    assert fragment in err.value.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天", date(2026, 11, 29)),
        ("昨天", date(2026, 11, 28)),
        ("前天", date(2026, 11, 27)),
        ("11-28", date(2026, 11, 28)),
        ("12-15", date(2025, 12, 15)),  # looking back: last December
        ("11月1日", date(2026, 11, 1)),
        ("28号", date(2026, 11, 28)),
        ("30号", date(2026, 10, 30)),
        ("31号", date(2026, 10, 31)),
        ("周五", date(2026, 11, 27)),
        ("周日", date(2026, 11, 29)),
        ("上周五", date(2026, 11, 20)),
        ("2026-10-01", date(2026, 10, 1)),
        ("11.28", date(2026, 11, 28)),
        ("上月底", date(2026, 10, 31)),
        ("月初", date(2026, 11, 1)),
    ],
)
def test_past_dates(text: str, expected: date) -> None:
    assert parse_past_date(text, SUNDAY) == expected


@pytest.mark.parametrize("text", ["明天", "2026-12-01", "下周一", "月底"])
def test_past_dates_refuse_the_future(text: str) -> None:
    with pytest.raises(ArgError, match="还没到"):
        parse_past_date(text, SUNDAY)
