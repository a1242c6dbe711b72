"""/发货 and /回款 (handlers/args/ship.py, payment.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from handlers.args import ArgError, PaymentArgs, ShipArgs, parse_payment, parse_ship

TODAY = date(2026, 11, 29)  # Sunday
D = Decimal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#12", ShipArgs(12)),
        ("#12 全部", ShipArgs(12)),
        ("#12 顺丰 SF1234567890", ShipArgs(12, carrier="顺丰", tracking_no="SF1234567890")),
        ("#12 SF1234567890 顺丰", ShipArgs(12, carrier="顺丰", tracking_no="SF1234567890")),
        ("#12 顺丰SF1234567890", ShipArgs(12, carrier="顺丰", tracking_no="SF1234567890")),
        ("#12 顺丰快递 SF1234567890", ShipArgs(12, carrier="顺丰", tracking_no="SF1234567890")),
        ("#12 单号 SF123 顺丰", ShipArgs(12, carrier="顺丰", tracking_no="SF123")),
        ("#12 运单号:773012345678 中通", ShipArgs(12, carrier="中通", tracking_no="773012345678")),
        ("#12 快递单号YT12345678", ShipArgs(12, tracking_no="YT12345678")),
        ("#12 ems 1234567890123", ShipArgs(12, carrier="EMS", tracking_no="1234567890123")),
        ("#12 京东物流 JD0012345678", ShipArgs(12, carrier="京东", tracking_no="JD0012345678")),
        ("#12 德邦 DPK123456789", ShipArgs(12, carrier="德邦", tracking_no="DPK123456789")),
        ("#12 自提", ShipArgs(12, carrier="自提")),
        ("#12 客户自提", ShipArgs(12, carrier="自提")),
        ("#12 送货上门", ShipArgs(12, carrier="送货")),
        ("#12 物流", ShipArgs(12, carrier="物流")),
        ("#12 A100 8台", ShipArgs(12, (("A100", D(8)),))),
        ("#12 A100×8", ShipArgs(12, (("A100", D(8)),))),
        ("#12 A100*8 B200 x 2", ShipArgs(12, (("A100", D(8)), ("B200", D(2))))),
        (
            "#12 A100 8台 B200×2 SF123456 顺丰",
            ShipArgs(12, (("A100", D(8)), ("B200", D(2))), "顺丰", "SF123456"),
        ),
        ("#12 A100 八台 圆通", ShipArgs(12, (("A100", D(8)),), "圆通")),
        ("#12 快递盒 5个", ShipArgs(12, (("快递盒", D(5)),))),
        (
            "＃１２ Ａ１００×８ 顺丰 ＳＦ１２３４５６７８９０",
            ShipArgs(12, (("A100", D(8)),), "顺丰", "SF1234567890"),
        ),
        ("顺丰 SF1234567890 #12", ShipArgs(12, carrier="顺丰", tracking_no="SF1234567890")),
        ("#12 A100 8台，B200 2台", ShipArgs(12, (("A100", D(8)), ("B200", D(2))))),
    ],
)
def test_parse_ship(text: str, expected: ShipArgs) -> None:
    assert parse_ship(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "要写单号"),
        ("顺丰 SF1234567890", "要写单号"),
        ("#12 中通 圆通", "两家物流"),
        ("#12 SF123456 SF654321", "两个单号"),
        ("#12 A100 0台", "数量要大于 0"),
        ("#12 A100×abc", "没看懂「A100×abc」"),
        ("#12 乱写", "没看懂「乱写」"),
        ("#12 单号", "没看懂单号"),
        ("#12 单号 顺丰", "没看懂单号"),
        ("#12 SF12", "没看懂「SF12」"),
    ],
)
def test_parse_ship_refused(text: str, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_ship(text)
    assert fragment in err.value.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#12 20000", PaymentArgs(12, D(20000))),
        ("#12 2万", PaymentArgs(12, D(20000))),
        ("#12 1.5万", PaymentArgs(12, D(15000))),
        ("#12 20,000元", PaymentArgs(12, D(20000))),
        ("#12 20，000元", PaymentArgs(12, D(20000))),
        ("#12 ￥20000", PaymentArgs(12, D(20000))),
        ("#12 ¥20,000.50", PaymentArgs(12, D("20000.50"))),
        ("#12 两万", PaymentArgs(12, D(20000))),
        ("#12 2万 转账", PaymentArgs(12, D(20000), "转账")),
        ("#12 转账 2万", PaymentArgs(12, D(20000), "转账")),
        ("#12 转账2万", PaymentArgs(12, D(20000), "转账")),
        ("#12 2万现金", PaymentArgs(12, D(20000), "现金")),
        ("#12 50000 承兑", PaymentArgs(12, D(50000), "承兑")),
        ("#12 50000 承兑汇票", PaymentArgs(12, D(50000), "承兑汇票")),
        ("#12 500 微信", PaymentArgs(12, D(500), "微信")),
        ("#12 500 支付宝 昨天", PaymentArgs(12, D(500), "支付宝", date(2026, 11, 28))),
        ("#12 2万 银行转账 11-28", PaymentArgs(12, D(20000), "银行转账", date(2026, 11, 28))),
        ("#12 20000 11月20日", PaymentArgs(12, D(20000), None, date(2026, 11, 20))),
        ("#12 20000 12-15", PaymentArgs(12, D(20000), None, date(2025, 12, 15))),  # looking back
        ("#12 20000 日期12.15", PaymentArgs(12, D(20000), None, date(2025, 12, 15))),
        ("#12 20000 今天", PaymentArgs(12, D(20000), None, date(2026, 11, 29))),
        ("#12 金额 20000 方式 刷卡", PaymentArgs(12, D(20000), "刷卡")),
        ("#12 收到 20000", PaymentArgs(12, D(20000))),
        ("#12 pos 300", PaymentArgs(12, D(300), "POS")),
        ("20000 #12", PaymentArgs(12, D(20000))),
        ("12 20000", PaymentArgs(12, D(20000))),
        ("#12 12.15", PaymentArgs(12, D("12.15"))),  # a number, not a date
    ],
)
def test_parse_payment(text: str, expected: PaymentArgs) -> None:
    assert parse_payment(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("#12", "要写金额"),
        ("#12 转账", "要写金额"),
        ("#12 0", "要大于 0"),
        ("#12 -500", "要大于 0"),
        ("#12 20000 12.15", "两个金额"),
        ("#12 2万 3万", "两个金额"),
        ("#12 20000 明天", "还没到"),
        ("#12 20000 2026-12-01", "还没到"),
        ("#12 20000 转账 现金", "方式写了两次"),
        ("#12 20000 打折", "没看懂「打折」"),
        ("转账 2万", "要写单号"),
    ],
)
def test_parse_payment_refused(text: str, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_payment(text, TODAY)
    assert fragment in err.value.reason
