"""``/客户 新增 …`` and ``/入库 产品 数量``."""

from __future__ import annotations

import re
from decimal import Decimal

from handlers.args.models import CustomerArgs
from handlers.args.numbers import looks_like_money, try_qty
from handlers.args.tokens import ArgError, clip, glue_operators, prep, split_words
from handlers.args.words import split_px
from handlers.texts import parse as t

__all__ = ["is_customer_add", "parse_customer_add", "parse_stock_in"]

_ADD_RE = re.compile(r"(?:新增|新建|添加|增加|add|new|\+)(?=\s|$)", re.IGNORECASE)
_PHONE_RE = re.compile(r"(?:\+?86-?)?1\d{10}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?|400-?\d{3}-?\d{4}")
_KEYWORD_RE = re.compile(r"(?P<kw>名字|名称|客户|联系人|电话|手机|地址)[:=]?(?P<rest>.*)")
_KW_FIELD = {"名字": "name", "名称": "name", "客户": "name", "联系人": "contact", "电话": "phone",
             "手机": "phone", "地址": "address"}  # fmt: skip
# a person's name: 2-4 Chinese characters without place words, or a Latin name
_PERSON_RE = re.compile(r"[\u4e00-\u9fff]{2,4}|[A-Za-z][A-Za-z.]{1,19}")
_QTY_KW_RE = re.compile(r"\s*数量[:=]?\s*")
_PLACE_CHARS = set("省市区县镇乡村路街道巷号楼栋室园弄厦")


def is_customer_add(args: str) -> bool:
    """Whether ``/客户`` arguments ask to add a customer (``新增 …``)."""
    return _ADD_RE.match(prep(args)) is not None


def _looks_like_person(word: str) -> bool:
    return bool(_PERSON_RE.fullmatch(word)) and not _PLACE_CHARS & set(word)


def parse_customer_add(args: str) -> CustomerArgs:
    """``新增 华为技术 张三 13800138000 深圳坂田`` → name, contact, phone, address.

    Positional order is name, contact, phone, address; the contact is recognised as a
    short personal name, the phone by its digits, and the rest is the address.
    Keywords (联系人 电话 地址) may be used instead.
    """
    body = prep(args)
    head = _ADD_RE.match(body)
    words = split_words((body[head.end() :] if head else body).replace("\n", " "))
    found: dict[str, str] = {}
    address: list[str] = []

    def put(field: str, value: str) -> None:
        if field in found:
            raise ArgError(t.FIELD_TWICE.format(field=t.CUSTOMER_LABELS[field], frag=clip(value)))
        found[field] = value

    j = 0
    while j < len(words):
        word = words[j]
        keyword = _KEYWORD_RE.fullmatch(word)
        if keyword is not None and (keyword["rest"] or j + 1 < len(words)):
            value = keyword["rest"] or words[j + 1]
            j += 0 if keyword["rest"] else 1
            if _KW_FIELD[keyword["kw"]] == "address":
                address.extend([value, *words[j + 1 :]])
                break
            put(_KW_FIELD[keyword["kw"]], value)
        elif "name" not in found:
            put("name", word)
        elif _PHONE_RE.fullmatch(word) and "phone" not in found:
            put("phone", word)
        elif "contact" not in found and "phone" not in found and not address and _looks_like_person(word):
            put("contact", word)
        else:
            address.append(word)
        j += 1
    if "name" not in found:
        raise ArgError(t.CUSTOMER_NO_NAME)
    return CustomerArgs(
        name=found["name"], contact=found.get("contact"), phone=found.get("phone"),
        address=" ".join(address) or None,
    )  # fmt: skip


def parse_stock_in(args: str) -> tuple[str, Decimal]:
    """``A100 100台`` / ``A100×100`` / ``螺丝 M8 500个`` → (product, quantity > 0)."""
    body = _QTY_KW_RE.sub(" ", glue_operators(prep(args).replace("\n", " "))).strip()
    words = split_words(body)
    if len(words) == 1 and (px := split_px(words[0])) is not None:
        product, qty = px[0], px[1]
    # "5块" is a quantity here (stock has no price); "5块钱", "¥5" are not
    elif len(words) >= 2 and (not looks_like_money(words[-1]) or words[-1].endswith("块")) \
            and (found := try_qty(words[-1])) is not None:
        product, qty = " ".join(words[:-1]), found[0]
        if try_qty(product) is not None:
            raise ArgError(t.STOCK_USAGE.format(frag=clip(body)))
    else:
        raise ArgError(t.STOCK_USAGE.format(frag=clip(body)) if body else t.STOCK_MISSING)
    if qty <= 0:
        raise ArgError(t.QTY_NOT_POSITIVE.format(frag=clip(body)))
    return product, qty
