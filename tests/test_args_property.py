"""Property tests: arbitrary text never raises anything but ArgError, and results keep their promises."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import args

TODAY = date(2026, 11, 29)
NOW = datetime(2026, 11, 29, 14, 20, tzinfo=ZoneInfo("Asia/Shanghai"))

# pieces of real inputs, so that generated text often gets deep into the grammars
_WORDS = [
    "#12",
    "＃１２",
    "12号单",
    "单号",
    "12",
    "T3",
    "华为",
    "A100",
    "B200",
    "×",
    "x",
    "*",
    "乘",
    "@",
    "20",
    "20台",
    "二十",
    "两百",
    "一千二",
    "1.5万",
    "1,200",
    "，",
    "、",
    "300元",
    "¥",
    "块",
    "单价",
    "数量",
    "产品=",
    "客户=",
    "交期",
    "交期:",
    "12-15",
    "12.15",
    "2026-12-15",
    "15号",
    "下周三",
    "这周五",
    "月底",
    "备注",
    "地址",
    "联系人",
    "付款方式",
    "月结30天",
    "→",
    "改到",
    "顺丰",
    "SF1234567890",
    "转账",
    "2万",
    "昨天",
    "明天上午10点",
    "下午3点半",
    "30分钟后",
    "3天后",
    "通过",
    "驳回",
    "已解决",
    "新增",
    "13800138000",
    "本月",
    "上月",
    "11月",
    "主管",
    "-仓库",
    "https://oapi.dingtalk.com/robot/send?access_token=t",
    "SEC12345678",
    "全部",
    "\n",
    " ",
    " ",
    ":",
    "=",
]
phrases = st.lists(st.sampled_from(_WORDS), max_size=12).map("".join)
texts = st.one_of(st.text(max_size=40), phrases)

_PARSERS: dict[str, Callable[[str], Any]] = {
    "parse_new_order": lambda s: args.parse_new_order(s, TODAY),
    "parse_supplement": lambda s: args.parse_supplement(s, TODAY),
    "parse_change": lambda s: args.parse_change(s, TODAY),
    "parse_ship": args.parse_ship,
    "parse_payment": lambda s: args.parse_payment(s, TODAY),
    "parse_approval": args.parse_approval,
    "parse_reasoned": args.parse_reasoned,
    "parse_reminder": lambda s: args.parse_reminder(s, NOW),
    "parse_after_sales": args.parse_after_sales,
    "parse_list_filter": args.parse_list_filter,
    "parse_customer_add": args.parse_customer_add,
    "is_customer_add": args.is_customer_add,
    "parse_stock_in": args.parse_stock_in,
    "parse_statement": lambda s: args.parse_statement(s, TODAY),
    "parse_report_period": lambda s: args.parse_report_period(s, TODAY),
    "parse_topics": args.parse_topics,
    "parse_roles": args.parse_roles,
    "parse_bind": args.parse_bind,
    "parse_number": args.parse_number,
    "parse_money": args.parse_money,
    "parse_qty": args.parse_qty,
    "parse_date": lambda s: args.parse_date(s, TODAY),
    "parse_past_date": lambda s: args.parse_past_date(s, TODAY),
    "parse_when": lambda s: args.parse_when(s, NOW),
    "parse_order_ref": args.parse_order_ref,
    "split_order_ref": args.split_order_ref,
}


@pytest.mark.parametrize("name", sorted(_PARSERS))
@settings(max_examples=150, deadline=None)
@given(text=texts)
def test_only_arg_errors(name: str, text: str) -> None:
    try:
        _PARSERS[name](text)
    except args.ArgError as err:
        assert err.reason
        assert str(err) == err.reason


@settings(max_examples=300, deadline=None)
@given(text=phrases)
def test_new_order_results_keep_their_promises(text: str) -> None:
    try:
        fields = args.parse_new_order(text, TODAY)
    except args.ArgError:
        return
    assert fields.customer is not None or fields.lines
    for line in fields.lines:
        assert line.product
        assert line.qty > 0
        assert line.unit_price is None or line.unit_price > 0
    assert fields.due_date is None or fields.due_date >= TODAY


@settings(max_examples=300, deadline=None)
@given(text=phrases)
def test_dates_and_times_point_the_right_way(text: str) -> None:
    for parse, check in (
        (lambda: args.parse_date(text, TODAY), lambda d: d >= TODAY),
        (lambda: args.parse_past_date(text, TODAY), lambda d: d <= TODAY),
        (lambda: args.parse_when(text, NOW), lambda w: w > NOW and w.tzinfo is NOW.tzinfo),
    ):
        try:
            value = parse()
        except args.ArgError:
            continue
        assert check(value)


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=10**9, places=2))
def test_money_round_trips_plain_and_thousands_forms(value: Any) -> None:
    plain = f"{value:f}"
    assert args.parse_money(plain) == value
    assert args.parse_money(f"{value:,}元") == value


# Valid inputs must parse, and to what they say: the properties above hold vacuously when nothing parses.

_CN_DIGITS = "零一二三四五六七八九"


def chinese(n: int) -> str:
    """``n`` (1 ≤ n < 10¹²) written in Chinese numerals the way people write them (一万零五, 十二)."""
    def section(v: int) -> str:  # 0 < v < 10000
        out, zero = "", False
        for unit, size in (("千", 1000), ("百", 100), ("十", 10), ("", 1)):
            digit = v // size % 10
            if digit == 0:
                zero = bool(out)
                continue
            out += ("零" if zero else "") + _CN_DIGITS[digit] + unit
            zero = False
        return out

    parts = [(n // 10**8, "亿"), (n // 10**4 % 10**4, "万"), (n % 10**4, "")]
    out, pending_zero = "", False
    for value, unit in parts:
        if value == 0:
            pending_zero = bool(out)
            continue
        if out and (pending_zero or value < 1000):
            out += "零"
        out += section(value) + unit
        pending_zero = False
    return out[1:] if out.startswith("一十") else out


@pytest.mark.parametrize(("n", "text"), [(12305, "一万二千三百零五"), (105, "一百零五"), (12, "十二"),
                                         (100000005, "一亿零五"), (3020, "三千零二十"), (10010, "一万零一十")])
def test_the_reference_numerals(n: int, text: str) -> None:
    assert chinese(n) == text


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=10**12 - 1))
def test_every_whole_number_parses_in_digits_thousands_and_chinese(n: int) -> None:
    assert args.parse_number(str(n)) == n
    assert args.parse_number(f"{n:,}") == n
    assert args.parse_number(chinese(n)) == n, chinese(n)
    assert args.parse_number(f"-{n}") == -n


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=9999), st.sampled_from([("万", 10**4), ("千", 1000), ("百", 100)]))
def test_a_decimal_with_a_unit_parses(tenths: int, unit: tuple[str, int]) -> None:
    word, size = unit
    text = f"{tenths // 10}.{tenths % 10}{word}" if tenths % 10 else f"{tenths // 10}{word}"
    if tenths < 10:
        text = f"0.{tenths}{word}"
    assert args.parse_number(text) == Decimal(tenths) * size / 10


_FORWARD_FORMS = ["{m}-{d}", "{m}月{d}日", "{m}月{d}号", "{m}/{d}", "{y}-{m:02}-{d:02}", "{y}年{m}月{d}日",
                  "{y}/{m}/{d}"]


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=180), st.sampled_from(_FORWARD_FORMS))
def test_every_date_in_the_coming_half_year_parses_forward(ahead: int, form: str) -> None:
    day = TODAY + timedelta(days=ahead)
    assert args.parse_date(form.format(y=day.year, m=day.month, d=day.day), TODAY) == day


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=180), st.sampled_from(_FORWARD_FORMS))
def test_every_date_in_the_past_half_year_parses_back(back: int, form: str) -> None:
    day = TODAY - timedelta(days=back)
    assert args.parse_past_date(form.format(y=day.year, m=day.month, d=day.day), TODAY) == day


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=27))
def test_day_offsets_parse(days: int) -> None:
    assert args.parse_date(f"{days}天后", TODAY) == TODAY + timedelta(days=days)


_CUSTOMERS = st.sampled_from(["华为", "小米", "比亚迪", "宁德时代", "ACME"])
_SKUS = st.from_regex(r"[A-Z]{1,3}[0-9]{2,4}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(_CUSTOMERS, st.lists(st.tuples(_SKUS, st.integers(1, 9999), st.integers(1, 999_999)), min_size=1,
                            max_size=4, unique_by=lambda t: t[0]),
       st.integers(min_value=1, max_value=150), st.sampled_from(["×", "x", "*"]))
def test_every_well_formed_order_parses_to_what_it_says(customer: str, lines: list[tuple[str, int, int]],
                                                        ahead: int, times: str) -> None:
    due = TODAY + timedelta(days=ahead)
    text = f"{customer} " + " ".join(f"{sku}{times}{qty}@{price}" for sku, qty, price in lines) \
        + f" 交期{due.month}-{due.day}"
    fields = args.parse_new_order(text, TODAY)
    assert fields.customer == customer
    assert [(ln.product, ln.qty, ln.unit_price) for ln in fields.lines] == \
        [(sku, Decimal(qty), Decimal(price)) for sku, qty, price in lines]
    assert fields.due_date == due
