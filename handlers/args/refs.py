"""Order references: ``#12`` ``＃12`` ``12号单`` ``单号12`` ``订单12`` and a bare ``12`` in front."""

from __future__ import annotations

import re

from handlers.args.tokens import ArgError, clip, prep
from handlers.texts import parse as t

__all__ = ["leading_explicit_ref", "parse_order_ref", "split_order_ref", "take_explicit_ref"]

# at most 9 digits: an order number, not a tracking number or an amount
_NO = r"(\d{1,9})(?!\d)"
_EXPLICIT = rf"#\s*{_NO}(?:号单|号订单)?|{_NO}号(?:订单|单)|(?:单号|订单号?)[:=]?\s*#?\s*{_NO}"
_EXPLICIT_RE = re.compile(_EXPLICIT)
_BARE_RE = re.compile(rf"{_NO}(?=[\s,，:]|$)")
_TOKEN_RE = re.compile(r"\S+")


def _number(match: re.Match[str], frag: str) -> int:
    value = int(next(g for g in match.groups() if g is not None))
    if value <= 0:
        raise ArgError(t.BAD_ORDER_REF.format(frag=clip(frag)))
    return value


def parse_order_ref(text: str) -> int:
    """``#12`` ``＃12`` ``12号单`` ``单号12`` ``12`` → 12; anything else → ArgError."""
    body = prep(text)
    match = _EXPLICIT_RE.fullmatch(body) or _BARE_RE.fullmatch(body)
    if match is None:
        raise ArgError(t.BAD_ORDER_REF.format(frag=clip(text)))
    return _number(match, body)


def _rest(before: str, after: str) -> str:
    return prep(f"{before} {after}".strip().lstrip(",，:;").strip())


def leading_explicit_ref(args: str) -> tuple[int | None, str]:
    """An explicit reference at the very start (``#12顺丰`` works) and the rest."""
    body = prep(args)
    start = _EXPLICIT_RE.match(body)
    if start is None:
        return None, body
    return _number(start, start.group()), _rest("", body[start.end() :])


def take_explicit_ref(args: str) -> tuple[int | None, str]:
    """An explicit reference (``#12``, ``12号单``, ``单号12``) at the start or as a word anywhere.

    A bare number is never taken here (it may be an amount, a quantity or a time).
    """
    no, rest = leading_explicit_ref(args)
    if no is not None:
        return no, rest
    body = prep(args)
    for word in _TOKEN_RE.finditer(body):
        match = _EXPLICIT_RE.fullmatch(word.group().rstrip(",，:"))
        if match is not None:
            return _number(match, word.group()), _rest(body[: word.start()], body[word.end() :])
    return None, body


def split_order_ref(args: str) -> tuple[int, str]:
    """The order number and the rest of the arguments.

    An explicit reference wins wherever it is (``/回款 20000 #12``); otherwise a bare
    number in front is the order (``/回款 12 20000``). Missing → ArgError.
    """
    no, rest = take_explicit_ref(args)
    if no is not None:
        return no, rest
    body = prep(args)
    bare = _BARE_RE.match(body)
    if bare is None:
        raise ArgError(t.MISSING_ORDER_REF)
    return _number(bare, bare.group()), _rest("", body[bare.end() :])
