"""/下单 and /补充 (handlers/args/order.py, grammar.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from handlers.args import ArgError, LineArg, OrderFields, parse_new_order, parse_supplement

TODAY = date(2026, 11, 29)  # Sunday
D = Decimal


def L(product: str, qty: int | str, price: int | str | None = None, unit: str | None = None) -> LineArg:
    return LineArg(product, D(qty), unit, None if price is None else D(price))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the three forms of product.md §3
        (
            "华为 A100×20@300 B200×5@1200 交期12-15 备注 加急",
            OrderFields("华为", (L("A100", 20, 300), L("B200", 5, 1200)), date(2026, 12, 15), "加急"),
        ),
        (
            "客户=华为 产品=A100 数量=20 单价=300 交期=2026-12-15",
            OrderFields("华为", (L("A100", 20, 300),), date(2026, 12, 15)),
        ),
        (
            "华为技术\nA100 20台 单价300\nB200 5台 1200元\n交期 下周五",
            OrderFields("华为技术", (L("A100", 20, 300, "台"), L("B200", 5, 1200, "台")), date(2026, 12, 4)),
        ),
        # full width, as a phone keyboard produces it
        ("华为 Ａ１００×２０＠３００", OrderFields("华为", (L("A100", 20, 300),))),
        ("华为　Ａ１００＊２０　交期：１２－１５", OrderFields("华为", (L("A100", 20),), date(2026, 12, 15))),
        # separators between product and quantity
        ("华为 A100x20", OrderFields("华为", (L("A100", 20),))),
        ("华为 A100X20", OrderFields("华为", (L("A100", 20),))),
        ("华为 A100*20", OrderFields("华为", (L("A100", 20),))),
        ("华为 螺丝乘100", OrderFields("华为", (L("螺丝", 100),))),
        ("华为 A100 x 20 @300", OrderFields("华为", (L("A100", 20, 300),))),
        ("华为 Box x 20", OrderFields("华为", (L("Box", 20),))),
        ("华为 A100 × 20 @ 300", OrderFields("华为", (L("A100", 20, 300),))),
        # units, prices, thousands, Chinese numerals
        ("华为 A100×20台@300元", OrderFields("华为", (L("A100", 20, 300, "台"),))),
        ("华为 A100 20台 300元", OrderFields("华为", (L("A100", 20, 300, "台"),))),
        ("华为 A100 20台 ¥300", OrderFields("华为", (L("A100", 20, 300, "台"),))),
        ("华为 A100 20台 300块", OrderFields("华为", (L("A100", 20, 300, "台"),))),
        ("华为 A100 数量20 单价300", OrderFields("华为", (L("A100", 20, 300),))),
        ("华为 A100 数量 20 单价 300", OrderFields("华为", (L("A100", 20, 300),))),
        ("华为 A100 二十台 单价三百", OrderFields("华为", (L("A100", 20, 300, "台"),))),
        ("华为 A100 两百个 1.5万", OrderFields("华为", (L("A100", 200, 15000, "个"),))),
        ("华为 A100×20@1,200", OrderFields("华为", (L("A100", 20, 1200),))),
        ("华为 A100×1,000@12.5", OrderFields("华为", (L("A100", 1000, "12.5"),))),
        ("华为 A100×20 单价300元/台", OrderFields("华为", (L("A100", 20, 300),))),
        ("华为 A100 20 300", OrderFields("华为", (L("A100", 20, 300),))),
        ("华为 A100×20 300", OrderFields("华为", (L("A100", 20, 300),))),
        ("华为 A100×20 12.15", OrderFields("华为", (L("A100", 20, "12.15"),))),  # a number, not a date
        ("华为 A100×20 交期12.15", OrderFields("华为", (L("A100", 20),), date(2026, 12, 15))),
        ("华为 A100×2 5块", OrderFields("华为", (L("A100", 2, 5),))),
        ("华为 A100 1.5吨", OrderFields("华为", (L("A100", "1.5", None, "吨"),))),
        # lists with commas: a comma is a separator unless three digits follow it
        ("华为 A100×20,B200×5", OrderFields("华为", (L("A100", 20), L("B200", 5)))),
        ("华为，A100×20，B200×5", OrderFields("华为", (L("A100", 20), L("B200", 5)))),
        ("华为 A100×20@300、B200×5@1200", OrderFields("华为", (L("A100", 20, 300), L("B200", 5, 1200)))),
        # lines without a price: allowed, the order stays a draft
        ("华为 A100×20 B200 5台", OrderFields("华为", (L("A100", 20), L("B200", 5, None, "台")))),
        # only a customer, only lines
        ("华为", OrderFields("华为")),
        ("华为技术有限公司", OrderFields("华为技术有限公司")),
        ("深圳 华为 A100×2", OrderFields("深圳 华为", (L("A100", 2),))),
        ("A100×20@300", OrderFields(None, (L("A100", 20, 300),))),
        ("产品=A100 数量=20", OrderFields(None, (L("A100", 20),))),
        # several 产品= groups, key=value with colons and on separate lines
        (
            "客户:华为 产品:A100 数量:20 单价:300 产品:B200 数量:5 单价:1200",
            OrderFields("华为", (L("A100", 20, 300), L("B200", 5, 1200))),
        ),
        (
            "客户：华为\n产品：A100\n数量：20\n单价：300\n交期：2026-12-15",
            OrderFields("华为", (L("A100", 20, 300),), date(2026, 12, 15)),
        ),
        ("客户 = 华为 产品 = A100 数量 = 20", OrderFields("华为", (L("A100", 20),))),
        ("客户 华为 A100×2", OrderFields("华为", (L("A100", 2),))),
        # keywords: due date, payment terms, address, contact, note
        ("华为 A100×2 交期:12-15", OrderFields("华为", (L("A100", 2),), date(2026, 12, 15))),
        ("华为 A100×2 交货 明天", OrderFields("华为", (L("A100", 2),), date(2026, 11, 30))),
        ("华为 A100×2 交货期 月底", OrderFields("华为", (L("A100", 2),), date(2026, 11, 30))),
        ("华为 A100×2 到货 下周三", OrderFields("华为", (L("A100", 2),), date(2026, 12, 2))),
        ("华为 A100×2 12月15日", OrderFields("华为", (L("A100", 2),), date(2026, 12, 15))),
        ("华为 明天 A100×2", OrderFields("华为", (L("A100", 2),), date(2026, 11, 30))),
        ("华为 A100×2 交期 15号", OrderFields("华为", (L("A100", 2),), date(2026, 12, 15))),
        ("华为 A100×2 付款 月结30天", OrderFields("华为", (L("A100", 2),), payment_terms="月结30天")),
        ("华为 A100×2 付款方式:款到发货", OrderFields("华为", (L("A100", 2),), payment_terms="款到发货")),
        ("华为 A100×2 账期 60天", OrderFields("华为", (L("A100", 2),), payment_terms="60天")),
        ("华为 A100×2 月结30天", OrderFields("华为", (L("A100", 2),), payment_terms="月结30天")),
        ("华为 A100×2 款到发货", OrderFields("华为", (L("A100", 2),), payment_terms="款到发货")),
        (
            "华为 A100×2 联系人 张三 13800138000",
            OrderFields("华为", (L("A100", 2),), contact="张三 13800138000"),
        ),
        (
            "华为 A100×2\n地址 深圳市龙岗区坂田街道 华为基地 B区3号门",
            OrderFields("华为", (L("A100", 2),), address="深圳市龙岗区坂田街道 华为基地 B区3号门"),
        ),
        (
            "华为 A100×2 地址 深圳坂田 12-15 联系人 李四",
            OrderFields("华为", (L("A100", 2),), address="深圳坂田 12-15", contact="李四"),
        ),
        (
            "华为 A100×2 备注 加急，周五前发 12.15 交货",
            OrderFields("华为", (L("A100", 2),), note="加急，周五前发 12.15 交货"),
        ),
        ("华为 A100×2 备注加急", OrderFields("华为", (L("A100", 2),), note="加急")),
        ("华为 A100×2 备注：加急", OrderFields("华为", (L("A100", 2),), note="加急")),
        (
            "华为 A100×2\n备注 第一行\n第二行 A 区\n交期 12-15",
            OrderFields("华为", (L("A100", 2),), date(2026, 12, 15), "第一行\n第二行 A 区"),
        ),
        (
            "华为\n备注 先发样品\nA100 20台 300元",
            OrderFields("华为", (L("A100", 20, 300, "台"),), note="先发样品"),
        ),
        (
            "华为 A100×2 备注 发顺丰@张三 zs@x.com",
            OrderFields("华为", (L("A100", 2),), note="发顺丰@张三 zs@x.com"),
        ),
        (
            "华为 A100×2 备注 加急 交期12-15",
            OrderFields("华为", (L("A100", 2),), date(2026, 12, 15), "加急"),
        ),
        # multi-line: a product name with spaces on its own line
        ("华为\n螺丝 M8 100个 2元", OrderFields("华为", (L("螺丝 M8", 100, 2, "个"),))),
        (
            "华为\nA100 二十台\nB200×5@1,200",
            OrderFields("华为", (L("A100", 20, None, "台"), L("B200", 5, 1200))),
        ),
    ],
)
def test_parse_new_order(text: str, expected: OrderFields) -> None:
    assert parse_new_order(text, TODAY) == expected


def test_note_stops_only_at_unmistakable_fields() -> None:
    # a bare 交期 followed by words starts the due-date field even inside a note: refused, not guessed
    with pytest.raises(ArgError, match="可以晚"):
        parse_new_order("华为 A100×2 备注 客户说 交期 可以晚", TODAY)
    # but a keyword glued to prose stays prose
    fields = parse_new_order("华为 A100×2 备注 交期紧张 地址待定", TODAY)
    assert fields.note == "交期紧张 地址待定"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "什么都没建"),
        ("备注 加急", "什么都没建"),
        ("华为 A100×abc", "没看懂「A100×abc」：数量要写数字"),
        ("华为 A100×0", "「A100」的数量要大于 0"),
        ("华为 A100×-2", "数量要大于 0"),
        ("华为 A100×2@0", "「A100」的单价要大于 0"),
        ("华为 A100 数量 0 单价 300", "数量要大于 0"),
        ("华为 A100×20@300 加急", "没看懂「加急」"),
        ("华为 A100×20@300 华为", "没看懂「华为」"),
        ("华为 20台", "没看懂「华为 20台」：数量前要写产品"),
        ("华为 300元", "没看懂「华为 300元」：单价要跟在产品和数量后面"),
        ("华为 A100 5块钱", "缺数量"),
        ("华为 5块", "没看懂「华为 5块」：数量前要写产品"),
        ("华为 A100 单价300", "「A100」缺数量"),
        ("产品=A100 单价=300", "「A100」缺数量"),
        ("华为 数量=20", "「数量」没有对应的产品"),
        ("华为 A100×20 数量 30", "「A100」的数量写了两次"),
        ("华为 A100×20@300 单价 280", "「A100」的单价写了两次"),
        ("华为 A100×20 300 400", "没看懂「400」"),
        ("华为 A100×2 交期 2026-11-28", "已经过去了"),
        ("华为 A100×2 交期 这周五", "2026-11-27，已经过去了"),
        ("华为 A100×2 交期 2-30", "不是有效日期"),
        ("华为 A100×2 交期 改天", "没看懂日期「改天」"),
        ("华为 A100×2 交期", "「交期」后面要写内容"),
        ("华为 A100×2 交期12-15 交期12-16", "交期写了两次"),
        ("华为 客户 中兴", "客户写了两次"),
        ("华为 A100×2 备注", "「备注」后面要写内容"),
        ("华为 A100×2 备注 a 备注 b", "备注写了两次"),
        ("华为\nA100×2\n请尽快", "没看懂「请尽快」"),
        ("华为 A100×2@300 12.15", "没看懂「12.15」"),
    ],
)
def test_parse_new_order_refused(text: str, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_new_order(text, TODAY)
    assert fragment in err.value.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "#12 客户 华为 交期 12-15 A100×20@300 备注 xx 付款方式 月结30天 "
            "地址 深圳南山 联系人 张三 13800138000",
            (
                12,
                OrderFields(
                    "华为",
                    (L("A100", 20, 300),),
                    date(2026, 12, 15),
                    "xx",
                    "月结30天",
                    "深圳南山",
                    "张三 13800138000",
                ),
            ),
        ),
        ("#12 交期 12-15", (12, OrderFields(due_date=date(2026, 12, 15)))),
        ("＃12 A100×20@300", (12, OrderFields(lines=(L("A100", 20, 300),)))),
        ("#12 A100 20台 单价300", (12, OrderFields(lines=(L("A100", 20, 300, "台"),)))),
        ("12号单 客户=华为技术", (12, OrderFields("华为技术"))),
        ("#12 付款方式 款到发货", (12, OrderFields(payment_terms="款到发货"))),
        (
            "#12\n地址 深圳市南山区科技园\n联系人 王五",
            (12, OrderFields(address="深圳市南山区科技园", contact="王五")),
        ),
        ("#12 备注 客户要求木箱包装", (12, OrderFields(note="客户要求木箱包装"))),
        ("12 交期 下周三", (12, OrderFields(due_date=date(2026, 12, 2)))),
    ],
)
def test_parse_supplement(text: str, expected: tuple[int, OrderFields]) -> None:
    assert parse_supplement(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("#12", "没有要补充的内容"),
        ("交期 12-15", "要写单号"),
        ("#12 华为", "没看懂「华为」"),  # a customer needs its keyword here
        ("#12 A100×0", "数量要大于 0"),
        ("#12 交期 昨天", "已经过去了"),
    ],
)
def test_parse_supplement_refused(text: str, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_supplement(text, TODAY)
    assert fragment in err.value.reason
