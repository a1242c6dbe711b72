"""Numbers, money and quantities (handlers/args/numbers.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from handlers.args import ArgError, parse_money, parse_number, parse_qty

D = Decimal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20", D(20)),
        ("0.5", D("0.5")),
        ("1,200", D(1200)),
        ("1，200", D(1200)),
        ("1,200,000", D(1200000)),
        ("12,345.67", D("12345.67")),
        ("1.5万", D(15000)),
        ("2万", D(20000)),
        ("2w", D(20000)),
        ("3千", D(3000)),
        ("3k", D(3000)),
        ("1.2k", D(1200)),
        ("二十", D(20)),
        ("两百", D(200)),
        ("一千二", D(1200)),
        ("一千二百", D(1200)),
        ("一千零二", D(1002)),
        ("一万五", D(15000)),
        ("一万五千", D(15000)),
        ("十二", D(12)),
        ("十", D(10)),
        ("一百零五", D(105)),
        ("两百五", D(250)),
        ("二十万", D(200000)),
        ("一百二十万", D(1200000)),
        ("2万5", D(25000)),
        ("1万2000", D(12000)),
        ("三千五百", D(3500)),
        ("零", D(0)),
        ("一亿", D(100000000)),
        ("壹仟贰佰", D(1200)),
        ("俩", D(2)),
        ("２０", D(20)),
        ("-5", D(-5)),
        ("20.50", D("20.5")),
    ],
)
def test_parse_number(text: str, expected: Decimal) -> None:
    value = parse_number(text)
    assert value == expected
    assert "E" not in str(value)  # 20000, never 2E+4


@pytest.mark.parametrize(
    "text", ["", "abc", "1,2", "12,00", "1.2.3", "一二", "百", "万", "二十一二", "5 5", "1e5"]
)
def test_parse_number_refused(text: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_number(text)
    assert "没看懂" in err.value.reason
    assert str(err.value) == err.value.reason


def test_parse_number_too_big() -> None:
    with pytest.raises(ArgError, match="太大"):
        parse_number("99999999999999")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("300", D("300.00")),
        ("300元", D(300)),
        ("¥300", D(300)),
        ("￥20000", D(20000)),
        ("20,000元", D(20000)),
        ("2万", D(20000)),
        ("2万元", D(20000)),
        ("300块", D(300)),
        ("300块钱", D(300)),
        ("1200.5", D("1200.50")),
        ("12.345", D("12.35")),
        ("300元/台", D(300)),
        ("两百块", D(200)),
        ("RMB500", D(500)),
        ("¥ 1,200", D(1200)),
    ],
)
def test_parse_money(text: str, expected: Decimal) -> None:
    value = parse_money(text)
    assert value == expected
    assert value.as_tuple().exponent == -2


@pytest.mark.parametrize("text", ["", "元", "abc元", "¥", "三块五毛", "300台"])
def test_parse_money_refused(text: str) -> None:
    with pytest.raises(ArgError, match="金额"):
        parse_money(text)


@pytest.mark.parametrize(
    ("text", "qty", "unit"),
    [
        ("20", D(20), None),
        ("20台", D(20), "台"),
        ("二十个", D(20), "个"),
        ("两百件", D(200), "件"),
        ("1.5吨", D("1.5"), "吨"),
        ("3千克", D(3), "千克"),
        ("3千个", D(3000), "个"),
        ("5kg", D(5), "kg"),
        ("5KG", D(5), "kg"),
        ("10平米", D(10), "平米"),
        ("10平方米", D(10), "平方米"),
        ("2立方", D(2), "立方"),
        ("100pcs", D(100), "pcs"),
        ("8套", D(8), "套"),
        ("1,000米", D(1000), "米"),
        ("2万个", D(20000), "个"),
        ("6箱", D(6), "箱"),
    ],
)
def test_parse_qty(text: str, qty: Decimal, unit: str | None) -> None:
    assert parse_qty(text) == (qty, unit)


def test_parse_qty_block_is_a_unit() -> None:
    assert parse_qty("5块") == (D(5), "块")


@pytest.mark.parametrize("text", ["台", "abc", "A100", "二十台个", "x20"])
def test_parse_qty_refused(text: str) -> None:
    with pytest.raises(ArgError, match="没看懂数量"):
        parse_qty(text)
