"""Words of the order grammar: tokens with their keyword, order-line words, classification."""

from __future__ import annotations

import re
from decimal import Decimal

from handlers.args.dates import match_date
from handlers.args.fields import KEYWORD_SEP_RE, split_keyword
from handlers.args.numbers import looks_like_money, try_number, try_qty
from handlers.args.tokens import ArgError, glue_operators, tokenize
from handlers.texts import parse as t

__all__ = [
    "DUE_SUFFIXES",
    "Tok",
    "is_date_word",
    "is_name",
    "is_qty_word",
    "order_tokens",
    "split_px",
    "strip_due_suffix",
    "unknown_hint",
]

Tok = tuple[str | None, str]  # (field of a keyword, text)
_PX_SEPS = "×*乘xX"
#: the longest quantity text after ×: "一千二百三十四万五千六百七十八点五公斤" fits easily
_MAX_QTY_CHARS = 40
_PHONE_RE = re.compile(r"1\d{10}|0\d{2,3}-?\d{7,8}")
_ARROW_RE = re.compile(r"\s*(?:→|->|=>|⇒|➡)\s*")
_CHANGE_WORD_RE = re.compile(r"(?<=\d)\s*改(?:为|成|到)?\s*(?=[\d零一二两三四五六七八九十])")
_CONNECTOR_RE = re.compile(
    r"^(?:调整为|调整到|变更为|延期到|推迟到|改到|改为|改成|延到|推到|提前到|调到|变为|变成|改)"
)


def split_px(word: str) -> tuple[str, Decimal, str | None] | None:
    """``A100×20`` ``A100*20台`` ``螺丝乘100`` ``A100x20`` → (product, qty, unit).

    An ASCII x between a letter and the number is part of the product (``AX2``).
    """
    # Linear in the word: a quantity is short, so only a separator followed by at most
    # _MAX_QTY_CHARS characters can start one (a pasted line of 30,000 "×" stays cheap).
    first_alnum = next((i for i, c in enumerate(word) if c.isalnum()), len(word))
    for index in range(max(1, len(word) - _MAX_QTY_CHARS - 1), len(word)):
        ch = word[index]
        if ch not in _PX_SEPS:
            continue
        product, tail = word[:index], word[index + 1 :]
        if ch in "xX" and product[-1].isascii() and product[-1].isalpha():
            continue
        found = try_qty(tail) if tail else None
        if found is not None and first_alnum < index:
            return product, found[0], found[1]
    return None


def _arrow_new(word: str) -> str:
    """``20→30`` → ``30``; ``A100×20→30`` → ``A100×30``: a change keeps the new value."""
    left, new = word.split("→", 1)[0], word.rsplit("→", 1)[1]
    px = split_px(left)
    if px is not None:
        return f"{px[0]}×{new}"
    return "@" + new if left.startswith("@") else new


#: words after a date that make it the due date: "12月15日交货", "下周五前", "12-15 之前交货"
_BEFORE_WORDS = ("", "前", "之前", "以前")
_DUE_WORDS = ("", "交货", "到货", "交付", "交期")
DUE_SUFFIXES = tuple(sorted({b + d for b in _BEFORE_WORDS for d in _DUE_WORDS} - {""}, key=len, reverse=True))
_DUE_KEYWORD = "交期"


def strip_due_suffix(text: str) -> str:
    """``12-15前`` → ``12-15``, ``下周五之前交货`` → ``下周五`` (the text unchanged if it has none)."""
    for suffix in DUE_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def _due_phrase(word: str) -> str | None:
    """The date of a word that is a date followed by a due suffix (``12月15日交货``), else None."""
    body = strip_due_suffix(word)
    if body == word:
        return None
    try:
        found = match_date(body, allow_dot=True)
    except ArgError:
        return body  # date-shaped with impossible numbers: parse_date reports it
    return body if found is not None else None


def _attach_due_words(toks: list[Tok]) -> list[Tok]:
    """A bare 交货/之前… right after a date belongs to it ("12-15 交货", "下周五 之前")."""
    out: list[Tok] = []
    for i, (field, word) in enumerate(toks):
        prev_is_date = bool(out) and out[-1][0] is None and is_date_word(out[-1][1])
        if prev_is_date and field is None and word in DUE_SUFFIXES:
            continue
        if prev_is_date and field == "due":
            after = toks[i + 1] if i + 1 < len(toks) else None
            if after is None or after[0] is not None or not is_date_word(strip_due_suffix(after[1])):
                continue
        out.append((field, word))
    return out


def order_tokens(text: str, *, change: bool) -> list[Tok]:
    """Tokens of structured text, a keyword split from a glued value (``交期12-15``).

    A date with a due suffix (``12月15日交货``, ``下周五前``) reads ``交期 12月15日``.
    In a change request ``20→30`` keeps ``30`` and ``交期改到12-20`` reads ``交期 12-20``.
    """
    text = KEYWORD_SEP_RE.sub(r"\1=", glue_operators(text))
    if change:
        text = _CHANGE_WORD_RE.sub("→", _ARROW_RE.sub("→", text))
    toks: list[Tok] = []
    for word in tokenize(text):
        due = _due_phrase(word)
        if due is not None:
            # "交期 下周五前" already has its keyword
            toks += [(None, due)] if toks and toks[-1][0] == "due" else [("due", _DUE_KEYWORD), (None, due)]
            continue
        found = split_keyword(word)
        if found is None:
            toks.append((None, word))
            continue
        toks.append((found[0], word[: len(word) - len(found[1])].rstrip("=:")))
        if found[1]:
            toks.append((None, found[1]))
    toks = _attach_due_words(toks)
    return _change_values(toks) if change else toks


def _change_values(toks: list[Tok]) -> list[Tok]:
    out: list[Tok] = []
    for field, word in toks:
        if field is None and out and out[-1][0] is not None:
            word = _CONNECTOR_RE.sub("", word)  # 交期改到12-20 → 交期 12-20
            if not word:
                continue
        out.append((field, _arrow_new(word) if field is None and "→" in word else word))
    return out


def is_date_word(word: str) -> bool:
    """A date form other than the dotted ``12.15`` (which is a number without a keyword)."""
    try:
        return match_date(word) is not None
    except ArgError:
        return True  # date-shaped with impossible numbers: parse_date reports it


def is_name(word: str) -> bool:
    """A word that may be a product or part of a customer name."""
    if word.startswith("@") or not any(ch.isalnum() for ch in word):
        return False
    return try_qty(word) is None and not looks_like_money(word) and not is_date_word(word)


def is_qty_word(word: str) -> bool:
    """A quantity (``20``, ``20台``, ``二十``), not money and not a phone number."""
    return not _PHONE_RE.fullmatch(word) and not looks_like_money(word) and try_qty(word) is not None


def unknown_hint(word: str) -> str:
    """What to add to "没看懂「…」" for a word that fits nowhere."""
    if word.endswith("块") and try_number(word[:-1]) is not None:
        return t.HINT_BLOCK
    if looks_like_money(word) or word.startswith("@"):
        return t.HINT_PRICE_NEEDS_LINE
    if try_qty(word) is not None:
        return t.HINT_QTY_NEEDS_PRODUCT
    return t.HINT_FREE_TEXT
