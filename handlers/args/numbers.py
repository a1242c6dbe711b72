"""Numbers, money and quantities as typed in Chinese chats.

``20``, ``1,200``, ``0.5``, ``1.5万``, ``3千``, ``2w``, ``二十``, ``两百``, ``一千二`` (=1200),
``一万五`` (=15000), ``十二``, ``一百零五``; money adds ``元 块 ¥``; quantities add a unit.
"""

from __future__ import annotations

import functools
import re
from decimal import ROUND_HALF_UP, Decimal

from handlers.args.tokens import QTY_UNITS, ArgError, clip, extra_units, prep
from handlers.texts import parse as t

__all__ = [
    "QTY_UNITS",
    "looks_like_money",
    "parse_money",
    "parse_number",
    "parse_qty",
    "try_money",
    "try_number",
    "try_qty",
]

_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "俩": 2, "三": 3, "叁": 3,
    "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}  # fmt: skip
_SMALL = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000, "k": 1000, "K": 1000}
_BIG = {"万": 10**4, "w": 10**4, "W": 10**4, "亿": 10**8}
_PIECE_RE = re.compile(
    r"(?P<num>\d+(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    rf"|(?P<cn>[{''.join(_DIGITS)}])|(?P<small>[{''.join(_SMALL)}])|(?P<big>[{''.join(_BIG)}])"
)
#: numbers beyond this are typos (and would overflow the database columns)
_LIMIT = Decimal(10) ** 12


class _NotANumber(Exception):
    """Internal: the text does not have the shape of a number."""


def _pieces(text: str) -> list[tuple[str, Decimal]]:
    pieces: list[tuple[str, Decimal]] = []
    pos = 0
    while pos < len(text):
        match = _PIECE_RE.match(text, pos)
        if match is None:
            raise _NotANumber
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "num":
            value = Decimal(raw.replace(",", ""))
        else:
            value = Decimal({"cn": _DIGITS, "small": _SMALL, "big": _BIG}[kind][raw])
        pieces.append((kind, value))
        pos = match.end()
    return pieces


def _evaluate(pieces: list[tuple[str, Decimal]]) -> Decimal:
    """Value of digit/unit pieces: 一千二 → 1200, 一百零五 → 105, 1.5万 → 15000."""
    total = section = Decimal(0)
    current: Decimal | None = None
    last_small: Decimal | None = None
    last_big: Decimal | None = None
    # a single trailing digit right after a unit is shorthand for the next lower unit
    abbrev: Decimal | None = None
    prev = ""
    for kind, value in pieces:
        if kind in ("num", "cn"):
            if current is not None:
                raise _NotANumber  # "一二", "3 5"
            if kind == "cn" and value == 0:
                abbrev, prev = None, "zero"  # 一百零五: the 五 is ones, not tens
                continue
            current = value
        elif kind == "small":
            if (last_small is not None and value >= last_small) or (current is None and value != 10):
                raise _NotANumber
            section += (Decimal(1) if current is None else current) * value
            current, last_small, abbrev = None, value, value / 10
        else:
            if (last_big is not None and value >= last_big) or (current is None and section == 0):
                raise _NotANumber
            seg = section + (current or 0)
            total = (total + seg) * value if value > _BIG["万"] else total + seg * value
            section, current, last_small, last_big, abbrev = Decimal(0), None, None, value, value / 10
        prev = kind
    if current is not None:
        short = prev in ("num", "cn") and current == current.to_integral_value() and current < 10
        after_unit = abbrev is not None and short and len(pieces) > 1 and pieces[-2][0] in ("small", "big")
        section += current * abbrev if after_unit and abbrev is not None else current
    return total + section


def _tidy(value: Decimal) -> Decimal:
    """20 rather than 20.0 or 2E+1; 1.5 rather than 1.50."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def try_number(text: str) -> Decimal | None:
    """The number, or None when the text is not shaped like one; ArgError when too big."""
    body = prep(text).replace("，", ",")
    sign = Decimal(1)
    if body[:1] in ("-", "+"):
        sign, body = (Decimal(-1) if body[0] == "-" else Decimal(1)), body[1:]
    if not body:
        return None
    try:
        value = _evaluate(_pieces(body))
    except _NotANumber:
        return None
    if value > _LIMIT:
        raise ArgError(t.NUMBER_TOO_BIG.format(frag=clip(text)))
    return _tidy(sign * value)


def parse_number(text: str) -> Decimal:
    """``20`` ``1,200`` ``0.5`` ``1.5万`` ``3千`` ``二十`` ``两百`` ``一千二`` ``一万五`` ``十二`` → Decimal.

    Raises ArgError quoting the text when it is not a number or is above 10¹².
    """
    value = try_number(text)
    if value is None:
        raise ArgError(t.NOT_A_NUMBER.format(frag=clip(text)))
    return value


# "300元/台", "300元每台", "三百元一台" (一 only after the currency word: 三百一 is 310), "300/台"
_MONEY_RE = re.compile(
    r"(?:¥|RMB|rmb|人民币)?(?P<num>.+?)"
    r"(?:(?:元整|元|块钱|块|圆)(?:[/每一](?P<per>[^\d/]{1,3}))?|[/每](?P<bare_per>[^\d/]{1,3}))?"
)
_CENT = Decimal("0.01")


def try_money(text: str) -> Decimal | None:
    """The amount (quantized to 0.01), or None when the text is not shaped like money.

    Accepts ``300`` ``300元`` ``¥300`` ``300块`` ``2万`` ``2万元`` ``1,200.50`` and a
    per-unit tail ``300元/台`` ``300元每台`` ``三百元一台``.
    """
    body = prep(text).replace(" ", "")
    match = _MONEY_RE.fullmatch(body)
    if match is None:
        return None
    per = match.group("per") or match.group("bare_per")
    if per and unit_of(per) is None:
        return None
    value = try_number(match.group("num"))
    return None if value is None else value.quantize(_CENT, rounding=ROUND_HALF_UP)


def parse_money(text: str) -> Decimal:
    """An amount of money: ``¥20000`` ``20,000元`` ``2万`` ``300块`` → Decimal, quantized to 0.01."""
    value = try_money(text)
    if value is None:
        raise ArgError(t.NOT_A_MONEY.format(frag=clip(text)))
    return value


_MONEY_MARK_RE = re.compile(r"^(?:¥|RMB|rmb|人民币)|(?:元整|元|块钱|块|圆)(?:[/每一].{1,3})?$")


def looks_like_money(text: str) -> bool:
    """Whether the token is explicitly money (a currency sign or 元/块 after the number)."""
    return bool(_MONEY_MARK_RE.search(text)) and try_money(text) is not None


#: unit words accepted after a quantity (plus the catalogue's, see ``base.catalogue_units``).
#: ``块`` is among them: "5块" is a quantity where a quantity is expected (``数量 5块``,
#: ``A100×5块``, ``A100 5块`` before any quantity) and money where a price is (``A100 20台 300块``).
# QTY_UNITS lives in base (the glue rules need it); re-exported here

_UNITS_BY_LENGTH = sorted(QTY_UNITS, key=len, reverse=True)


@functools.lru_cache(maxsize=16)
def _units_by_last(extra: tuple[str, ...]) -> dict[str, list[str]]:
    """The units (with ``extra``, longest first, as :func:`_units`) by their last character: a word is
    compared only with the units it may end with, in that order (every quantity of every line used to try them all)."""
    units = sorted((*_UNITS_BY_LENGTH, *extra), key=len, reverse=True) if extra else _UNITS_BY_LENGTH
    by_last: dict[str, list[str]] = {}
    for unit in units:
        if unit:
            by_last.setdefault(unit[-1], []).append(unit)
    return by_last


def unit_of(word: str) -> str | None:
    """The canonical unit if ``word`` is exactly a unit word (ASCII case-insensitive)."""
    lowered = word.lower()
    return lowered if lowered in QTY_UNITS or lowered in extra_units() else None


def try_qty(text: str) -> tuple[Decimal, str | None] | None:
    """(quantity, unit) or None when the text is not shaped like a quantity."""
    body = prep(text).replace(" ", "")
    lowered = body.lower()
    for unit in _units_by_last(extra_units()).get(lowered[-1:], ()):
        if lowered.endswith(unit) and len(body) > len(unit):
            value = try_number(body[: -len(unit)])
            if value is not None:
                return value, unit
    value = try_number(body)
    return None if value is None else (value, None)


def parse_qty(text: str) -> tuple[Decimal, str | None]:
    """``20台`` → (20, "台"); ``二十`` → (20, None); ``1.5吨`` → (1.5, "吨"); ``5块`` → (5, "块").

    Called where a quantity is expected, so ``块`` is the unit here.
    """
    found = try_qty(text)
    if found is None:
        raise ArgError(t.NOT_A_QTY.format(frag=clip(text)))
    return found
