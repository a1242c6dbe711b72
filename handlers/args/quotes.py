"""``/报价``, ``/成交``, ``/作废 Q12``, ``/采购`` and ``/到货``: quotations reuse the order grammar;
quote numbers (``Q12``) and purchase numbers (``P3``) are apart from order numbers (``#12``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from handlers.args.dates import match_date, parse_date
from handlers.args.models import ChangeArgs, OrderFields
from handlers.args.numbers import parse_number, try_qty
from handlers.args.order import parse_change, parse_new_order
from handlers.args.refs import leading_explicit_ref
from handlers.args.tokens import ArgError, clip, glue_operators, prep, split_words
from handlers.args.words import split_px
from handlers.texts import quotes as t

__all__ = ["DealArgs", "PurchaseArgs", "QuoteArgs", "is_list", "names_a_quote", "parse_arrival", "parse_deal",
           "parse_purchase", "parse_quote", "parse_quote_ref", "split_quote_ref"]

_VALID_RE = re.compile(r"有效期?\s*[:=]?\s*(\S+?)\s*(天|日)(?=\s|$|,|，)")
_QUOTE_REF_RE = re.compile(r"[Qq]\s*(\d{1,9})(?!\d)")
_PURCHASE_REF_RE = re.compile(r"[Pp]\s*(\d{1,9})(?!\d)")
_LIST_WORDS = frozenset({"列表", "全部", "list", "我的"})
_SUPPLIER_KW = re.compile(r"^(供应商|厂家|供货商)[:=]?")
_EXPECT_KW = re.compile(r"^(预计到货|预计|到货|交货)[:=]?")
MAX_VALID_DAYS = 365


@dataclass(frozen=True)
class QuoteArgs:
    """``/报价``: the order fields and the validity in days (None: the setting's default)."""

    fields: OrderFields
    valid_days: int | None = None


@dataclass(frozen=True)
class DealArgs:
    """``/成交 Q12 …``: the quote and what changes on the way to an order."""

    quote_no: int
    changes: ChangeArgs = field(default_factory=ChangeArgs)


@dataclass(frozen=True)
class PurchaseArgs:
    """``/采购 产品 数量 [供应商] [预计到货日期]``."""

    product: str
    qty: Decimal
    supplier: str | None = None
    expected: date | None = None


def is_list(args: str) -> bool:
    """``/报价`` alone or ``/报价 列表`` lists quotes."""
    body = prep(args)
    return not body or body.lower() in _LIST_WORDS


def names_a_quote(args: str) -> bool:
    """Whether the arguments start with a quote number (``Q12``): ``/作废 Q12`` is about a quote."""
    return _QUOTE_REF_RE.match(prep(args)) is not None


def split_quote_ref(args: str) -> tuple[int, str]:
    """``Q12 rest`` → (12, rest); an order number (``#12``) is refused with the right form."""
    body = prep(args)
    match = _QUOTE_REF_RE.match(body)
    if match is None:
        raise ArgError(t.NOT_A_QUOTE_REF.format(frag=clip(body)) if body else t.MISSING_QUOTE_REF)
    no = int(match.group(1))
    if no <= 0:
        raise ArgError(t.NOT_A_QUOTE_REF.format(frag=clip(body)))
    return no, body[match.end():].strip().lstrip(",，:").strip()


def parse_quote_ref(args: str) -> int:
    """Exactly one quote number."""
    no, rest = split_quote_ref(args)
    if rest:
        raise ArgError(t.NOT_A_QUOTE_REF.format(frag=clip(prep(args))))
    return no


def parse_quote(args: str, today: date) -> QuoteArgs:
    """``华为 A100×20@300 B200×5@1200 有效期10天 备注 …``: the ``/下单`` grammar plus a validity."""
    body = prep(args)
    if leading_explicit_ref(body)[0] is not None:
        raise ArgError(t.QUOTE_NOT_ORDER)
    valid_days = None
    match = _VALID_RE.search(body)
    if match is not None:
        try:
            days = parse_number(match.group(1))
        except ArgError:
            raise ArgError(t.BAD_VALIDITY.format(frag=clip(match.group()))) from None
        if days != days.to_integral_value() or not 1 <= days <= MAX_VALID_DAYS:
            raise ArgError(t.BAD_VALIDITY.format(frag=clip(match.group())))
        valid_days = int(days)
        body = (body[:match.start()] + " " + body[match.end():]).strip()
    fields = parse_new_order(body, today)
    if fields.customer is None:
        raise ArgError(t.QUOTE_NO_CUSTOMER)
    if not fields.lines:
        raise ArgError(t.QUOTE_NO_LINES)
    return QuoteArgs(fields, valid_days)


def parse_deal(args: str, today: date) -> DealArgs:
    """``Q12 [交期12-20] [A100×30] [A100 单价 280] [备注 …]``: changes use the ``/变更`` grammar."""
    no, rest = split_quote_ref(args)
    if not rest:
        return DealArgs(no)
    # the /变更 grammar reads everything after an order reference; give it a placeholder one
    _, changes = parse_change(f"#1 {rest}", today)
    return DealArgs(no, changes)


def parse_purchase(args: str, today: date) -> PurchaseArgs:
    """``A100 20 [供应商] [预计到货日期]`` (also ``A100×20``, ``供应商 X``, ``到货 12-20``)."""
    body = prep(args).replace("\n", " ")
    if leading_explicit_ref(body)[0] is not None or _PURCHASE_REF_RE.fullmatch(body):
        raise ArgError(t.PURCHASE_USAGE.format(frag=clip(body)))
    words = split_words(glue_operators(body))
    if not words:
        raise ArgError(t.PURCHASE_MISSING)
    product, qty, k = _product_qty(words, body)
    supplier: list[str] = []
    expected = None
    for word in words[k:]:
        word = _SUPPLIER_KW.sub("", word)
        dated = _EXPECT_KW.sub("", word)
        if dated and match_date(dated) is not None:
            if expected is not None:
                raise ArgError(t.PURCHASE_USAGE.format(frag=clip(word)))
            expected = parse_date(dated, today)
        elif word:
            supplier.append(word)
    return PurchaseArgs(product, qty, " ".join(supplier) or None, expected)


def _product_qty(words: list[str], body: str) -> tuple[str, Decimal, int]:
    px = split_px(words[0])
    if px is not None:
        product, qty, k = px[0], px[1], 1
    else:
        for k in range(1, len(words)):
            found = try_qty(words[k])
            if found is not None:
                product, qty, k = " ".join(words[:k]), found[0], k + 1
                break
        else:
            raise ArgError(t.PURCHASE_USAGE.format(frag=clip(body)))
    if qty <= 0:
        raise ArgError(t.QTY_NOT_POSITIVE.format(frag=clip(body)))
    return product, qty, k


def parse_arrival(args: str) -> tuple[int, Decimal | None]:
    """``P3`` (all that remains) or ``P3 5``."""
    body = prep(args)
    match = _PURCHASE_REF_RE.match(body)
    if match is None or int(match.group(1)) <= 0:
        raise ArgError(t.ARRIVAL_USAGE.format(frag=clip(body)) if body else t.ARRIVAL_MISSING)
    rest = body[match.end():].strip()
    if not rest:
        return int(match.group(1)), None
    found = try_qty(rest.replace(" ", ""))
    if found is None:
        raise ArgError(t.ARRIVAL_USAGE.format(frag=clip(body)))
    if found[0] <= 0:
        raise ArgError(t.QTY_NOT_POSITIVE.format(frag=clip(body)))
    return int(match.group(1)), found[0]
