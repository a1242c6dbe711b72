"""``/回款 #12 金额 [方式] [日期]``."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from handlers.args.dates import match_date, parse_past_date
from handlers.args.models import PaymentArgs
from handlers.args.numbers import try_money
from handlers.args.refs import split_order_ref
from handlers.args.tokens import ArgError, clip, tokenize
from handlers.texts import parse as t

__all__ = ["PAYMENT_METHODS", "parse_payment"]

#: payment method words, kept as typed (longer first so 银行转账 is not 银行 + 转账)
PAYMENT_METHODS = (
    "银行转账", "对公转账", "承兑汇票", "银行承兑", "商业承兑", "转账", "现金", "承兑", "汇票", "支票",
    "微信", "支付宝", "银行", "刷卡", "POS", "电汇", "汇款", "网银", "对公", "信用证",
)  # fmt: skip
_METHODS_BY_LENGTH = sorted(PAYMENT_METHODS, key=len, reverse=True)
_METHOD_ALT = "|".join(_METHODS_BY_LENGTH)
# "转账2万" / "2万转账": a method glued to the amount
_GLUED_RE = re.compile(rf"(?P<pre>{_METHOD_ALT})(?P<amount>.+)|(?P<amount2>.+?)(?P<post>{_METHOD_ALT})")
_KEYWORD_RE = re.compile(
    r"(?P<kw>金额|回款|收款|方式|付款方式|日期|到账日期|收款日期|付款日期)[:=]?(?P<rest>.*)"
)
_FILLERS = frozenset(
    {"收到", "已收", "到账", "已到账", "已收到", "共", "合计", "客户", "付款", "打款", "收款"}
)


class _Payment:
    def __init__(self, today: date) -> None:
        self.today = today
        self.amount: Decimal | None = None
        self.method: str | None = None
        self.paid_on: date | None = None

    def set_amount(self, value: Decimal, frag: str) -> None:
        if self.amount is not None:
            raise ArgError(t.PAYMENT_TWO_AMOUNTS.format(frag=clip(frag)))
        if value <= 0:
            raise ArgError(t.AMOUNT_NOT_POSITIVE.format(frag=clip(frag)))
        self.amount = value

    def set_method(self, method: str) -> None:
        if self.method is not None:
            raise ArgError(t.FIELD_TWICE.format(field=t.FIELD_LABELS["method"], frag=method))
        self.method = method

    def set_date(self, text: str) -> None:
        if self.paid_on is not None:
            raise ArgError(t.FIELD_TWICE.format(field=t.FIELD_LABELS["paid_on"], frag=clip(text)))
        self.paid_on = parse_past_date(text, self.today)

    def word(self, word: str, keyword: str | None) -> None:
        """Read one word, knowing the keyword before it (if any)."""
        upper = word.upper()
        if keyword in ("方式", "付款方式") or upper in PAYMENT_METHODS:
            self.set_method(upper if upper in PAYMENT_METHODS else word)
        elif keyword in ("日期", "到账日期", "收款日期", "付款日期") or _is_date(word):
            self.set_date(word)
        elif (amount := try_money(word)) is not None:
            self.set_amount(amount, word)
        elif (glued := _GLUED_RE.fullmatch(word)) is not None and try_money(
            glued["amount"] or glued["amount2"]
        ):
            self.set_method(glued["pre"] or glued["post"])
            self.word(glued["amount"] or glued["amount2"], None)
        elif word not in _FILLERS:
            raise ArgError(t.NOT_UNDERSTOOD.format(frag=clip(word)) + t.HINT_PAYMENT)


def _is_date(word: str) -> bool:
    try:
        return match_date(word) is not None
    except ArgError:
        return True


def parse_payment(args: str, today: date) -> PaymentArgs:
    """``#12 20000``, ``#12 2万 转账``, ``#12 20,000元 承兑 11-28``, ``#12 ￥20000 昨天``.

    A date may be past (payments are recorded afterwards) but not in the future;
    ``12.15`` is an amount unless written after 日期.
    """
    no, rest = split_order_ref(args)
    payment = _Payment(today)
    toks = tokenize(rest)
    j = 0
    while j < len(toks):
        keyword = _KEYWORD_RE.fullmatch(toks[j])
        if keyword is None:
            payment.word(toks[j], None)
        elif keyword["rest"]:
            payment.word(keyword["rest"], keyword["kw"])
        elif j + 1 < len(toks):
            payment.word(toks[j + 1], keyword["kw"])
            j += 1
        elif keyword["kw"] not in _FILLERS:
            raise ArgError(t.FIELD_EMPTY.format(field=keyword["kw"]))
        j += 1
    if payment.amount is None:
        raise ArgError(t.PAYMENT_NO_AMOUNT)
    return PaymentArgs(order_no=no, amount=payment.amount, method=payment.method, paid_on=payment.paid_on)
