"""Unit words and money words that phones separate from their number with a space."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from handlers import args

TODAY = date(2026, 11, 27)


@pytest.mark.parametrize(
    ("text", "qty", "unit", "price"),
    [
        ("华为 A100 20 个 300 元", "20", "个", "300"),
        ("华为 A100 20 台 单价 300 元", "20", "台", "300"),
        ("华为 A100 两百 箱 1200 块", "200", "箱", "1200"),
        ("华为 A100×20 @ 300 元", "20", None, "300"),
        ("华为 A100 1.5 吨 3000 元", "1.5", "吨", "3000"),
    ],
)
def test_spaced_units_and_money(text: str, qty: str, unit: str | None, price: str) -> None:
    line = args.parse_new_order(text, TODAY).lines[0]
    assert (line.qty, line.unit, line.unit_price) == (Decimal(qty), unit, Decimal(price))


def test_spaced_unit_in_shipping() -> None:
    assert args.parse_ship("#12 A100 8 台 顺丰").lines == (("A100", Decimal(8)),)


def test_spaced_unit_in_stock_in() -> None:
    assert args.parse_stock_in("A100 100 台") == ("A100", Decimal(100))
