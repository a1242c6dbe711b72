"""Issue 14, items 4 and 5: a tracking number after a carrier; quantities in 块 and catalogue units."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from handlers.args import (
    ArgError,
    LineArg,
    OrderFields,
    ShipArgs,
    catalogue_units,
    parse_change,
    parse_new_order,
    parse_qty,
    parse_ship,
    parse_stock_in,
    parse_supplement,
)
from tests.conftest import Bot, Clock, fingerprint

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 12, 5)
D = Decimal


# ---- item 4: after a carrier name the next token is the tracking number ---------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#2 A100 8 顺丰 SF123", ShipArgs(2, (("A100", D(8)),), "顺丰", "SF123")),
        ("#2 顺丰 SF123", ShipArgs(2, carrier="顺丰", tracking_no="SF123")),
        ("#2 顺丰SF123", ShipArgs(2, carrier="顺丰", tracking_no="SF123")),
        ("#2 中通 773", ShipArgs(2, carrier="中通", tracking_no="773")),
        ("#2 德邦 DB-12 A100 8台", ShipArgs(2, (("A100", D(8)),), "德邦", "DB-12")),
        ("#2 韵达快递 yd12", ShipArgs(2, carrier="韵达", tracking_no="yd12")),
        ("#2 货拉拉 HLL9 全部", ShipArgs(2, carrier="货拉拉", tracking_no="HLL9")),
        # what follows a carrier but starts something else is not its number
        ("#2 顺丰 A100 8", ShipArgs(2, (("A100", D(8)),), "顺丰")),
        ("#2 顺丰 A100×8", ShipArgs(2, (("A100", D(8)),), "顺丰")),
        ("#2 顺丰 全部", ShipArgs(2, carrier="顺丰")),
        ("#2 顺丰 单号 SF9", ShipArgs(2, carrier="顺丰", tracking_no="SF9")),
    ],
)
def test_tracking_after_carrier(text: str, expected: ShipArgs) -> None:
    assert parse_ship(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("#2 SF123", "没看懂「SF123」"),  # short and not after a carrier: still not a tracking number
        ("#2 中通 圆通", "写了两家物流：「中通」「圆通」"),
        ("#2 顺丰 SF1 SF2", "没看懂「SF2」"),
        ("#2 顺丰 12", "没看懂「12」"),  # two characters are not a tracking number
    ],
)
def test_tracking_after_carrier_refused(text: str, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_ship(text)
    assert fragment in err.value.reason


# ---- item 5: 块 and the catalogue's units work wherever a quantity is written --------------
def L(product: str, qty: int, price: int | None = None, unit: str | None = None) -> LineArg:
    return LineArg(product, D(qty), unit, None if price is None else D(price))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "东莞华盛精密五金厂 XD-A100 5块 交期12-20",
            OrderFields("东莞华盛精密五金厂", (L("XD-A100", 5, unit="块"),), date(2026, 12, 20)),
        ),
        ("华为 A100 5块 300块", OrderFields("华为", (L("A100", 5, 300, "块"),))),
        ("华为 A100 5 块 12元", OrderFields("华为", (L("A100", 5, 12, "块"),))),
        ("华为 A100×5块@30", OrderFields("华为", (L("A100", 5, 30, "块"),))),
        ("华为 A100 数量 5块 单价 3", OrderFields("华为", (L("A100", 5, 3, "块"),))),
        # after a quantity 块 is still the price; before a quantity too
        ("华为 A100 20台 300块", OrderFields("华为", (L("A100", 20, 300, "台"),))),
        ("华为 A100 300块 20台", OrderFields("华为", (L("A100", 20, 300, "台"),))),
        ("华为 A100×2 5块", OrderFields("华为", (L("A100", 2, 5),))),
        # the other common units
        ("华为 门框 3樘 单价500", OrderFields("华为", (L("门框", 3, 500, "樘"),))),
        ("华为 布 20码@8", OrderFields("华为", (L("布", 20, 8, "码"),))),
        ("华为 钢材 2吨 kg", None),
    ],
)
def test_block_is_a_unit_in_orders(text: str, expected: OrderFields | None) -> None:
    if expected is None:
        with pytest.raises(ArgError):
            parse_new_order(text, TODAY)
        return
    assert parse_new_order(text, TODAY) == expected


def test_block_everywhere_a_quantity_is_written() -> None:
    assert parse_qty("5块") == (D(5), "块")
    assert parse_supplement("#6 XD-A100 5块@12", TODAY) == (6, OrderFields(lines=(L("XD-A100", 5, 12, "块"),)))
    assert parse_change("#6 XD-A100 数量 5块→8块", TODAY)[1].lines[0].qty == D(8)
    assert parse_ship("#2 XD-A100 5块 德邦 DB12") == ShipArgs(2, (("XD-A100", D(5)),), "德邦", "DB12")
    assert parse_stock_in("XD-A100 5块") == ("XD-A100", D(5))
    with pytest.raises(ArgError, match="没看懂「A100 5块钱」"):
        parse_stock_in("A100 5块钱")  # 块钱 is only ever money


def test_catalogue_units() -> None:
    with pytest.raises(ArgError):
        parse_new_order("华为 SC-1 3卡 @20", TODAY)
    with catalogue_units(["卡", "天", "元", "", None, "PCS"]):
        assert parse_new_order("华为 SC-1 3卡 @20", TODAY).lines == (L("SC-1", 3, 20, "卡"),)
        assert parse_new_order("华为 SC-1 3 卡 @20", TODAY).lines == (L("SC-1", 3, 20, "卡"),)
        assert parse_ship("#2 SC-1 3卡") == ShipArgs(2, (("SC-1", D(3)),))
        # units that clash with dates or money are ignored: 3天后 stays a date, 20元 a price
        assert parse_new_order("华为 SC-1×3 20元 3天后", TODAY).due_date == date(2026, 12, 8)
    with pytest.raises(ArgError):  # only inside the block
        parse_new_order("华为 SC-1 3卡 @20", TODAY)


# ---- the handlers ----------------------------------------------------------------------------
@pytest.fixture
async def shop(team: Bot, clock: Clock) -> Bot:
    from storage.models import Product

    clock.set(datetime(2026, 12, 5, 10, 0, tzinfo=TZ))
    async with team.db.uow() as uow:
        uow.session.add(Product(sku="XD-A100", name="支架", unit="块", price=12, stock=100, track_stock=True))
        uow.session.add(Product(sku="SC-1", name="门卡", unit="卡", price=20, stock=50, track_stock=True))
    return team


async def test_ship_short_tracking_number(shop: Bot) -> None:
    assert "已自动确认" in await shop.text("u1", "/下单 华为 A100×10@300 交期12-15")
    reply = await shop.text("w1", "/发货 #1 A100 8 顺丰 SF123")
    assert reply == ("#1 第1批已发货 ¥2,400（顺丰 SF123）\n#1 已确认·部分发货 | 已发 80% · 已收 0% · 交期 12-15\n"
                     "⚠️ #1 付款方式是「款到发货」，但还没有任何回款：请确认已收款或已获准先发货。")


async def test_order_ship_and_stock_in_blocks(shop: Bot) -> None:
    reply = await shop.text("u1", "/下单 东莞华盛精密五金厂 XD-A100 5块 交期12-20")
    assert reply == ("#1 东莞华盛精密五金厂 金额 ¥60\n· XD-A100(支架) ×5块 @¥12 = ¥60\n交期 12-20\n"
                     "金额低于审批线，已自动确认。\n新客户「东莞华盛精密五金厂」已建档。")
    reply = await shop.text("w1", "/发货 #1 XD-A100 2块 德邦 DB12")
    assert reply.startswith("#1 第1批已发货 ¥24（德邦 DB12）"), reply
    assert await shop.text("w1", "/入库 XD-A100 5块") == "XD-A100 入库 5，现有库存 103"


async def test_catalogue_unit_in_chat(shop: Bot) -> None:
    reply = await shop.text("u1", "/下单 华为 SC-1 3卡 交期12-20")
    assert "· SC-1(门卡) ×3卡 @¥20 = ¥60" in reply, reply
    assert (await shop.text("w1", "/发货 #1 SC-1 1卡 顺丰 SF7")).startswith("#1 第1批已发货 ¥20（顺丰 SF7）")


@pytest.mark.parametrize(
    ("user", "text", "expected"),
    [
        ("w1", "/发货 #1 SF123", "没看懂「SF123」"),
        ("w1", "/发货 #1 顺丰 SF1 SF2", "没看懂「SF2」"),
        ("u1", "/下单 华为 5块", "没看懂「华为 5块」：数量前要写产品，如 A100 5块"),
        ("w1", "/入库 XD-A100 5块钱", "没看懂「XD-A100 5块钱」"),
    ],
)
async def test_refused_and_unchanged(shop: Bot, user: str, text: str, expected: str) -> None:
    assert "已自动确认" in await shop.text("u1", "/下单 华为 A100×10@300 交期12-15")
    before = await fingerprint(shop.db)
    reply = await shop.text(user, text)
    assert expected in reply and reply.endswith("（未做任何修改）"), reply
    assert await fingerprint(shop.db) == before


# ---- item 1: a month-day without a year is in the coming half year ------------------------------
@pytest.mark.parametrize(
    ("text", "today", "fragment"),
    [
        ("华为 A100×20@300 交期12-01", TODAY, "「12-01」已过（今天 12-05）；要写明年的日期请写 2027-12-01"),
        ("华为 A100×2 交期 11-28", date(2026, 11, 29), "「11-28」已过（今天 11-29）；要写明年的日期请写 2027-11-28"),
        ("华为 A100×20@300 交期 12-29", date(2026, 12, 30), "要写明年的日期请写 2027-12-29"),
    ],
)
def test_recent_month_day_refused(text: str, today: date, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_new_order(text, today)
    assert fragment in err.value.reason


def test_month_days_in_the_coming_months() -> None:
    assert parse_new_order("华为 A100×2 交期1-29", TODAY).due_date == date(2027, 1, 29)
    assert parse_new_order("华为 A100×2 交期 2027-12-01", TODAY).due_date == date(2027, 12, 1)
    assert parse_new_order("华为 A100×2 交期 2-29", TODAY).due_date == date(2028, 2, 29)


async def test_past_month_day_refused_in_chat(shop: Bot) -> None:
    before = await fingerprint(shop.db)
    reply = await shop.text("u1", "/下单 华为 A100×20@300 交期12-01")
    assert reply.startswith("「12-01」已过（今天 12-05）；要写明年的日期请写 2027-12-01\n正确格式：/下单"), reply
    assert await fingerprint(shop.db) == before
    reply = await shop.text("u1", "/下单 华为 A100×20@300 交期2027-01-29")
    assert reply.startswith("#1 华为 金额 ¥6,000"), reply
    assert "\n交期 2027-01-29\n" in reply, reply
    assert (await shop.text("u1", "/查单 #1")).startswith("#1 已确认·待备货 | 已发 0% · 已收 0% · 交期 2027-01-29")
