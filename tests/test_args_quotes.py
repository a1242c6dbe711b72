"""Grammars of /报价, /成交, /采购 and /到货 (pure: no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from handlers.args import ArgError
from handlers.args import quotes as q

TODAY = date(2026, 11, 27)


@pytest.mark.parametrize(("text", "days", "lines"), [
    ("华为 A100×20@300", None, [("A100", 20, 300)]),
    ("华为 A100×20@300 有效期10天", 10, [("A100", 20, 300)]),
    ("华为 有效期 3 天 A100 20台 单价300", 3, [("A100", 20, 300)]),
    ("华为 A100×20@300 有效期:十五天 备注 含税", 15, [("A100", 20, 300)]),
    ("华为技术\nA100 20台 300元\nB200×5@1200\n有效期7天", 7, [("A100", 20, 300), ("B200", 5, 1200)]),
])
def test_quote(text: str, days: int | None, lines: list[tuple[str, int, int]]) -> None:
    parsed = q.parse_quote(text, TODAY)
    assert parsed.valid_days == days
    assert [(ln.product, ln.qty, ln.unit_price) for ln in parsed.fields.lines] == [
        (p, Decimal(n), Decimal(price)) for p, n, price in lines]


@pytest.mark.parametrize("text", ["", "华为", "A100×20@300", "#3 华为 A100×2@300", "华为 A100×2@300 有效期0天",
                                  "华为 A100×2@300 有效期1.5天", "华为 A100×2@300 有效期400天"])
def test_quote_refused(text: str) -> None:
    with pytest.raises(ArgError):
        q.parse_quote(text, TODAY)


def test_deal() -> None:
    assert q.parse_deal("Q12", TODAY) == q.DealArgs(12)
    deal = q.parse_deal("q12 交期12-20 A100×30 B200 单价 280 备注 加急", TODAY)
    assert deal.quote_no == 12 and deal.changes.due_date == date(2026, 12, 20) and deal.changes.note == "加急"
    assert [(c.product, c.qty, c.unit_price) for c in deal.changes.lines] == [
        ("A100", Decimal(30), None), ("B200", None, Decimal(280))]
    for bad in ("#12", "12", "", "Q0", "Q12 客户 华为"):
        with pytest.raises(ArgError):
            q.parse_deal(bad, TODAY)


def test_refs() -> None:
    assert q.names_a_quote("Q12 不要了") and q.names_a_quote("q 3") and not q.names_a_quote("#12")
    assert q.split_quote_ref("Q12 通过") == (12, "通过")
    assert q.parse_quote_ref("Q7") == 7
    assert q.is_list("") and q.is_list("列表") and not q.is_list("Q1")


@pytest.mark.parametrize(("text", "expected"), [
    ("A100 50", ("A100", 50, None, None)),
    ("A100×50", ("A100", 50, None, None)),
    ("A100 50台 华强电子 12-20", ("A100", 50, "华强电子", date(2026, 12, 20))),
    ("A100 50 供应商 华强 到货12-20", ("A100", 50, "华强", date(2026, 12, 20))),
    ("螺丝 M8 500个 预计下周三", ("螺丝 M8", 500, None, date(2026, 12, 2))),
])
def test_purchase(text: str, expected: tuple[str, int, str | None, date | None]) -> None:
    got = q.parse_purchase(text, TODAY)
    assert (got.product, got.qty, got.supplier, got.expected) == (expected[0], Decimal(expected[1]), *expected[2:])


@pytest.mark.parametrize("text", ["", "A100", "A100 0", "#1 5", "P3", "A100 5 2020-01-01", "A100 5 12-20 12-21"])
def test_purchase_refused(text: str) -> None:
    with pytest.raises(ArgError):
        q.parse_purchase(text, TODAY)


def test_arrival() -> None:
    assert q.parse_arrival("P3") == (3, None)
    assert q.parse_arrival("p3 20") == (3, Decimal(20))
    assert q.parse_arrival("P3 2.5吨") == (3, Decimal("2.5"))
    for bad in ("", "#3", "P3 abc", "P3 0", "P0"):
        with pytest.raises(ArgError):
            q.parse_arrival(bad)
