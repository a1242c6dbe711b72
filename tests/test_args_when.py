"""Reminder times and /提醒 (handlers/args/times.py, parse_reminder)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.args import ArgError, ReminderArgs, parse_reminder, parse_when

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 14, 20, tzinfo=ZONE)  # Sunday afternoon


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZONE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("明天上午10点", at(11, 30, 10)),
        ("明天 上午10点", at(11, 30, 10)),
        ("明天10点", at(11, 30, 10)),
        ("下午3点半", at(11, 29, 15, 30)),
        ("下午3点", at(11, 29, 15)),
        ("下午三点", at(11, 29, 15)),
        ("下午3点一刻", at(11, 29, 15, 15)),
        ("下午3点20", at(11, 29, 15, 20)),
        ("下午3点20分", at(11, 29, 15, 20)),
        ("晚上8点", at(11, 29, 20)),
        ("今晚8点", at(11, 29, 20)),
        ("今天下午5点", at(11, 29, 17)),
        ("15:30", at(11, 29, 15, 30)),
        ("１５：３０", at(11, 29, 15, 30)),
        ("16点", at(11, 29, 16)),
        ("明早9点", at(11, 30, 9)),
        ("明天中午12点", at(11, 30, 12)),
        ("明天中午1点", at(11, 30, 13)),
        ("明天凌晨2点", at(11, 30, 2)),
        ("明天十点半", at(11, 30, 10, 30)),
        ("下周一9点", at(11, 30, 9)),
        ("下周一 9:30", at(11, 30, 9, 30)),
        ("周五下午2点", at(12, 4, 14)),
        ("15号10点", at(12, 15, 10)),
        ("12-15 10:00", at(12, 15, 10)),
        ("12月1日 下午2点", at(12, 1, 14)),
        ("明天", at(11, 30, 9)),  # a bare date means 09:00
        ("下周三", at(12, 2, 9)),
        ("月底", at(11, 30, 9)),
        ("30分钟后", at(11, 29, 14, 50)),
        ("10分钟后", at(11, 29, 14, 30)),
        ("半小时后", at(11, 29, 14, 50)),
        ("半个小时后", at(11, 29, 14, 50)),
        ("1个半小时后", at(11, 29, 15, 50)),
        ("2小时后", at(11, 29, 16, 20)),
        ("两个小时后", at(11, 29, 16, 20)),
        ("1.5小时后", at(11, 29, 15, 50)),
        ("3天后", at(12, 2, 14, 20)),  # keeps the time of day
        ("1周后", at(12, 6, 14, 20)),
        ("3天后上午10点", at(12, 2, 10)),
        ("2027-01-05 8:00", at(1, 5, 8, year=2027)),
    ],
)
def test_parse_when(text: str, expected: datetime) -> None:
    when = parse_when(text, NOW)
    assert when == expected
    assert when.tzinfo is ZONE


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("9点", "时间已过"),
        ("3点", "下午请写「下午3点」"),
        ("十点半", "时间已过"),
        ("中午12点", "时间已过"),
        ("昨天10点", "时间已过"),
        ("今天", "时间已过"),  # 09:00 today has passed
        ("这周五10点", "时间已过"),
        ("25点", "不是有效时间"),
        ("10:75", "不是有效时间"),
        ("上午15点", "不是有效时间"),
        ("晚上12点", "不是有效时间"),
        ("下午", "要写几点"),
        ("明天上午", "要写几点"),
        ("改天", "没看懂时间"),
        ("", "没看懂时间"),
        ("明天10点 开会", "没看懂时间后面的「开会」"),
    ],
)
def test_parse_when_refused(text: str, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_when(text, NOW)
    assert fragment in err.value.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#12 明天上午10点 催客户付款", ReminderArgs(12, at(11, 30, 10), "催客户付款")),
        ("＃12 明天上午10点 催客户付款", ReminderArgs(12, at(11, 30, 10), "催客户付款")),
        ("下午3点半 开会", ReminderArgs(None, at(11, 29, 15, 30), "开会")),
        ("下午3点半开会", ReminderArgs(None, at(11, 29, 15, 30), "开会")),
        ("30分钟后 回电话给张总", ReminderArgs(None, at(11, 29, 14, 50), "回电话给张总")),
        ("2小时后 看邮件", ReminderArgs(None, at(11, 29, 16, 20), "看邮件")),
        ("3天后 回访客户", ReminderArgs(None, at(12, 2, 14, 20), "回访客户")),
        ("下周一9点 周会", ReminderArgs(None, at(11, 30, 9), "周会")),
        ("明天10点 #12 催款", ReminderArgs(12, at(11, 30, 10), "催款")),
        ("12号单 明天10点 催款", ReminderArgs(12, at(11, 30, 10), "催款")),
        ("明天10点 问下 #12 和 #13", ReminderArgs(None, at(11, 30, 10), "问下 #12 和 #13")),
        ("明天 对账", ReminderArgs(None, at(11, 30, 9), "对账")),
        ("明天10点：催款", ReminderArgs(None, at(11, 30, 10), "催款")),
        ("明天10点\n催款\n带合同", ReminderArgs(None, at(11, 30, 10), "催款\n带合同")),
    ],
)
def test_parse_reminder(text: str, expected: ReminderArgs) -> None:
    assert parse_reminder(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "要写时间和内容"),
        ("#12", "要写时间和内容"),
        ("#12 明天10点", "要写提醒什么"),
        ("催客户付款", "没看懂时间"),
        ("9点 开会", "时间已过"),
    ],
)
def test_parse_reminder_refused(text: str, fragment: str) -> None:
    with pytest.raises(ArgError) as err:
        parse_reminder(text, NOW)
    assert fragment in err.value.reason
