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
