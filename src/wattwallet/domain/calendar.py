"""Working days and the disconnection window (DOMAIN.md §3).

Disconnections happen only between `disconnection_window_start` and `disconnection_window_end`
IST (start inclusive, end exclusive) on working days, and never sooner than
`disconnection_grace_hours` after the zero-balance alert. The DISCOM maintains the calendar; by
default Sundays, second Saturdays and Andhra Pradesh public and government holidays are not
working days. A day with no entry is a working day.

`WorkingDays` is what the rules query: load a date range from the store once (or build it from
the defaults) and ask it cheaply. It refuses to answer for days outside the range it was loaded
for, so that a forgotten load can never make a holiday look like a working day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping

import holidays

from wattwallet.domain import clock, errors, policy

# The `holidays` package computes India's lunar-calendar holidays only for these years and warns
# (returning a partial list) outside them; a partial list would let a disconnection fall on a
# holiday, so we refuse those years instead.
FIRST_SUPPORTED_YEAR = 2001
LAST_SUPPORTED_YEAR = 2035

SUNDAY = "Sunday"
SECOND_SATURDAY = "Second Saturday"
REASON_MAX_CHARS = 120  # calendar_days.reason

# How far ahead a search for the next working day may look before giving up (a calendar with
# a whole year of non-working days is a data error, not a reason to loop forever).
_MAX_SEARCH_DAYS = 366


class InvalidDay(errors.InvalidInput):
    code = "invalid_day"


class UnsupportedYear(errors.InvalidInput):
    code = "calendar_year_unsupported"


class InvalidCalendarEntry(errors.InvalidInput):
    code = "invalid_calendar_entry"


class OutsideLoadedRange(LookupError):
    """A programming error: the caller asked about a day its `WorkingDays` was not loaded for."""


class NoWorkingDay(LookupError):
    """No working day within a year of the given day: the calendar data is wrong."""


def parse_day(text: str, what: str = "day") -> dt.date:
    """An ISO date (YYYY-MM-DD), or `InvalidDay` with a message a person can act on."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidDay(f"{what} must be a date as YYYY-MM-DD, e.g. 2025-08-15; got {text!r}") from None
    check_year(day.year)
    return day


def check_year(year: int) -> int:
    if not FIRST_SUPPORTED_YEAR <= year <= LAST_SUPPORTED_YEAR:
        raise UnsupportedYear(
            f"the holiday calendar covers {FIRST_SUPPORTED_YEAR}-{LAST_SUPPORTED_YEAR}; got {year}",
            year=year,
        )
    return year


def check_entry(reason: str, by: str) -> tuple[str, str]:
    """A staff calendar change needs a reason (≤ 120 characters) and who made it (≤ 64)."""
    reason, by = reason.strip(), by.strip()
    if not reason:
        raise InvalidCalendarEntry("a calendar change needs a reason, e.g. 'Declared holiday: cyclone'")
    if len(reason) > REASON_MAX_CHARS:
        raise InvalidCalendarEntry(f"the reason is longer than {REASON_MAX_CHARS} characters")
    if not by:
        raise InvalidCalendarEntry("a calendar change must name who made it (--by)")
    if len(by) > 64:
        raise InvalidCalendarEntry("the name in --by is longer than 64 characters")
    return reason, by


def is_second_saturday(day: dt.date) -> bool:
    return day.weekday() == 5 and 8 <= day.day <= 14


def default_non_working_days(year: int) -> dict[dt.date, str]:
    """The default calendar of `year`: AP public and government holidays (by name), every Sunday
    and every second Saturday. A holiday on a Sunday or second Saturday keeps its own name."""
    check_year(year)
    days: dict[dt.date, str] = {}
    day = dt.date(year, 1, 1)
    while day.year == year:
        if day.weekday() == 6:
            days[day] = SUNDAY
        elif is_second_saturday(day):
            days[day] = SECOND_SATURDAY
        day += dt.timedelta(days=1)
    ap = holidays.country_holidays(
        "IN",
        subdiv="AP",
        years=year,
        categories=(holidays.PUBLIC, holidays.GOVERNMENT),
        language="en_IN",
    )
    for holiday, name in ap.items():
        days[holiday] = str(name)[:REASON_MAX_CHARS]
    return dict(sorted(days.items()))


@dataclasses.dataclass(frozen=True)
class WorkingDays:
    """Which days in [first, last] (inclusive) are working days.

    Built from calendar rows (`from_entries`) or from the defaults (`defaults`); `is_working`
    is a set lookup. Asking about a day outside [first, last] raises `OutsideLoadedRange`.
    """

    first: dt.date
    last: dt.date
    non_working: frozenset[dt.date]

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise ValueError(f"empty range: {self.first} > {self.last}")

    @classmethod
    def from_entries(
        cls, first: dt.date, last: dt.date, entries: Iterable[tuple[dt.date, bool]]
    ) -> WorkingDays:
        """From (day, working) pairs, e.g. calendar_days rows; days without an entry are working."""
        return cls(
            first,
            last,
            frozenset(day for day, working in entries if not working and first <= day <= last),
        )

    @classmethod
    def defaults(cls, first: dt.date, last: dt.date) -> WorkingDays:
        """The default calendar (no staff changes) for [first, last]."""
        non_working: set[dt.date] = set()
        for year in range(first.year, last.year + 1):
            non_working.update(d for d in default_non_working_days(year) if first <= d <= last)
        return cls(first, last, frozenset(non_working))

    def covers(self, day: dt.date) -> bool:
        return self.first <= day <= self.last

    def is_working(self, day: dt.date) -> bool:
        if not self.covers(day):
            raise OutsideLoadedRange(f"{day} is outside the loaded calendar {self.first}..{self.last}")
        return day not in self.non_working

    def next_working_day(self, day: dt.date) -> dt.date:
        """`day` itself if it is a working day, else the next one."""
        for offset in range(_MAX_SEARCH_DAYS):
            candidate = day + dt.timedelta(days=offset)
            if self.is_working(candidate):
                return candidate
        raise NoWorkingDay(f"no working day within {_MAX_SEARCH_DAYS} days of {day}")


# Anything the rules accept as a calendar: a `WorkingDays`, or a mapping from day to either its
# working flag (True: working, False: not) or the reason it is not a working day (e.g. the
# result of `default_non_working_days`). Days missing from a mapping are working days.
Calendar = WorkingDays | Mapping[dt.date, bool | str]


def is_working_day(day: dt.date, calendar: Calendar) -> bool:
    if isinstance(calendar, WorkingDays):
        return calendar.is_working(day)
    entry = calendar.get(day)
    if entry is None:
        return True
    if isinstance(entry, bool):
        return entry
    return False


def _next_working_day(day: dt.date, calendar: Calendar) -> dt.date:
    if isinstance(calendar, WorkingDays):
        return calendar.next_working_day(day)
    for offset in range(_MAX_SEARCH_DAYS):
        candidate = day + dt.timedelta(days=offset)
        if is_working_day(candidate, calendar):
            return candidate
    raise NoWorkingDay(f"no working day within {_MAX_SEARCH_DAYS} days of {day}")


def _window(rules: policy.Policy) -> tuple[dt.time, dt.time]:
    start, end = rules.disconnection_window_start, rules.disconnection_window_end
    if not start < end:
        raise ValueError(f"the disconnection window must start before it ends: {start}..{end}")
    return start, end


def window_on(day: dt.date, rules: policy.Policy) -> tuple[dt.datetime, dt.datetime]:
    """The [start, end) disconnection window of `day`, as IST instants (whether or not it is a
    working day)."""
    start, end = _window(rules)
    return (
        dt.datetime.combine(day, start, tzinfo=clock.IST),
        dt.datetime.combine(day, end, tzinfo=clock.IST),
    )


def in_disconnection_window(instant: dt.datetime, calendar: Calendar, rules: policy.Policy) -> bool:
    """Whether a disconnection may happen at `instant`: a working day (IST), start ≤ time < end."""
    local = clock.require_aware(instant, "instant").astimezone(clock.IST)
    start, end = _window(rules)
    return start <= local.time() < end and is_working_day(local.date(), calendar)


def next_window_start(instant: dt.datetime, calendar: Calendar, rules: policy.Policy) -> dt.datetime:
    """`instant` itself if it is inside a disconnection window, else the start (IST) of the next
    window: today's if it is a working day before the window opens, otherwise that of the next
    working day."""
    local = clock.require_aware(instant, "instant").astimezone(clock.IST)
    start, end = _window(rules)
    today = local.date()
    if is_working_day(today, calendar):
        if start <= local.time() < end:
            return instant
        if local.time() < start:
            return window_on(today, rules)[0]
    day = _next_working_day(today + dt.timedelta(days=1), calendar)
    return window_on(day, rules)[0]


def next_send_time(instant: dt.datetime, calendar: Calendar, rules: policy.Policy) -> dt.datetime:
    """`instant` itself if a disconnect may be sent then, else the next instant one may: inside a
    window and not within the cut-off before its end (so a slow head end cannot cut past 13:00)."""
    candidate = next_window_start(instant, calendar, rules)
    window_end = window_on(candidate.astimezone(clock.IST).date(), rules)[1]
    if candidate < window_end - dt.timedelta(minutes=rules.disconnection_cutoff_minutes):
        return candidate
    return next_window_start(window_end, calendar, rules)


def earliest_disconnection(
    zero_alert_at: dt.datetime, due_at: dt.datetime, calendar: Calendar, rules: policy.Policy
) -> dt.datetime:
    """The first instant a disconnect may be sent (see next_send_time) that is no sooner than
    `due_at` and no sooner than the grace period after the zero-balance alert."""
    clock.require_aware(zero_alert_at, "zero_alert_at")
    clock.require_aware(due_at, "due_at")
    not_before = max(due_at, zero_alert_at + dt.timedelta(hours=rules.disconnection_grace_hours))
    return next_send_time(not_before, calendar, rules)
