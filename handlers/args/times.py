"""Points in time for ``/提醒``: a date part, a time of day, or a delay from now.

``明天上午10点`` ``下午3点半`` ``晚上8点`` ``9点`` ``15:30`` ``下周一9点`` ``12-15 10:00``
``30分钟后`` ``半小时后`` ``1个半小时后`` ``2小时后`` ``3天后`` (keeps the time of day);
a bare date means 09:00 that day. A time already past is refused, never moved.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from handlers.args.dates import DateSpec, match_date, resolve_date
from handlers.args.numbers import try_number
from handlers.args.tokens import ArgError, clip, prep
from handlers.texts import parse as t

__all__ = ["match_when", "parse_when"]

_CN = "零一二两三四五六七八九十"
_DELAY_RE = re.compile(
    rf"(?:(?P<n>\d+(?:\.\d+)?|[{_CN}]{{1,3}})个?(?P<h1>半)?|(?P<h0>半)个?)"
    r"(?P<u>分钟|分|小时|钟头|个钟|钟)(?:以后|之后|后)"
)
_PERIOD_RE = re.compile(r"(?P<p>上午|早上|早晨|中午|下午|午后|傍晚|晚上|晚间|夜里|夜间|凌晨|早|晚)")
_CLOCK_RE = re.compile(
    rf"(?P<h>\d{{1,2}}|[{_CN}]{{1,3}})(?:点钟|点|时)"
    rf"(?:(?P<half>半)|(?P<quarter>一刻|三刻)|(?P<zero>整)|(?P<mm>[0-5]?\d)分?|(?P<mc>[{_CN}]{{1,3}})分)?"
    r"|(?P<h2>\d{1,2}):(?P<m2>\d{2})(?!\d)"
)
_SHORT_RE = re.compile(r"^([今明])([早晚])(?!上)")
_EVENING = ("下午", "午后", "傍晚", "晚上", "晚间", "夜里", "夜间", "晚")
_DEFAULT_TIME = time(9, 0)
_MAX_DELAY = timedelta(days=3660)


def _small_int(text: str) -> int:
    value = try_number(text)
    if value is None or value != value.to_integral_value():
        raise ArgError(t.BAD_TIME.format(frag=clip(text)))
    return int(value)


def _delay(match: re.Match[str], frag: str) -> timedelta:
    amount = Decimal("0.5") if match["h0"] else (try_number(match["n"]) or Decimal(0))
    if match["h1"]:
        amount += Decimal("0.5")
    minutes = amount * (1 if match["u"] in ("分钟", "分") else 60)
    if minutes <= 0 or minutes > _MAX_DELAY.total_seconds() / 60:
        raise ArgError(t.BAD_TIME.format(frag=clip(frag)))
    return timedelta(minutes=float(minutes))


def _clock(match: re.Match[str], period: str | None, frag: str) -> time:
    """The time of day, with 下午/晚上 adding 12 hours to 1-11."""
    if match["h2"] is not None:
        hour, minute = int(match["h2"]), int(match["m2"])
    else:
        hour = _small_int(match["h"])
        minute = 30 if match["half"] else 15 if match["quarter"] == "一刻" else 45 if match["quarter"] else 0
        if match["mm"]:
            minute = int(match["mm"])
        elif match["mc"]:
            minute = _small_int(match["mc"])
    if (period in _EVENING and 1 <= hour <= 11) or (period == "中午" and 1 <= hour <= 2):
        hour += 12
    elif (period in _EVENING and hour == 12) or (period is not None and period not in _EVENING and hour > 12):
        raise ArgError(t.BAD_TIME.format(frag=clip(frag)))  # 晚上12点, 上午15点: ask rather than guess
    if period == "凌晨" and hour == 12:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ArgError(t.BAD_TIME.format(frag=clip(frag)))
    return time(hour, minute)


def _skip_spaces(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] == " ":
        pos += 1
    return pos


def _at(day: date, clock: time, now: datetime) -> datetime:
    return datetime.combine(day, clock, tzinfo=now.tzinfo)


def _parts(text: str) -> tuple[DateSpec | None, str | None, re.Match[str] | None, int]:
    """The date spec, period word and clock match at the start of ``text``, and the end."""
    pos = 0
    found = match_date(text, prefix=True)
    spec = found[0] if found else None
    pos = _skip_spaces(text, found[1]) if found else 0
    period_match = _PERIOD_RE.match(text, pos)
    period = period_match["p"] if period_match else None
    pos = _skip_spaces(text, period_match.end()) if period_match else pos
    clock = _CLOCK_RE.match(text, pos)
    if clock is not None:
        pos = clock.end()
    elif period_match is not None:
        raise ArgError(t.NEED_CLOCK.format(frag=clip(text[: period_match.end()])))
    return spec, period, clock, pos


def match_when(text: str, now: datetime) -> tuple[datetime, str]:
    """The time at the start of ``text`` and the rest (the reminder's content), or ArgError."""
    # 明早 / 今晚 → 明天早上 / 今天晚上, only at the start: the content is not ours to change
    body = _SHORT_RE.sub(lambda m: f"{m[1]}天{m[2]}上", prep(text), count=1)
    delay = _DELAY_RE.match(body)
    if delay is not None:
        when = now + _delay(delay, delay.group())
        return when, _rest(body[delay.end() :])
    spec, period, clock, end = _parts(body)
    frag = body[:end].strip()
    if spec is None and clock is None:
        raise ArgError(t.NOT_A_TIME.format(frag=clip(body.split(" ")[0] if body else text)))
    if spec is not None and spec.kind == "after" and clock is None:
        when = now + timedelta(days=spec.offset)  # 3天后: same time of day
    else:
        day = now.date() if spec is None else resolve_date(spec, now.date(), forward=True, frag=frag)
        when = _at(day, _DEFAULT_TIME if clock is None else _clock(clock, period, frag), now)
    if when <= now:
        bare = spec is None and period is None and clock is not None and when.hour < 12
        hint = t.TIME_PAST_TRY_PM.format(frag=clip(frag)) if bare else ""
        raise ArgError(t.TIME_PAST.format(frag=clip(frag), when=when.strftime("%m-%d %H:%M")) + hint)
    return when, _rest(body[end:])


def _rest(text: str) -> str:
    return text.strip().lstrip(",，:").strip()


def parse_when(text: str, now: datetime) -> datetime:
    """A reminder time (whole text); ``now`` is aware in the business zone, so is the result.

    Past → ArgError (时间已过); a bare ``3点`` when 3:00 has passed is refused with a hint
    to write 下午3点 or 明天3点, never guessed.
    """
    when, rest = match_when(text, now)
    if rest:
        raise ArgError(t.TIME_EXTRA.format(frag=clip(rest)))
    return when
