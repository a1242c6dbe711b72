"""/变更 change requests (handlers/args/order.py parse_change)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from handlers.args import ArgError, ChangeArgs, LineChange, parse_change

TODAY = date(2026, 11, 29)  # Sunday
D = Decimal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "#12 交期 12-20 A100 数量 30",
            ChangeArgs(due_date=date(2026, 12, 20), lines=(LineChange("A100", D(30)),)),
        ),
        ("#12 A100 数量 20→30", ChangeArgs(lines=(LineChange("A100", D(30)),))),
        ("#12 A100 数量20→30", ChangeArgs(lines=(LineChange("A100", D(30)),))),
        ("#12 A100 数量 20 -> 30", ChangeArgs(lines=(LineChange("A100", D(30)),))),
        ("#12 A100 数量 20改30", ChangeArgs(lines=(LineChange("A100", D(30)),))),
        ("#12 A100 数量改为30", ChangeArgs(lines=(LineChange("A100", D(30)),))),
        ("#12 A100×30", ChangeArgs(lines=(LineChange("A100", D(30)),))),
        ("#12 A100×20→30", ChangeArgs(lines=(LineChange("A100", D(30)),))),
        ("#12 A100 30台", ChangeArgs(lines=(LineChange("A100", D(30)),))),
        ("#12 A100 单价 280", ChangeArgs(lines=(LineChange("A100", None, D(280)),))),
        ("#12 A100 单价 300→280", ChangeArgs(lines=(LineChange("A100", None, D(280)),))),
        ("#12 A100 280元", ChangeArgs(lines=(LineChange("A100", None, D(280)),))),
        ("#12 A100×30@280", ChangeArgs(lines=(LineChange("A100", D(30), D(280)),))),
        ("#12 A100 数量 30 单价 280", ChangeArgs(lines=(LineChange("A100", D(30), D(280)),))),
        (
            "#12 A100×30 B200 单价 1100",
            ChangeArgs(lines=(LineChange("A100", D(30)), LineChange("B200", None, D(1100)))),
        ),
        ("#12 交期改到12-20", ChangeArgs(due_date=date(2026, 12, 20))),
        ("#12 交期 改到 12-20", ChangeArgs(due_date=date(2026, 12, 20))),
        ("#12 交期推迟到下周五", ChangeArgs(due_date=date(2026, 12, 4))),
        ("#12 交期 12-15 → 12-20", ChangeArgs(due_date=date(2026, 12, 20))),
        ("#12 交期12-15→12-20", ChangeArgs(due_date=date(2026, 12, 20))),
        ("＃12 交期：１２－２０", ChangeArgs(due_date=date(2026, 12, 20))),
        ("#12 备注 改用木箱", ChangeArgs(note="改用木箱")),
        ("#12 地址 上海市浦东新区 张江路1号", ChangeArgs(address="上海市浦东新区 张江路1号")),
        ("#12 联系人 王五 13900001111", ChangeArgs(contact="王五 13900001111")),
        ("#12 付款方式 月结60天", ChangeArgs(payment_terms="月结60天")),
        ("#12 付款改为 款到发货", ChangeArgs(payment_terms="款到发货")),
        (
            "#12\n交期 12-20\nA100 数量 30\n备注 客户追加",
            ChangeArgs(due_date=date(2026, 12, 20), lines=(LineChange("A100", D(30)),), note="客户追加"),
        ),
    ],
)
def test_parse_change(text: str, expected: ChangeArgs) -> None:
    assert parse_change(text, TODAY) == (12, expected)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("#12", "没有要变更的内容"),
        ("#12 数量 20→30", "要写哪个产品"),
        ("#12 单价 280", "要写哪个产品"),
        ("#12 客户 中兴", "不能改客户"),
        ("#12 A100×0", "数量要大于 0"),
        ("#12 A100 单价 0", "单价要大于 0"),
        ("#12 交期改到昨天", "已经过去了"),
        ("#12 交期 这周五", "已经过去了"),
        ("#12 A100", "没看懂「A100」"),
        ("#12 随便改改", "没看懂「随便改改」"),
        ("交期 12-20", "要写单号"),
    ],
)
def test_parse_change_refused(text: str, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_change(text, TODAY)
    assert fragment in err.value.reason
