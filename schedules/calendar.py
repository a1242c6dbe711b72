"""Working time, holidays and quiet hours in the business time zone (pure; no clock, no I/O).

A working day is a configured weekday that is not a holiday; its working time is
``[work_start, work_end)`` local time. Working-hour arithmetic walks those intervals,
so "4 working hours after Friday 17:00" is Monday 12:00 with the default settings.
Quiet hours may wrap midnight (``21:00-08:00``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

#: bound on searches for the next working day (a year of holidays is a configuration error)
_MAX_DAYS = 3660
ZERO = timedelta(0)


class CalendarSettings(Protocol):
    """What the calendar reads of :class:`bot.config.Settings`."""

    @property
    def tz(self) -> ZoneInfo: ...

    @property
    def working_window(self) -> tuple[time, time]: ...

    @property
    def quiet_window(self) -> tuple[time, time] | None: ...

    @property
    def working_weekdays(self) -> frozenset[int]: ...

    @property
    def holiday_dates(self) -> frozenset[date]: ...


@dataclass(frozen=True)
class Calendar:
    """The business calendar: time zone, working days and hours, holidays, quiet hours."""

    tz: ZoneInfo
    work_start: time = time(9, 0)
    work_end: time = time(18, 0)
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    holidays: frozenset[date] = frozenset()
    quiet: tuple[time, time] | None = (time(21, 0), time(8, 0))

    def __post_init__(self) -> None:
        if self.work_start >= self.work_end:
            raise ValueError("working hours must start before they end on the same day")

    @classmethod
    def from_settings(cls, settings: CalendarSettings) -> Calendar:
        """The calendar configured by ``GENDAN_TIMEZONE``, ``_WORKING_*``, ``_HOLIDAYS``, ``_QUIET_HOURS``."""
        start, end = settings.working_window
        return cls(settings.tz, start, end, settings.working_weekdays, settings.holiday_dates,
                   settings.quiet_window)

    # ---- days -------------------------------------------------------------------------
    def local(self, t: datetime) -> datetime:
        """``t`` in the business zone."""
        return t.astimezone(self.tz)

    def today(self, now: datetime) -> date:
        """The business date of ``now``."""
        return self.local(now).date()

    def at(self, day: date, clock: time) -> datetime:
        """``day`` at a local time of day, aware."""
        return datetime.combine(day, clock, self.tz)

    def is_working_day(self, day: date) -> bool:
        """A configured weekday that is not a holiday."""
        return day.isoweekday() in self.weekdays and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        for n in range(1, _MAX_DAYS):
            candidate = day + timedelta(days=n)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError("no working day within ten years: check GENDAN_WORKING_DAYS and GENDAN_HOLIDAYS")

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before ``day``."""
        for n in range(1, _MAX_DAYS):
            candidate = day - timedelta(days=n)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError("no working day within ten years: check GENDAN_WORKING_DAYS and GENDAN_HOLIDAYS")

    @property
    def day_length(self) -> timedelta:
        """Working time in one working day (9 h by default)."""
        return datetime.combine(date.min, self.work_end) - datetime.combine(date.min, self.work_start)

    # ---- working time -----------------------------------------------------------------
    def is_working_time(self, t: datetime) -> bool:
        """Inside working hours of a working day."""
        lt = self.local(t)
        return self.is_working_day(lt.date()) and self.work_start <= lt.time() < self.work_end

    def next_working_moment(self, t: datetime) -> datetime:
        """``t`` itself when it is working time, else the start of the next working period."""
        lt = self.local(t)
        day = lt.date()
        if self.is_working_day(day):
            if lt.time() < self.work_start:
                return self.at(day, self.work_start)
            if lt.time() < self.work_end:
                return t
        return self.at(self.next_working_day(day), self.work_start)

    def first_working_moment(self, day: date) -> datetime:
        """The start of working time on ``day``, or on the next working day after it."""
        return self.next_working_moment(self.at(day, time(0)))

    def add_working_hours(self, t: datetime, amount: timedelta) -> datetime:
        """The moment ``amount`` of working time after ``t``."""
        cur = self.next_working_moment(t)
        remaining = amount
        while True:
            end = self.at(self.local(cur).date(), self.work_end)
            available = end - cur
            if remaining <= available:
                return cur + remaining
            remaining -= available
            cur = self.at(self.next_working_day(self.local(cur).date()), self.work_start)

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time elapsed from ``a`` to ``b`` (zero when ``b`` ≤ ``a``)."""
        total = ZERO
        cur = self.next_working_moment(a)
        while cur < b:
            end = self.at(self.local(cur).date(), self.work_end)
            total += min(end, b) - cur
            cur = self.at(self.next_working_day(self.local(cur).date()), self.work_start)
        return total

    # ---- quiet hours ------------------------------------------------------------------
    def in_quiet(self, t: datetime) -> bool:
        """Inside quiet hours (nothing automatic is sent)."""
        if self.quiet is None:
            return False
        start, end = self.quiet
        lt = self.local(t).time()
        if start <= end:
            return start <= lt < end
        return lt >= start or lt < end

    def quiet_end(self, t: datetime) -> datetime:
        """When the quiet period containing ``t`` ends (``t`` itself when not quiet)."""
        if self.quiet is None or not self.in_quiet(t):
            return t
        end = self.quiet[1]
        lt = self.local(t)
        day = lt.date() if lt.time() < end else lt.date() + timedelta(days=1)
        return self.at(day, end)
