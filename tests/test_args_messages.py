"""The number, quantity and date parsers' refusals quote what was typed and say what was meant;
unit words match case-insensitively and only exactly."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from handlers import args
from handlers.args.numbers import unit_of

TODAY = date(2026, 11, 29)


def refusal(call: object) -> str:
    with pytest.raises(args.ArgError) as exc:
        call()  # type: ignore[operator]
    return str(exc.value)


def test_a_word_that_is_not_a_number_is_quoted() -> None:
    assert refusal(lambda: args.parse_number("二三x")) == "没看懂「二三x」：要写数字，如 20、1,200、1.5万、两百"


def test_a_word_that_is_not_a_quantity_is_quoted() -> None:
    assert refusal(lambda: args.parse_qty("很多台")) == "没看懂数量「很多台」：如 20、20台、二十个"
    assert args.parse_qty("20台") == (20, "台") and args.parse_qty("二十") == (20, None)


def test_a_future_date_where_a_past_one_is_meant_names_the_day() -> None:
    assert refusal(lambda: args.parse_past_date("明天", TODAY)) == "「明天」是 2026-11-30，还没到"
    assert args.parse_past_date("昨天", TODAY) == TODAY - timedelta(days=1)


@pytest.mark.parametrize(("text", "days"), [("3天后", 3), ("3日后", 3), ("2周后", 14), ("2个星期后", 14)])
def test_offsets_in_days_and_weeks(text: str, days: int) -> None:
    assert args.parse_date(text, TODAY) == TODAY + timedelta(days=days)


@pytest.mark.parametrize(("word", "unit"), [("台", "台"), ("KG", "kg"), ("Pcs", "pcs"), ("kg", "kg"),
                                            ("公斤", "公斤"), ("台台", None), ("xyz", None), ("", None), ("K", None)])
def test_unit_words(word: str, unit: str | None) -> None:
    assert unit_of(word) == unit


def test_a_word_that_is_not_money_is_quoted() -> None:
    from handlers.texts import parse as t

    assert refusal(lambda: args.parse_money("很贵")) == t.NOT_A_MONEY.format(frag="很贵")
    assert "很贵" in t.NOT_A_MONEY.format(frag="很贵")


@pytest.mark.parametrize(("text", "value"), [("300 元", "300.00"), ("¥ 1,200", "1200.00"), ("300元/台", "300.00"),
                                             ("三百元一台", "300.00"), ("300每台", "300.00"), ("300元/xyz", None),
                                             ("2万", "20000.00")])
def test_money_forms_and_per_unit_tails(text: str, value: str | None) -> None:
    from decimal import Decimal

    from handlers.args.numbers import try_money

    assert try_money(text) == (Decimal(value) if value is not None else None)


@pytest.mark.parametrize(("text", "money"), [("300元", True), ("¥300", True), ("300块", True), ("300", False),
                                             ("元", False), ("三百元一台", True), ("300台", False)])
def test_explicit_money(text: str, money: bool) -> None:
    from handlers.args.numbers import looks_like_money

    assert looks_like_money(text) is money


def test_catalogue_units_count_while_parsing() -> None:
    from handlers.args.tokens import catalogue_units

    assert unit_of("卷轴") is None
    with pytest.raises(args.ArgError):
        args.parse_qty("5卷轴")  # not a unit outside the catalogue block
    with catalogue_units(["卷轴", "大箱", "千箱"]):  # 千箱 clashes with numbers: ignored
        assert unit_of("卷轴") == "卷轴" and unit_of("千箱") is None
        assert args.parse_qty("5卷轴") == (5, "卷轴")
        assert args.parse_qty("5大箱") == (5, "大箱")
        assert args.parse_qty("3千箱") == (3000, "箱")
    assert unit_of("卷轴") is None


def test_date_refusals_quote_the_input() -> None:
    from handlers.texts import parse as t

    assert refusal(lambda: args.parse_date("2020-01-01", TODAY)) == t.PAST_DATE.format(frag="2020-01-01",
                                                                                       date="2020-01-01")
    assert refusal(lambda: args.parse_date("某天", TODAY)) == t.NOT_A_DATE.format(frag="某天")
    assert refusal(lambda: args.parse_date("1.5天后", TODAY)) == t.NOT_A_DATE.format(frag="1.5天后")


@pytest.mark.parametrize(("text", "value"), [("+5", 5), ("-5", -5), ("+1.5万", 15000), (str(10**12), 10**12),
                                             ("1万10", 10010), ("1万5", 15000), ("十5", 15), ("一百零五", 105)])
def test_signs_the_limit_and_shorthand(text: str, value: int) -> None:
    assert args.parse_number(text) == value


@pytest.mark.parametrize("text", ["三百百", "两万万", "十十"])
def test_a_unit_twice_is_not_a_number(text: str) -> None:
    with pytest.raises(args.ArgError):
        args.parse_number(text)


def test_over_the_limit_is_refused_quoting_the_input() -> None:
    from handlers.texts import parse as t

    text = str(10**12 + 1)
    assert refusal(lambda: args.parse_number(text)) == t.NUMBER_TOO_BIG.format(frag=text)
