"""Periods for ``/对账 客户 [月份|起 止]`` and ``/报表 [本周|本月|上月|上周]``."""

from __future__ import annotations

import re
from datetime import date, timedelta

from handlers.args.dates import match_date, month_end, parse_past_date
from handlers.args.numbers import try_number
from handlers.args.tokens import ArgError, clip, prep, split_words
from handlers.texts import parse as t

__all__ = ["parse_report_period", "parse_statement"]

_MONTH_RE = re.compile(
    r"(?:(?P<y>\d{4})(?:年|[-/.]))?(?P<m>\d{1,2}|[一二三四五六七八九十]{1,3})(?(y)月?|月)(?:份)?"
)
_RANGE_SPLIT_RE = re.compile(r"\s*(?:至|到|~|—|--)\s*")
_RELATIVE = ("本月", "这个月", "这月", "上月", "上个月", "今年", "本年", "去年")


def _month_index(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _relative(word: str, today: date) -> tuple[date, date] | None:
    if word in ("本月", "这个月", "这月"):
        return today.replace(day=1), today
    if word in ("上月", "上个月"):
        year, month = _month_index(today, -1)
        return date(year, month, 1), month_end(year, month)
    if word in ("今年", "本年"):
        return date(today.year, 1, 1), today
    if word == "去年":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    return None


def _month(word: str, today: date) -> tuple[date, date] | None:
    """``11月`` (the latest November up to now), ``2026-11``, ``2026年11月``."""
    match = _MONTH_RE.fullmatch(word)
    if match is None:
        return None
    value = try_number(match["m"])
    month = int(value) if value is not None and value == value.to_integral_value() else 0
    if not 1 <= month <= 12:
        raise ArgError(t.BAD_MONTH.format(frag=clip(word)))
    year = int(match["y"]) if match["y"] else today.year - (1 if month > today.month else 0)
    first = date(year, month, 1)
    if first > today or abs(year - today.year) > 10:
        raise ArgError(t.FUTURE_MONTH.format(frag=clip(word)))
    return first, min(month_end(year, month), today)


def _period(words: list[str], today: date) -> tuple[date, date] | None:
    """The period written by the trailing words, or None if they are not a period."""
    text = " ".join(words)
    if len(words) == 1:
        found = _relative(words[0], today) or _month(words[0], today)
        if found is not None:
            return found
    parts = [p for p in _RANGE_SPLIT_RE.split(text) if p] if _RANGE_SPLIT_RE.search(text) else words
    if len(parts) == 2 and all(_is_date(p) for p in parts):
        start, end = parse_past_date(parts[0], today), parse_past_date(parts[1], today)
        if start > end:
            raise ArgError(t.RANGE_REVERSED.format(frag=clip(text)))
        return start, end
    return None


def _is_date(text: str) -> bool:
    try:
        return match_date(text.replace(" ", ""), allow_dot=True) is not None
    except ArgError:
        return True


def parse_statement(args: str, today: date) -> tuple[str, date, date]:
    """``华为 11月`` ``华为 2026-11`` ``华为 上月`` ``华为 本月`` ``华为 2026-10-01 2026-10-31``
    (also ``10-01至10-31``) → (customer, first day, last day); default: this month up to today.

    A month without a year is the latest such month up to now (statements look back).
    """
    words = split_words(prep(args).replace("\n", " "))
    for cut in (len(words) - 1, len(words) - 2, len(words) - 3):
        if cut < 1:
            continue
        period = _period(words[cut:], today)
        if period is not None:
            return " ".join(words[:cut]), period[0], period[1]
    if not words:
        raise ArgError(t.STATEMENT_NO_CUSTOMER)
    if len(words) == 1 and (_period(words, today) is not None):
        raise ArgError(t.STATEMENT_NO_CUSTOMER)
    return " ".join(words), today.replace(day=1), today


_REPORT_WORDS = {
    "": "本周", "本周": "本周", "这周": "本周", "本星期": "本周", "上周": "上周", "上星期": "上周",
    "本月": "本月", "这个月": "本月", "这月": "本月", "上月": "上月", "上个月": "上月",
    "今年": "今年", "本年": "今年",
}  # fmt: skip


def parse_report_period(args: str, today: date) -> tuple[str, date, date]:
    """``本周`` (default) / ``上周`` / ``本月`` / ``上月`` / ``今年`` → (label, first day, last day).

    Weeks run Monday to Sunday; 本周 and 本月 end on their last day even if it is ahead.
    """
    body = prep(args).replace(" ", "")
    label = _REPORT_WORDS.get(body)
    if label is None:
        raise ArgError(t.REPORT_BAD_PERIOD.format(frag=clip(body)))
    monday = today - timedelta(days=today.weekday())
    if label == "本周":
        return label, monday, monday + timedelta(days=6)
    if label == "上周":
        return label, monday - timedelta(days=7), monday - timedelta(days=1)
    if label == "今年":
        return label, date(today.year, 1, 1), date(today.year, 12, 31)
    year, month = _month_index(today, 0 if label == "本月" else -1)
    return label, date(year, month, 1), month_end(year, month)
