"""Field keywords of the order grammar and the split of a line into free and structured text.

备注 and 地址 take free text (their words are never read as products, dates or
numbers) up to the end of the line, or up to a word that unmistakably starts
another field: a bare field keyword followed by more text (``付款方式 …``), a keyword
with ``=``/``:`` (``交期:12-15``), or a glued keyword whose value parses
(``交期12-15``, ``付款月结30天``).
"""

from __future__ import annotations

import re

from handlers.args.dates import match_date
from handlers.args.tokens import ArgError, split_words

__all__ = ["FIELD_WORDS", "PAYTERM_RE", "is_stop_word", "line_segments", "split_keyword"]

#: keyword → field; longer keywords win (付款方式 before 付款)
FIELD_WORDS: dict[str, str] = {
    "客户名称": "customer", "客户名": "customer", "客户": "customer",
    "产品": "product", "品名": "product", "型号": "product", "货品": "product", "商品": "product",
    "数量": "qty", "数目": "qty",
    "单价": "price", "价格": "price", "价钱": "price",
    "交期": "due", "交货期": "due", "交货日期": "due", "交货": "due", "到货日期": "due", "到货": "due",
    "交付日期": "due", "交付": "due",
    "备注": "note", "说明": "note",
    "付款方式": "pay", "付款条件": "pay", "付款": "pay", "账期": "pay", "结算方式": "pay", "结算": "pay",
    "支付方式": "pay",
    "收货地址": "address", "送货地址": "address", "地址": "address",
    "联系人": "contact", "收货人": "contact", "联系方式": "contact", "联系电话": "contact", "电话": "contact",
}  # fmt: skip
_KEYWORDS = sorted(FIELD_WORDS, key=len, reverse=True)
#: fields that take the rest of the line as free text
FREE_FIELDS = frozenset({"note", "address"})
#: fields whose keyword ends a free text (客户/产品/数量/单价 are common words inside notes)
_STOP_FIELDS = frozenset({"due", "pay", "note", "address", "contact"})
#: payment terms recognised without a keyword
PAYTERM_RE = re.compile(
    r"月结\d*天?|款到发货|货到付款|先款后货|现款现货|现结|预付\d+%.*|票到\d+天.*|\d+天账期|账期\d+天"
)
#: the first of ``_KEYWORDS`` (longest first) a word starts with: one match instead of a test per keyword
_KEYWORD_RE = re.compile("|".join(map(re.escape, _KEYWORDS)))
KEYWORD_SEP_RE = re.compile(rf"({'|'.join(_KEYWORDS)})\s*[=:]\s*")


def split_keyword(word: str) -> tuple[str, str, bool] | None:
    """(field, rest of the word, whether ``=``/``:`` followed) if the word starts with a keyword."""
    found = _KEYWORD_RE.match(word)
    if found is None:
        return None
    keyword = found.group()
    rest = word[len(keyword) :]
    if rest[:1] in ("=", ":"):
        return FIELD_WORDS[keyword], rest[1:], True
    return FIELD_WORDS[keyword], rest, False


def _is_date_shaped(text: str) -> bool:
    try:
        return match_date(text, allow_dot=True) is not None
    except ArgError:
        return True  # shaped like a date with impossible numbers: the field reader reports it


def is_stop_word(word: str, has_next: bool) -> bool:
    """Whether ``word`` unmistakably starts another field inside free text."""
    found = split_keyword(word)
    if found is None or found[0] not in _STOP_FIELDS:
        return False
    field, rest, separated = found
    if not rest:
        return has_next or separated
    if separated:
        return True
    if field == "due":
        return _is_date_shaped(rest)
    return field == "pay" and PAYTERM_RE.fullmatch(rest) is not None


def line_segments(line: str) -> list[tuple[str, str]]:
    """The line as (field, text) segments; field "" is structured text, else note/address."""
    words = split_words(line)
    segments: list[tuple[str, str]] = []
    plain: list[str] = []
    j = 0
    while j < len(words):
        found = split_keyword(words[j])
        if found is None or found[0] not in FREE_FIELDS:
            plain.append(words[j])
            j += 1
            continue
        if plain:
            segments.append(("", " ".join(plain)))
            plain = []
        value = [found[1]] if found[1] else []
        j += 1
        while j < len(words) and not is_stop_word(words[j], j + 1 < len(words)):
            value.append(words[j])
            j += 1
        segments.append((found[0], " ".join(value)))
    if plain:
        segments.append(("", " ".join(plain)))
    return segments
