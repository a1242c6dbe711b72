"""/对账, /报表, /订阅, /角色, /绑定 (handlers/args/periods.py, admin.py)."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.args import (
    ROLE_WORDS,
    TOPICS,
    ArgError,
    parse_bind,
    parse_report_period,
    parse_roles,
    parse_statement,
    parse_topics,
)

SUNDAY = date(2026, 11, 29)
JANUARY = date(2027, 1, 10)  # Sunday


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("华为", SUNDAY, ("华为", date(2026, 11, 1), SUNDAY)),
        ("华为 本月", SUNDAY, ("华为", date(2026, 11, 1), SUNDAY)),
        ("华为 上月", SUNDAY, ("华为", date(2026, 10, 1), date(2026, 10, 31))),
        ("华为 上个月", SUNDAY, ("华为", date(2026, 10, 1), date(2026, 10, 31))),
        ("华为 11月", SUNDAY, ("华为", date(2026, 11, 1), SUNDAY)),
        ("华为 10月", SUNDAY, ("华为", date(2026, 10, 1), date(2026, 10, 31))),
        ("华为 十月份", SUNDAY, ("华为", date(2026, 10, 1), date(2026, 10, 31))),
        ("华为 12月", SUNDAY, ("华为", date(2025, 12, 1), date(2025, 12, 31))),  # the latest December
        ("华为 2026-11", SUNDAY, ("华为", date(2026, 11, 1), SUNDAY)),
        ("华为 2026年10月", SUNDAY, ("华为", date(2026, 10, 1), date(2026, 10, 31))),
        ("华为 2026/2", SUNDAY, ("华为", date(2026, 2, 1), date(2026, 2, 28))),
        ("华为 2026-10-01 2026-10-31", SUNDAY, ("华为", date(2026, 10, 1), date(2026, 10, 31))),
        ("华为 10-01至10-31", SUNDAY, ("华为", date(2026, 10, 1), date(2026, 10, 31))),
        ("华为 10月1日 到 10月15日", SUNDAY, ("华为", date(2026, 10, 1), date(2026, 10, 15))),
        ("华为技术 有限公司 上月", SUNDAY, ("华为技术 有限公司", date(2026, 10, 1), date(2026, 10, 31))),
        ("华为 今年", SUNDAY, ("华为", date(2026, 1, 1), SUNDAY)),
        ("华为 去年", SUNDAY, ("华为", date(2025, 1, 1), date(2025, 12, 31))),
        ("华为 上月", JANUARY, ("华为", date(2026, 12, 1), date(2026, 12, 31))),
        ("华为 12月", JANUARY, ("华为", date(2026, 12, 1), date(2026, 12, 31))),
        ("华为 本月", JANUARY, ("华为", date(2027, 1, 1), JANUARY)),
    ],
)
def test_parse_statement(text: str, today: date, expected: tuple[str, date, date]) -> None:
    assert parse_statement(text, today) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "要写客户"),
        ("11月", "要写客户"),
        ("华为 13月", "不是有效月份"),
        ("华为 2026-12", "还没到"),
        ("华为 10-31 10-01", "开始日期晚于结束日期"),
        ("华为 2026-10-01 2026-12-31", "还没到"),
    ],
)
def test_parse_statement_refused(text: str, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_statement(text, SUNDAY)
    assert fragment in err.value.reason


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("", SUNDAY, ("本周", date(2026, 11, 23), date(2026, 11, 29))),
        ("本周", SUNDAY, ("本周", date(2026, 11, 23), date(2026, 11, 29))),
        ("这周", date(2026, 11, 25), ("本周", date(2026, 11, 23), date(2026, 11, 29))),
        ("上周", SUNDAY, ("上周", date(2026, 11, 16), date(2026, 11, 22))),
        ("本月", SUNDAY, ("本月", date(2026, 11, 1), date(2026, 11, 30))),
        ("上月", SUNDAY, ("上月", date(2026, 10, 1), date(2026, 10, 31))),
        ("上月", JANUARY, ("上月", date(2026, 12, 1), date(2026, 12, 31))),
        ("本周", JANUARY, ("本周", date(2027, 1, 4), date(2027, 1, 10))),
        ("上周", date(2027, 1, 1), ("上周", date(2026, 12, 21), date(2026, 12, 27))),
        ("今年", SUNDAY, ("今年", date(2026, 1, 1), date(2026, 12, 31))),
    ],
)
def test_parse_report_period(text: str, today: date, expected: tuple[str, date, date]) -> None:
    assert parse_report_period(text, today) == expected


def test_parse_report_period_refused() -> None:
    with pytest.raises(ArgError, match="没看懂「下周」"):
        parse_report_period("下周", SUNDAY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("新订单 发货", ("新订单", "发货")),
        ("新订单，发货、回款", ("新订单", "发货", "回款")),
        ("全部", TOPICS),
        ("所有", TOPICS),
        ("逾期 逾期", ("逾期",)),
        ("出货 收款", ("发货", "回款")),
        ("日报", ("日报",)),
    ],
)
def test_parse_topics(text: str, expected: tuple[str, ...]) -> None:
    assert parse_topics(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"), [("", "要写事件"), ("新订单 八卦", "没有「八卦」这个事件；可选：新订单")]
)
def test_parse_topics_refused(text: str, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_topics(text)
    assert fragment in err.value.reason


def test_role_words_cover_every_role() -> None:
    assert set(ROLE_WORDS.values()) == {"sales", "manager", "boss", "production", "warehouse", "finance",
                                        "service", "purchasing", "admin"}  # fmt: skip
    assert (ROLE_WORDS["主管"], ROLE_WORDS["经理"], ROLE_WORDS["总经理"], ROLE_WORDS["库管"]) == (
        "manager", "manager", "boss", "warehouse",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@张三 主管 财务", ("张三", ("manager", "finance"), ())),
        ("张三 销售", ("张三", ("sales",), ())),
        ("zhangsan manager", ("zhangsan", ("manager",), ())),
        ("wecom:zhangsan 老板", ("wecom:zhangsan", ("boss",), ())),
        ("@张三 -仓库", ("张三", (), ("warehouse",))),
        ("@张三 取消 仓库 财务", ("张三", (), ("warehouse", "finance"))),
        ("@张三 主管 -销售", ("张三", ("manager",), ("sales",))),
        ("@张三 +客服 售后", ("张三", ("service",), ())),
        ("@张三 管理员 admin", ("张三", ("admin",), ())),
        ("＠张三　库管", ("张三", ("warehouse",), ())),
    ],
)
def test_parse_roles(text: str, expected: tuple[str, tuple[str, ...], tuple[str, ...]]) -> None:
    assert parse_roles(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "要写用户和角色"),
        ("@张三", "要写给「张三」的角色"),
        ("@张三 厨师", "没有「厨师」这个角色"),
        ("@张三 主管 -主管", "又加又取消"),
    ],
)
def test_parse_roles_refused(text: str, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_roles(text)
    assert fragment in err.value.reason


WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DING = "https://oapi.dingtalk.com/robot/send?access_token=abc123def"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (WECOM, (WECOM, None)),
        (f"{DING} SEC0123456789abcdef", (DING, "SEC0123456789abcdef")),
        (f"SEC0123456789abcdef {DING}", (DING, "SEC0123456789abcdef")),
        (DING, (DING, None)),
        (
            "http://127.0.0.1:8081/cgi-bin/webhook/send?key=test",
            ("http://127.0.0.1:8081/cgi-bin/webhook/send?key=test", None),
        ),
        (
            "http://127.0.0.1:9000/robot/send?access_token=t SECabcdefgh12",
            ("http://127.0.0.1:9000/robot/send?access_token=t", "SECabcdefgh12"),
        ),
    ],
)
def test_parse_bind(text: str, expected: tuple[str, str | None]) -> None:
    assert parse_bind(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "要写机器人的 webhook 地址"),
        ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x", "不是群机器人地址"),
        ("https://example.com/hook", "不是群机器人地址"),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=", "不是群机器人地址"),
        ("https://oapi.dingtalk.com/robot/send", "不是群机器人地址"),
        ("http://127.0.0.1:abc/robot/send?access_token=t", "不是群机器人地址"),
        (f"{DING} secret123", "加签密钥以 SEC 开头"),
        (f"{WECOM} SEC0123456789abcdef", "不用加签密钥"),
        (f"{WECOM} {DING}", "只能写一个"),
    ],
)
def test_parse_bind_refused(text: str, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_bind(text)
    assert fragment in err.value.reason
