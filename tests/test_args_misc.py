"""/审批, reasons, /售后, /订单 filters, /客户 新增, /入库 (handlers/args/misc.py, customer.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from handlers.args import (
    ArgError,
    CustomerArgs,
    ListFilter,
    TicketOpen,
    TicketUpdate,
    is_customer_add,
    parse_after_sales,
    parse_approval,
    parse_customer_add,
    parse_list_filter,
    parse_reasoned,
    parse_stock_in,
)

D = Decimal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#12 通过", (12, True, None)),
        ("#12 同意", (12, True, None)),
        ("#12 批准", (12, True, None)),
        ("#12 OK", (12, True, None)),
        ("＃12 通过 价格可以", (12, True, "价格可以")),
        ("#12 驳回 价格太低", (12, False, "价格太低")),
        ("#12 驳回价格太低", (12, False, "价格太低")),
        ("#12 驳回：价格太低，请重报", (12, False, "价格太低，请重报")),
        ("#12 拒绝 交期太紧", (12, False, "交期太紧")),
        ("#12 不同意", (12, False, None)),
        ("#12 不通过 再谈谈", (12, False, "再谈谈")),
        ("#12 reject", (12, False, None)),
        ("12 通过", (12, True, None)),
        ("12号单 驳回", (12, False, None)),
    ],
)
def test_parse_approval(text: str, expected: tuple[int, bool, str | None]) -> None:
    assert parse_approval(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("#12", "通过 或 驳回"),
        ("#12 再看看", "没看懂「再看看」"),
        ("#12 nothing", "没看懂"),
        ("通过", "要写单号"),
    ],
)
def test_parse_approval_refused(text: str, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_approval(text)
    assert fragment in err.value.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#12 客户要求暂停", (12, "客户要求暂停")),
        ("#12", (12, None)),
        ("#12：客户取消", (12, "客户取消")),
        ("12号单 资金没到位，先停", (12, "资金没到位，先停")),
        ("#12 原因\n第二行", (12, "原因\n第二行")),
    ],
)
def test_parse_reasoned(text: str, expected: tuple[int, str | None]) -> None:
    assert parse_reasoned(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#12 屏幕有坏点", TicketOpen(12, "屏幕有坏点")),
        ("＃12 客户反馈 包装破损", TicketOpen(12, "客户反馈 包装破损")),
        ("T3 已解决 换货完成", TicketUpdate(3, "已解决", "换货完成")),
        ("t3 处理中", TicketUpdate(3, "处理中", None)),
        ("Ｔ３ 已解决", TicketUpdate(3, "已解决", None)),
        ("T3已解决", TicketUpdate(3, "已解决", None)),
        ("T3 完成 已退款", TicketUpdate(3, "已解决", "已退款")),
        ("T15 跟进中 等配件", TicketUpdate(15, "处理中", "等配件")),
    ],
)
def test_parse_after_sales(text: str, expected: TicketOpen | TicketUpdate) -> None:
    assert parse_after_sales(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("#12", "要写 #12 的问题"), ("T3", "要写状态"), ("T3 好了吗", "要写状态"), ("", "要写单号")],
)
def test_parse_after_sales_refused(text: str, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_after_sales(text)
    assert fragment in err.value.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ListFilter("all")),
        ("全部", ListFilter("all")),
        ("我的", ListFilter("mine")),
        ("待审批", ListFilter("pending")),
        ("逾期", ListFilter("overdue")),
        ("本周", ListFilter("week")),
        ("这周", ListFilter("week")),
        ("华为", ListFilter("customer", "华为")),
        ("华为 技术", ListFilter("customer", "华为 技术")),
        ("ＡＢＣ公司", ListFilter("customer", "ABC公司")),
    ],
)
def test_parse_list_filter(text: str, expected: ListFilter) -> None:
    assert parse_list_filter(text) == expected


def test_parse_list_filter_refuses_an_order_ref() -> None:
    with pytest.raises(ArgError, match="/查单"):
        parse_list_filter("#12")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("新增 华为技术", True),
        ("新增", True),
        ("添加 华为", True),
        ("add Huawei", True),
        ("华为", False),
        ("新增华为", False),
        ("", False),
    ],
)
def test_is_customer_add(text: str, expected: bool) -> None:
    assert is_customer_add(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "新增 华为技术 张三 13800138000 深圳坂田",
            CustomerArgs("华为技术", "张三", "13800138000", "深圳坂田"),
        ),
        ("新增 华为技术", CustomerArgs("华为技术")),
        ("新增 华为技术 张三", CustomerArgs("华为技术", "张三")),
        ("新增 华为技术 13800138000", CustomerArgs("华为技术", phone="13800138000")),
        (
            "新增 华为技术 0755-28780808 深圳市龙岗区",
            CustomerArgs("华为技术", phone="0755-28780808", address="深圳市龙岗区"),
        ),
        ("新增 华为技术 深圳市龙岗区坂田", CustomerArgs("华为技术", address="深圳市龙岗区坂田")),
        (
            "新增 华为技术 张三 13800138000 深圳市 龙岗区 坂田",
            CustomerArgs("华为技术", "张三", "13800138000", "深圳市 龙岗区 坂田"),
        ),
        ("新增 华为技术 联系人 李四 地址 深圳 南山", CustomerArgs("华为技术", "李四", None, "深圳 南山")),
        ("新增 ACME Tom 13800138000", CustomerArgs("ACME", "Tom", "13800138000")),
        ("华为技术 张三", CustomerArgs("华为技术", "张三")),
    ],
)
def test_parse_customer_add(text: str, expected: CustomerArgs) -> None:
    assert parse_customer_add(text) == expected


def test_parse_customer_add_needs_a_name() -> None:
    with pytest.raises(ArgError, match="要写客户名"):
        parse_customer_add("新增")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A100 100台", ("A100", D(100))),
        ("A100×100", ("A100", D(100))),
        ("A100 x 100", ("A100", D(100))),
        ("Ａ１００ １００", ("A100", D(100))),
        ("A100 一百", ("A100", D(100))),
        ("螺丝 M8 500个", ("螺丝 M8", D(500))),
        ("A100 数量 100", ("A100", D(100))),
        ("钢板 1.5吨", ("钢板", D("1.5"))),
    ],
)
def test_parse_stock_in(text: str, expected: tuple[str, Decimal]) -> None:
    assert parse_stock_in(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "要写产品和数量"),
        ("A100", "没看懂"),
        ("100台", "没看懂"),
        ("A100 0台", "要大于 0"),
        ("A100 100元", "没看懂"),
    ],
)
def test_parse_stock_in_refused(text: str, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_stock_in(text)
    assert fragment in err.value.reason
