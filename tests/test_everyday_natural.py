"""Issue 14, item 3: orders written the way people talk (due phrases, price per unit, any order)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from handlers.args import ArgError, LineArg, OrderFields, parse_change, parse_money, parse_new_order
from tests.conftest import Bot, Clock, fingerprint

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 12, 5)  # Saturday
D = Decimal


def L(product: str, qty: int, price: int | None = None, unit: str | None = None) -> LineArg:
    return LineArg(product, D(qty), unit, None if price is None else D(price))


A100 = (L("A100", 20, 300, "台"),)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the messages from the issue
        ("客户：华为 A100 20台 单价300 12月15日交货", OrderFields("华为", A100, date(2026, 12, 15))),
        ("客户：华为 A100 20台 三百元一台 下周五交货", OrderFields("华为", A100, date(2026, 12, 11))),
        (
            "交期=1-29 单价=260 数量=30 产品=C300 客户=大疆",
            OrderFields("大疆", (L("C300", 30, 260),), date(2027, 1, 29)),
        ),
        # a date phrase before or after 交货/交期/前/之前, glued or spaced
        ("华为 A100 20台 @300 12-15前", OrderFields("华为", A100, date(2026, 12, 15))),
        ("华为 A100 20台 @300 12-15之前", OrderFields("华为", A100, date(2026, 12, 15))),
        ("华为 A100 20台 @300 12月15日前交货", OrderFields("华为", A100, date(2026, 12, 15))),
        ("华为 A100 20台 @300 12月15号之前到货", OrderFields("华为", A100, date(2026, 12, 15))),
        ("华为 A100 20台 @300 12-15 交货", OrderFields("华为", A100, date(2026, 12, 15))),
        ("华为 A100 20台 @300 下周五 之前", OrderFields("华为", A100, date(2026, 12, 11))),
        ("华为 A100 20台 @300 月底前", OrderFields("华为", A100, date(2026, 12, 31))),
        ("华为 A100 20台 @300 交货12月15日前", OrderFields("华为", A100, date(2026, 12, 15))),
        ("华为 A100 20台 @300 交期 下周五前", OrderFields("华为", A100, date(2026, 12, 11))),
        ("华为 A100 20台 @300 12.15交货", OrderFields("华为", A100, date(2026, 12, 15))),
        ("12月15日前交货 华为 A100 20台 @300", OrderFields("华为", A100, date(2026, 12, 15))),
        # price per unit in words
        ("华为 A100 20台 300元一台", OrderFields("华为", A100)),
        ("华为 A100 20台 300元每台", OrderFields("华为", A100)),
        ("华为 A100 20台 两百一十元", OrderFields("华为", (L("A100", 20, 210, "台"),))),
        # 单价/数量 before the product, key=value in any order
        ("华为 单价300 A100 20台", OrderFields("华为", A100)),
        ("华为 单价 300 数量 20台 产品 A100", OrderFields("华为", A100)),
        ("数量=20台 产品=A100 单价=300 客户=华为", OrderFields("华为", A100)),
        ("客户=华为 单价=300 产品=A100 数量=20台", OrderFields("华为", A100)),
        ("客户=华为\n单价=300\n数量=20台\n产品=A100", OrderFields("华为", A100)),
    ],
)
def test_natural_orders(text: str, expected: OrderFields) -> None:
    assert parse_new_order(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("华为 A100×20@300 12-15 交期 12-20", "交期写了两次：「12-20」"),
        ("华为 A100×20@300 12-15前 12-20前", "交期写了两次"),
        ("华为 数量=20", "「数量」没有对应的产品：要写产品，如 产品=A100 数量=20"),
        ("单价=260 客户=大疆", "「单价」没有对应的产品"),
        ("数量=30 产品=C300 数量=5", "「C300」的数量写了两次"),
        ("单价=30 A100×2@40", "「A100」的单价写了两次"),
        ("华为 A100×2 提前", "没看懂「提前」"),
        ("华为 三百一台", "没看懂"),  # 三百一 is 310: 一台 only after 元/块
        ("华为 A100×20@300 交期 前", "没看懂日期「前」"),
    ],
)
def test_natural_orders_refused(text: str, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_new_order(text, TODAY)
    assert fragment in err.value.reason


def test_change_still_names_its_product() -> None:
    with pytest.raises(ArgError, match="改数量或单价要写哪个产品"):
        parse_change("#3 单价 280 A100", TODAY)
    assert parse_change("#3 12-20前交货", TODAY)[1].due_date == date(2026, 12, 20)


@pytest.mark.parametrize(("text", "amount"), [("三百元一台", 300), ("300元/台", 300), ("300每台", 300)])
def test_money_per_unit(text: str, amount: int) -> None:
    assert parse_money(text) == D(amount)


async def test_natural_orders_in_chat(team: Bot, clock: Clock) -> None:
    clock.set(datetime(2026, 12, 5, 10, 0, tzinfo=TZ))
    reply = await team.text("u1", "/下单 客户：华为 A100 20台 单价300 12月15日交货")
    assert reply == ("#1 华为 金额 ¥6,000\n· A100 ×20台 @¥300 = ¥6,000\n交期 12-15\n金额低于审批线，已自动确认。\n"
                     "新客户「华为」已建档。\n产品 A100 不在产品库，按自由文本记录（不管库存）。")
    reply = await team.text("u1", "/下单 客户：华为 A100 20台 三百元一台 下周五交货")
    assert reply.startswith("#2 华为 金额 ¥6,000\n· A100 ×20台 @¥300 = ¥6,000\n交期 12-11\n"
                            "金额低于审批线，已自动确认。"), reply
    reply = await team.text("u1", "/下单 交期=1-29 单价=260 数量=30 产品=C300 客户=大疆")
    assert reply.startswith("#3 大疆 金额 ¥7,800\n· C300 ×30 @¥260 = ¥7,800\n"), reply
    assert "已自动确认" in reply


async def test_natural_refusal_changes_nothing(team: Bot, clock: Clock) -> None:
    clock.set(datetime(2026, 12, 5, 10, 0, tzinfo=TZ))
    before = await fingerprint(team.db)
    reply = await team.text("u1", "/下单 华为 数量=20 A100×2")
    assert reply.startswith("「A100」的数量写了两次\n正确格式：/下单"), reply
    assert await fingerprint(team.db) == before
