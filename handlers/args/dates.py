"""Calendar dates as typed in Chinese chats, resolved against a given ``today``.

Two directions: :func:`parse_date` (交期, reminders) looks forward — a date without a
year, a day without a month and a bare weekday mean the next such day from today on,
and a date in the past is refused; :func:`parse_past_date` (回款, 对账) looks back —
the same forms mean the latest such day up to today, and a future date is refused.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from handlers.args.numbers import try_number
from handlers.args.tokens import ArgError, clip, prep
from handlers.texts import parse as t

__all__ = ["DateSpec", "match_date", "month_end", "parse_date", "parse_past_date", "resolve_date"]

_N = "[0-9零〇一二两三四五六七八九十]{1,4}"
_D2 = r"\d{1,2}(?!\d)"


@dataclass(frozen=True)
class DateSpec:
    """A parsed but unresolved date expression."""

    kind: str  # "ymd" "md" "d" "offset" "after" "weekday" "month_part" "year_part"
    year: int = 0
    month: int = 0
    day: int = 0
    #: days for offset/after, weeks for weekday (None-like 99 = bare weekday), months/years for parts
    offset: int = 0
    part: str = ""


_BARE_WEEK = 99
#: a month-day without a year means a day in the coming half year; later ones need the year
_YEARLESS_AHEAD = timedelta(days=183)
_OFFSET_WORDS = {
    "今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3,
    "昨天": -1, "昨日": -1, "前天": -2, "大前天": -3,
}  # fmt: skip
_WEEK_WORDS = {"": _BARE_WEEK, "这": 0, "这个": 0, "本": 0, "下": 1, "下个": 1, "下下": 2, "下下个": 2,
               "上": -1, "上个": -1}  # fmt: skip
_MONTH_WORDS = {
    "": 0,
    "本": 0,
    "这": 0,
    "这个": 0,
    "下": 1,
    "下个": 1,
    "下下": 2,
    "下下个": 2,
    "上": -1,
    "上个": -1,
}
_YEAR_WORDS = {"": 0, "今": 0, "本": 0, "明": 1, "去": -1}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "1": 0, "2": 1, "3": 2,
             "4": 3, "5": 4, "6": 5, "7": 6}  # fmt: skip


def _int(text: str) -> int:
    value = try_number(text)
    if value is None or value != value.to_integral_value() or value < 0:
        raise ArgError(t.NOT_A_DATE.format(frag=clip(text)))
    return int(value)


_Builder = Callable[[re.Match[str]], DateSpec]


def _offset(m: re.Match[str]) -> DateSpec:
    return DateSpec("offset", offset=_OFFSET_WORDS[m["w"]])


def _after(m: re.Match[str]) -> DateSpec:
    return DateSpec("after", offset=_int(m["n"]) * (7 if m["u"] != "天" and m["u"] != "日" else 1))


def _weekday(m: re.Match[str]) -> DateSpec:
    return DateSpec("weekday", day=_WEEKDAYS[m["wd"]], offset=_WEEK_WORDS[m["wo"] or ""])


def _month_part(m: re.Match[str]) -> DateSpec:
    return DateSpec("month_part", offset=_MONTH_WORDS[m["mo"] or ""], part=m["mp"])


def _year_part(m: re.Match[str]) -> DateSpec:
    return DateSpec("year_part", offset=_YEAR_WORDS[m["yo"] or ""], part=m["yp"])


def _ymd(m: re.Match[str]) -> DateSpec:
    return DateSpec("ymd", year=int(m["y"]), month=_int(m["m"]), day=_int(m["d"]))


def _md(m: re.Match[str]) -> DateSpec:
    return DateSpec("md", month=_int(m["m"]), day=_int(m["d"]))


def _day(m: re.Match[str]) -> DateSpec:
    return DateSpec("d", day=_int(m["d"]))


# (pattern, builder, uses a dot) in the order they are tried; longer forms first
_FORMS: tuple[tuple[re.Pattern[str], _Builder, bool], ...] = (
    (re.compile(r"(?P<w>大后天|大前天|今天|今日|明天|明日|后天|昨天|昨日|前天)"), _offset, False),
    (re.compile(rf"(?P<n>{_N})个?(?P<u>天|日|周|星期|礼拜)(?:以后|之后|后)"), _after, False),
    (
        re.compile(r"(?P<wo>下下个?|下个?|上个?|这个?|本)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])"),
        _weekday,
        False,
    ),
    (re.compile(r"(?P<mo>下下个?|下个?|上个?|这个?|本)?月(?P<mp>初|中|底|末)"), _month_part, False),
    (re.compile(r"(?P<yo>今|本|明|去)?年(?P<yp>初|底|末)"), _year_part, False),
    (re.compile(rf"(?P<y>\d{{4}})年(?P<m>{_N})月(?P<d>{_N})[日号]?"), _ymd, False),
    (re.compile(rf"(?P<y>\d{{4}})(?P<s>[-/])(?P<m>{_D2})(?P=s)(?P<d>{_D2})"), _ymd, False),
    (re.compile(rf"(?P<y>\d{{4}})\.(?P<m>{_D2})\.(?P<d>{_D2})"), _ymd, False),
    (re.compile(rf"(?P<m>{_N})月(?P<d>{_N})[日号]?"), _md, False),
    (re.compile(rf"(?P<m>{_D2})[-/](?P<d>{_D2})"), _md, False),
    (re.compile(rf"(?P<m>{_D2})\.(?P<d>{_D2})"), _md, True),
    (re.compile(rf"(?P<d>{_N})[日号]"), _day, False),
)


def match_date(text: str, *, allow_dot: bool = False, prefix: bool = False) -> tuple[DateSpec, int] | None:
    """The date expression at the start of ``text`` (all of it unless ``prefix``) and its length.

    ``12.15`` (month.day) is only a date with ``allow_dot``: elsewhere it is a number.
    Raises ArgError only for a date-shaped text with impossible numbers.
    """
    for pattern, build, dotted in _FORMS:
        if dotted and not allow_dot:
            continue
        match = pattern.match(text) if prefix else pattern.fullmatch(text)
        if match is not None:
            return build(match), match.end()
    return None


def month_end(year: int, month: int) -> date:
    """The last day of that month."""
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _candidates(spec: DateSpec, today: date, step: int) -> Iterator[date]:
    """Dates that a yearless/monthless spec may mean, walking from today by ``step``."""
    if spec.kind == "md":
        years = (today.year + step * k for k in range(9))  # Feb 29 may need 8 years
        for year in years:
            try:
                yield date(year, spec.month, spec.day)
            except ValueError:
                continue
    else:
        for k in range(13):
            year, month = _add_months(today, step * k)
            if spec.day <= calendar.monthrange(year, month)[1]:
                yield date(year, month, spec.day)


def _resolve_fixed(spec: DateSpec, today: date, forward: bool) -> date:
    if spec.kind in ("offset", "after"):
        return today + timedelta(days=spec.offset)
    if spec.kind == "weekday":
        if spec.offset == _BARE_WEEK:
            delta = (spec.day - today.weekday()) % 7
            return today + timedelta(days=delta if forward else delta - 7 if delta else 0)
        return today + timedelta(days=7 * spec.offset + spec.day - today.weekday())
    if spec.kind == "month_part":
        year, month = _add_months(today, spec.offset)
        return {"初": date(year, month, 1), "中": date(year, month, 15)}.get(spec.part) or month_end(
            year, month
        )
    if spec.kind == "year_part":
        year = today.year + spec.offset
        return date(year, 1, 1) if spec.part == "初" else date(year, 12, 31)
    return date(spec.year, spec.month, spec.day)


def resolve_date(spec: DateSpec, today: date, *, forward: bool, frag: str) -> date:
    """Turn a spec into a date (no past/future check here); ArgError if impossible."""
    if spec.kind in ("md", "d"):
        month_ok = spec.kind == "d" or 1 <= spec.month <= 12
        if not month_ok or not 1 <= spec.day <= (
            31 if spec.kind == "d" else calendar.monthrange(2000, spec.month)[1]
        ):
            raise ArgError(t.INVALID_DATE.format(frag=clip(frag)))
        step = 1 if forward else -1
        for day in _candidates(spec, today, step):
            if (day >= today) if forward else (day <= today):
                leap_day = (spec.month, spec.day) == (2, 29)  # "the next 2-29" is meant literally
                if forward and spec.kind == "md" and not leap_day and day - today > _YEARLESS_AHEAD:
                    # "12-01" typed on 12-05 is a mistake far more often than next December
                    raise ArgError(t.MONTH_DAY_PASSED.format(
                        frag=clip(frag), today=f"{today:%m-%d}", full=day.isoformat()))
                return day
        raise ArgError(t.INVALID_DATE.format(frag=clip(frag)))
    if spec.kind in ("offset", "after") and abs(spec.offset) > 3660:
        raise ArgError(t.DATE_TOO_FAR.format(frag=clip(frag)))
    if spec.kind == "ymd" and abs(spec.year - today.year) > 10:
        raise ArgError(t.DATE_TOO_FAR.format(frag=clip(frag)))
    try:
        return _resolve_fixed(spec, today, forward)
    except (ValueError, OverflowError):
        raise ArgError(t.INVALID_DATE.format(frag=clip(frag))) from None


def _spec_of(text: str) -> tuple[DateSpec, str]:
    body = prep(text).replace(" ", "")
    found = match_date(body, allow_dot=True)
    if found is None:
        raise ArgError(t.NOT_A_DATE.format(frag=clip(text)))
    return found[0], body


def parse_date(text: str, today: date) -> date:
    """A due date: ``明天`` ``下周三`` ``这周五`` ``周五`` ``月底`` ``下月初`` ``12月15日`` ``12-15``
    ``12/15`` ``12.15`` ``2026-12-15`` ``15号`` …; the next such day from today on; past → ArgError.

    A bare weekday counts today (周五 on a Friday is today). 下周三 is the Wednesday of
    the next calendar week (weeks start on Monday); 这周五 may be past and is then refused.
    """
    spec, body = _spec_of(text)
    day = resolve_date(spec, today, forward=True, frag=body)
    if day < today:
        raise ArgError(t.PAST_DATE.format(frag=clip(body), date=day.isoformat()))
    return day


def parse_past_date(text: str, today: date) -> date:
    """A date something happened on (回款, 对账): the latest such day up to today; future → ArgError."""
    spec, body = _spec_of(text)
    day = resolve_date(spec, today, forward=False, frag=body)
    if day > today:
        raise ArgError(t.FUTURE_DATE.format(frag=clip(body), date=day.isoformat()))
    return day
