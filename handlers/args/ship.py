"""``/发货``: lines, carrier and tracking number in any order."""

from __future__ import annotations

import re
from decimal import Decimal

from handlers.args.models import ShipArgs
from handlers.args.numbers import looks_like_money, try_qty
from handlers.args.refs import split_order_ref
from handlers.args.tokens import ArgError, clip, glue_operators, tokenize
from handlers.args.words import split_px
from handlers.texts import parse as t

__all__ = ["CARRIERS", "parse_ship"]

#: alias → canonical carrier name; the canonical names are what the order card shows
_CARRIER_ALIASES: dict[str, str] = {
    "顺丰": "顺丰", "中通": "中通", "圆通": "圆通", "申通": "申通", "韵达": "韵达", "京东": "京东",
    "EMS": "EMS", "中国邮政": "邮政", "邮政": "邮政", "德邦": "德邦", "极兔": "极兔", "百世": "百世",
    "跨越": "跨越", "安能": "安能", "壹米滴答": "壹米滴答", "宅急送": "宅急送", "天天": "天天",
    "客户自提": "自提", "自提": "自提", "送货上门": "送货", "送货": "送货", "自送": "送货",
    "货拉拉": "货拉拉", "专车": "专车", "货运": "物流", "物流": "物流", "快递": "快递",
}  # fmt: skip
CARRIERS = tuple(dict.fromkeys(_CARRIER_ALIASES.values()))
_ALIASES_BY_LENGTH = sorted(_CARRIER_ALIASES, key=len, reverse=True)
_CARRIER_SUFFIXES = ("快递", "速运", "速递", "物流", "快运", "")
_TRACKING_KW_RE = re.compile(r"(?:快递单号|运单号|物流单号|快递号|单号)[:=]?")
_TRACKING_RE = re.compile(r"(?=[A-Za-z0-9-]*\d)[A-Za-z0-9][A-Za-z0-9-]{5,39}")
_EXPLICIT_TRACKING_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{2,39}")
# right after a carrier name any letters/digits are its tracking number, however short ("顺丰 SF123")
_AFTER_CARRIER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{2,39}")
# glued to a carrier name ("顺丰SF123"): the same, but with a digit (so "EMSX" is not EMS + "X")
_GLUED_TRACKING_RE = re.compile(r"(?=[A-Za-z-]*\d)[A-Za-z0-9][A-Za-z0-9-]{2,39}")
_ALL_WORDS = frozenset({"全部", "全发", "全部发货", "全部发出", "剩余", "剩下的", "发完", "全部发完"})


def _carrier(word: str) -> tuple[str, str] | None:
    """(canonical carrier, what follows it in the word) when the word names a carrier."""
    for alias in _ALIASES_BY_LENGTH:
        if word[: len(alias)].upper() == alias:
            rest = word[len(alias) :]
            for suffix in _CARRIER_SUFFIXES:
                if suffix and rest.startswith(suffix):
                    rest = rest[len(suffix) :]
                    break
            if not rest or _GLUED_TRACKING_RE.fullmatch(rest):
                return _CARRIER_ALIASES[alias], rest
    return None


class _Shipment:
    def __init__(self) -> None:
        self.lines: list[tuple[str, Decimal]] = []
        self.carrier: str | None = None
        self.tracking: str | None = None

    def set_carrier(self, name: str) -> None:
        if self.carrier not in (None, name):
            raise ArgError(t.SHIP_TWO_CARRIERS.format(a=self.carrier, b=name))
        self.carrier = name

    def set_tracking(self, number: str) -> None:
        if self.tracking not in (None, number):
            raise ArgError(t.SHIP_TWO_TRACKINGS.format(a=self.tracking, b=number))
        self.tracking = number

    def add_line(self, product: str, qty: Decimal, frag: str) -> None:
        if qty <= 0:
            raise ArgError(t.QTY_NOT_POSITIVE.format(frag=clip(frag)))
        self.lines.append((product, qty))


def _ship_qty(word: str) -> tuple[Decimal, str | None] | None:
    """A quantity; ``5块`` counts (a shipment has no prices, so 块 can only be a unit here)."""
    try:
        found = try_qty(word)
    except ArgError:
        return None  # too big for a quantity: a tracking number
    if found is None or (looks_like_money(word) and found[1] != "块"):
        return None
    return found


def _is_qty(word: str) -> bool:
    return _ship_qty(word) is not None


def _starts_line(toks: list[str], j: int) -> bool:
    """Whether an order line starts at token j (``A100×8`` or ``A100 8台``)."""
    word = toks[j]
    if split_px(word) is not None:
        return True
    return j + 1 < len(toks) and _is_qty(toks[j + 1]) and not _is_qty(word) and _carrier(word) is None


def _tracking_after_carrier(toks: list[str], j: int) -> str | None:
    """The token after a carrier name when it is that carrier's tracking number.

    Whatever its shape (``SF123``, ``773012``, ``ABC-12``), unless it starts something
    else: an order line, another carrier, 单号…, or 全部.
    """
    if j >= len(toks):
        return None
    word = toks[j]
    if (word in _ALL_WORDS or _TRACKING_KW_RE.match(word) or _carrier(word) is not None
            or _starts_line(toks, j) or not _AFTER_CARRIER_RE.fullmatch(word)):
        return None
    return word


def _read(toks: list[str], ship: _Shipment) -> None:
    j = 0
    while j < len(toks):
        word = toks[j]
        keyword = _TRACKING_KW_RE.match(word)
        px = split_px(word)
        if word in _ALL_WORDS:
            pass
        elif keyword is not None:
            number = word[keyword.end() :] or (toks[j + 1] if j + 1 < len(toks) else "")
            if not _EXPLICIT_TRACKING_RE.fullmatch(number):
                raise ArgError(t.SHIP_BAD_TRACKING.format(frag=clip(f"{word} {number}".strip())))
            ship.set_tracking(number)
            j += 0 if word[keyword.end() :] else 1
        elif px is not None:
            ship.add_line(px[0], px[1], word)
        elif j + 1 < len(toks) and _is_qty(toks[j + 1]) and not _is_qty(word) and _carrier(word) is None:
            found = _ship_qty(toks[j + 1])
            assert found is not None
            ship.add_line(word, found[0], f"{word} {toks[j + 1]}")
            j += 1
        elif (carrier := _carrier(word)) is not None:
            ship.set_carrier(carrier[0])
            if carrier[1]:
                ship.set_tracking(carrier[1])
            elif (following := _tracking_after_carrier(toks, j + 1)) is not None:
                ship.set_tracking(following)
                j += 1
        elif _TRACKING_RE.fullmatch(word):
            ship.set_tracking(word)
        else:
            raise ArgError(t.NOT_UNDERSTOOD.format(frag=clip(word)) + t.HINT_SHIP)
        j += 1


def parse_ship(args: str) -> ShipArgs:
    """``#12 顺丰 SF1234567890``, ``#12 A100 8台 B200×2 SF123456 顺丰``, ``#12 单号 SF123456 顺丰``.

    No lines means "everything that remains". A tracking number is the word right after
    the carrier (letters, digits, ``-``; at least 3), a word of letters and digits
    elsewhere (at least 6, with a digit), or anything after 单号/运单号.
    """
    no, rest = split_order_ref(args)
    ship = _Shipment()
    _read(tokenize(glue_operators(rest)), ship)
    return ShipArgs(order_no=no, lines=tuple(ship.lines), carrier=ship.carrier, tracking_no=ship.tracking)
