"""The tokens every argument grammar starts from: preparing and splitting the text, gluing operators
to their operands, and the units a quantity may carry (the catalogue's included). ``ArgError`` is
``bot.commands``', re-exported here."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from bot.commands import ArgError, normalize

__all__ = [
    "QTY_UNITS",
    "ArgError",
    "catalogue_units",
    "clip",
    "extra_units",
    "glue_operators",
    "prep",
    "split_words",
    "tokenize",
]


def prep(text: str) -> str:
    """Normalise (idempotent, so args already normalised by the dispatcher are unchanged)."""
    return normalize(text)


def clip(fragment: str, limit: int = 24) -> str:
    """A fragment short enough to quote on a phone."""
    flat = fragment.replace("\n", " ").strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# A comma is a thousands separator only between a digit and exactly three digits
# ("1,200", "20,000"); anywhere else it separates items ("A100×20,B200×5").
_TOKEN_SPLIT_RE = re.compile(r"\s+|[;、。]|(?<!\d)[,，]|[,，](?!\d{3}(?!\d))")


def tokenize(text: str) -> list[str]:
    """Split on spaces, line breaks and list separators, keeping thousands separators."""
    return [tok for tok in _TOKEN_SPLIT_RE.split(text) if tok]


def split_words(text: str) -> list[str]:
    """Split on spaces only (free text keeps its punctuation)."""
    return [w for w in text.split(" ") if w]


QTY_UNITS = (
    "个", "件", "台", "套", "箱", "吨", "米", "只", "支", "条", "张", "瓶", "袋", "包", "盒",
    "卷", "桶", "公斤", "斤", "千克", "克", "平米", "平方米", "平方", "方", "立方米", "立方",
    "对", "双", "批", "片", "根", "组", "本", "把", "辆", "部", "粒", "罐", "颗", "捆", "托",
    "板", "扎", "打", "副", "升", "块", "份", "枚", "节", "码", "盘", "轴", "圈", "排", "樘", "扇",
    "kg", "g", "t", "m", "pcs", "pc", "set", "sets",
)  # fmt: skip

# A catalogue unit may not contain what a number, an amount or a date is made of
# (a product sold by the "天" would turn "30天" into a quantity).
_NOT_IN_UNITS = frozenset("0123456789零〇一二两三四五六七八九十百千万亿元圆钱天日号月周年点分时秒xX×*@.-/")
_EXTRA_UNITS: ContextVar[tuple[str, ...]] = ContextVar("gendan_catalogue_units", default=())


def _usable_unit(unit: str) -> bool:
    return 0 < len(unit) <= 4 and all(ch.isalpha() and ch not in _NOT_IN_UNITS for ch in unit)


@contextmanager
def catalogue_units(units: Iterable[str | None]) -> Iterator[None]:
    """Also accept these units (the product catalogue's) after a quantity while parsing.

    The grammars are pure functions; the handler reads the catalogue's units and
    wraps the parse in this block. Units that clash with numbers, money or dates are ignored.
    """
    known = {u.lower() for u in QTY_UNITS}
    extra = sorted({u.strip().lower() for u in units if u and _usable_unit(u.strip())} - known,
                   key=len, reverse=True)
    token = _EXTRA_UNITS.set(tuple(extra))
    try:
        yield
    finally:
        _EXTRA_UNITS.reset(token)


def extra_units() -> tuple[str, ...]:
    """The catalogue units in effect (longest first); empty outside :func:`catalogue_units`."""
    return _EXTRA_UNITS.get()

_CN_DIGIT = "零〇一二两三四五六七八九十"
# CJK unit words (and the money words) that phones often separate from their number with a space
_SPACED_UNITS = "|".join(sorted((u for u in (*QTY_UNITS, "元", "块") if not u.isascii()), key=len, reverse=True))
_GLUE_RULES = (
    # "A100 × 20", "A100 *20" → "A100×20"
    (re.compile(r"\s*([×*])\s*"), r"\1"),
    # "螺丝 乘 100" → "螺丝乘100" (only before a number: 乘 also occurs in names)
    (re.compile(rf"\s*乘\s*(?=[\d{_CN_DIGIT}])"), "乘"),
    # "Box x 20" → "Box×20": a spaced x is always the multiplication sign
    (re.compile(rf"(?<=\S)\s+[xX]\s+(?=[\d{_CN_DIGIT}])"), "×"),
    # "20 个", "300 元" → "20个", "300元": a CJK unit word after a number belongs to it
    (re.compile(rf"(?<=[\d{_CN_DIGIT}百千万])\s+({_SPACED_UNITS})(?=\s|$|[,，;、])"), r"\1"),
    # "A100×20@300" and "A100×20 @ 300" → "A100×20 @300": the price is its own token
    (re.compile(r"\s*@\s*"), " @"),
)


@lru_cache(maxsize=32)
def _spaced_extra(units: tuple[str, ...]) -> re.Pattern[str]:
    alts = "|".join(re.escape(u) for u in units)
    return re.compile(rf"(?<=[\d{_CN_DIGIT}百千万])\s+({alts})(?=\s|$|[,，;、])", re.IGNORECASE)


def glue_operators(text: str) -> str:
    """Attach ``× * 乘 x`` to both operands and ``@`` to the price that follows it."""
    for pattern, repl in _GLUE_RULES:
        text = pattern.sub(repl, text)
    extra = extra_units()
    if extra:
        text = _spaced_extra(extra).sub(r"\1", text)
    return text.strip()
