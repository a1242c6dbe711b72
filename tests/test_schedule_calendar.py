"""Working-time arithmetic, quiet hours and payment terms: pure, no clock, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedules.calendar import Calendar
from schedules.terms import TermsRule, cn_int, payment_due, rule_for
from tests.conftest import make_settings

TZ = ZoneInfo("Asia/Shanghai")
CAL = Calendar(TZ, holidays=frozenset({date(2026, 12, 31)}))


def at(day: str, clock: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), TZ)


def test_from_settings_reads_the_configured_keys() -> None:
    s = make_settings("sqlite+aiosqlite://", working_hours="08:30-17:30", working_days="1-6",
                      quiet_hours="22:00-07:00", holidays="2026-10-01,2026-10-02", timezone="Asia/Tokyo")
    cal = Calendar.from_settings(s)
    assert (cal.work_start, cal.work_end) == (time(8, 30), time(17, 30))
    assert cal.weekdays == frozenset(range(1, 7))
    assert cal.quiet == (time(22, 0), time(7, 0))
    assert date(2026, 10, 1) in cal.holidays and cal.tz.key == "Asia/Tokyo"


@pytest.mark.parametrize(("start", "hours", "expected"), [
    (at("2026-11-27", "10:00"), 4, at("2026-11-27", "14:00")),      # Friday, same day
    (at("2026-11-27", "17:00"), 4, at("2026-11-30", "12:00")),      # over the weekend
    (at("2026-11-27", "20:00"), 1, at("2026-11-30", "10:00")),      # after hours: from Monday 09:00
    (at("2026-11-28", "11:00"), 9, at("2026-11-30", "18:00")),      # Saturday: a whole Monday
    (at("2026-11-30", "08:00"), 0, at("2026-11-30", "09:00")),      # zero: the next working moment
    (at("2026-12-30", "15:00"), 4, at("2027-01-01", "10:00")),      # the 31st is a holiday
])
def test_add_working_hours(start: datetime, hours: int, expected: datetime) -> None:
    assert CAL.add_working_hours(start, timedelta(hours=hours)) == expected


def test_working_time_between_counts_only_working_hours() -> None:
    assert CAL.working_time_between(at("2026-11-27", "17:00"), at("2026-11-30", "10:00")) == timedelta(hours=2)
    assert CAL.working_time_between(at("2026-11-27", "10:00"), at("2026-11-27", "09:00")) == timedelta(0)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),  # noqa: DTZ001  (naive bounds by API)
                   timezones=st.just(UTC)),
       st.integers(min_value=0, max_value=60 * 200))
def test_add_and_between_are_inverse(start: datetime, minutes: int) -> None:
    end = CAL.add_working_hours(start, timedelta(minutes=minutes))
    assert end >= start
    assert CAL.working_time_between(start, end) == timedelta(minutes=minutes)
    local = CAL.local(end)
    assert CAL.is_working_day(local.date()) and CAL.work_start <= local.time() <= CAL.work_end


@pytest.mark.parametrize(("clock", "quiet", "ends"), [
    ("20:59", False, None), ("21:00", True, "2026-11-28 08:00"), ("23:30", True, "2026-11-28 08:00"),
    ("07:59", True, "2026-11-27 08:00"), ("08:00", False, None),
])
def test_quiet_hours_wrap_midnight(clock: str, quiet: bool, ends: str | None) -> None:
    t = at("2026-11-27", clock)
    assert CAL.in_quiet(t) is quiet
    expected = datetime.fromisoformat(ends).replace(tzinfo=TZ) if ends else t
    assert CAL.quiet_end(t) == expected


def test_no_quiet_hours_when_unset() -> None:
    cal = Calendar(TZ, quiet=None)
    assert not cal.in_quiet(at("2026-11-27", "23:00"))


def test_working_hours_must_be_a_day_window() -> None:
    with pytest.raises(ValueError, match="start before"):
        Calendar(TZ, work_start=time(18), work_end=time(9))


@pytest.mark.parametrize(("terms", "rule"), [
    ("款到发货", TermsRule("confirmed")), ("预付全款", TermsRule("confirmed")), ("先款后货", TermsRule("confirmed")),
    ("货到付款", TermsRule("shipped")), ("到付", TermsRule("shipped")),
    ("月结30天", TermsRule("month_end", 30)), ("月结 60 天", TermsRule("month_end", 60)),
    ("月结六十天", TermsRule("month_end", 60)), ("月结", TermsRule("month_end", 30)),
    ("30天", TermsRule("shipped", 30)), ("账期45天", TermsRule("shipped", 45)),
    ("货到30天付款", TermsRule("shipped", 30)), ("发货后九十天", TermsRule("shipped", 90)),
    ("见票付款", TermsRule("shipped", 30)), ("", TermsRule("shipped", 30)), (None, TermsRule("shipped", 30)),
])
def test_terms_rule(terms: str | None, rule: TermsRule) -> None:
    assert rule_for(terms) == rule


@pytest.mark.parametrize(("text", "value"), [("30", 30), ("三十", 30), ("十五", 15), ("四十五", 45),
                                             ("一百二十", 120), ("两百", 200), ("七", 7), ("abc", None)])
def test_cn_int(text: str, value: int | None) -> None:
    assert cn_int(text) == value


def test_payment_due_dates() -> None:
    confirmed = at("2026-11-02", "23:30")  # 15:30 UTC: the business date counts
    shipped = at("2026-11-10", "10:00")
    assert payment_due("款到发货", confirmed, None, TZ) == date(2026, 11, 2)
    assert payment_due("货到付款", confirmed, shipped, TZ) == date(2026, 11, 10)
    assert payment_due("货到付款", confirmed, None, TZ) is None  # not fully shipped yet
    assert payment_due("30天", confirmed, shipped, TZ) == date(2026, 12, 10)
    assert payment_due("月结30天", confirmed, shipped, TZ) == date(2026, 12, 30)
    assert payment_due("月结60天", confirmed, at("2026-12-05", "09:00"), TZ) == date(2027, 3, 1)
    assert payment_due("奇怪的条款", confirmed, shipped, TZ) == date(2026, 12, 10)
    assert payment_due("款到发货", None, None, TZ) is None
