"""Order references (handlers/args/refs.py)."""

from __future__ import annotations

import pytest

from handlers.args import ArgError, parse_order_ref, split_order_ref


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#12", 12),
        ("＃12", 12),
        ("＃１２", 12),
        ("# 12", 12),
        ("12号单", 12),
        ("12号订单", 12),
        ("#12号单", 12),
        ("单号12", 12),
        ("单号:12", 12),
        ("单号：#12", 12),
        ("订单12", 12),
        ("订单号12", 12),
        ("12", 12),
        (" #7 ", 7),
        ("#007", 7),
    ],
)
def test_parse_order_ref(text: str, expected: int) -> None:
    assert parse_order_ref(text) == expected


@pytest.mark.parametrize(
    "text", ["", "#", "#0", "12号", "#abc", "T3", "#1234567890", "十二", "#12 #13", "-12"]
)
def test_parse_order_ref_refused(text: str) -> None:
    with pytest.raises(ArgError, match="单号"):
        parse_order_ref(text)


@pytest.mark.parametrize(
    ("text", "no", "rest"),
    [
        ("#12", 12, ""),
        ("#12 顺丰 SF123456", 12, "顺丰 SF123456"),
        ("#12顺丰", 12, "顺丰"),
        ("＃12，通过", 12, "通过"),
        ("12 通过", 12, "通过"),
        ("12号单 通过", 12, "通过"),
        ("单号12 驳回 太贵", 12, "驳回 太贵"),
        ("20000 #12", 12, "20000"),
        ("顺丰 SF123456 #12", 12, "顺丰 SF123456"),
        ("#12\n交期 12-15\n备注 加急", 12, "交期 12-15\n备注 加急"),
        ("12\nA100×3", 12, "A100×3"),
        ("#12 #13", 12, "#13"),
        ("#12:客户要求暂停", 12, "客户要求暂停"),
    ],
)
def test_split_order_ref(text: str, no: int, rest: str) -> None:
    assert split_order_ref(text) == (no, rest)


@pytest.mark.parametrize(
    "text", ["", "通过", "顺丰 SF1234567890", "A100 20台", "12台", "#0 通过", "单号 SF123"]
)
def test_split_order_ref_refused(text: str) -> None:
    with pytest.raises(ArgError, match="单号"):
        split_order_ref(text)
