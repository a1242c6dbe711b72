"""When an order's payment is due, from its free-text payment terms (pure).

The rule, checked in this order (the first match wins):

1. ``月结N天`` (also ``月结 N 天``, ``月结六十天``): the last day of the month of the full
   shipment, plus N days. A bare ``月结`` means ``月结30天``.
2. ``N天`` anywhere (``30天``, ``账期30天``, ``货到30天付款``, ``发货后45天``): N days after the
   full shipment.
3. Prepayment words (``款到发货``, ``款到``, ``预付``, ``先款``, ``现款``, ``全款``): due on the
   date the order was confirmed.
4. Payment on delivery (``货到付款``, ``到付``, ``货到``): due on the date of the full shipment.
5. Anything else, or no terms: 30 days after the full shipment.

"Full shipment" is the last shipment of a fully shipped order. A rule that needs the
full shipment gives no due date while goods remain to ship (the delivery reminders
cover that time). Dates are business-zone dates.
"""

from __future__ import annotations

import calendar as _cal
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal

from storage.vocab import PREPAY_WORDS

DEFAULT_DAYS = 30
_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUM = r"\d{1,4}|[零一二两三四五六七八九十百]{1,5}"
_MONTHLY_RE = re.compile(rf"月结\s*(?:(?P<n>{_NUM})\s*天)?")
_DAYS_RE = re.compile(rf"(?P<n>{_NUM})\s*(?:个)?(?:天|日)")
_PREPAY = PREPAY_WORDS
_ON_DELIVERY = ("货到付款", "到付", "货到")

Basis = Literal["confirmed", "shipped", "month_end"]


@dataclass(frozen=True)
class TermsRule:
    """What a payment term means: counted from which event, plus how many days."""

    basis: Basis
    days: int = 0


def cn_int(text: str) -> int | None:
    """``30`` / ``三十`` / ``四十五`` / ``一百二十`` → int; None when it is not a number."""
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


def rule_for(terms: str | None) -> TermsRule:
    """Interpret payment terms (see the module docstring for the order of the checks)."""
    text = (terms or "").replace(" ", "")
    monthly = _MONTHLY_RE.search(text)
    if monthly:
        n = cn_int(monthly["n"]) if monthly["n"] else DEFAULT_DAYS
        return TermsRule("month_end", DEFAULT_DAYS if n is None else n)
    days = _DAYS_RE.search(text)
    if days:
        n = cn_int(days["n"])
        if n is not None:
            return TermsRule("shipped", n)
    if any(word in text for word in _PREPAY):
        return TermsRule("confirmed")
    if any(word in text for word in _ON_DELIVERY):
        return TermsRule("shipped")
    return TermsRule("shipped", DEFAULT_DAYS)


def _month_end(day: date) -> date:
    return day.replace(day=_cal.monthrange(day.year, day.month)[1])


def payment_due(terms: str | None, confirmed_at: datetime | None, full_shipped_at: datetime | None,
                tz: tzinfo) -> date | None:
    """The date by which the order should be paid, or None while it cannot be known yet."""
    rule = rule_for(terms)
    if rule.basis == "confirmed":
        return confirmed_at.astimezone(tz).date() if confirmed_at else None
    if full_shipped_at is None:
        return None
    shipped = full_shipped_at.astimezone(tz).date()
    if rule.basis == "month_end":
        return _month_end(shipped) + timedelta(days=rule.days)
    return shipped + timedelta(days=rule.days)
