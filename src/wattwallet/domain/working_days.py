"""Working days (DOMAIN.md §3): the days a disconnection may happen on (`domain.disconnection`).

The DISCOM maintains the calendar. Not working: Sundays, second Saturdays and the general holidays
of the year's official list (the AP
Government's G.O. or the DISCOM's own circular, `holiday_list.HolidayList`). For a year with no
official list the `holidays` package computes AP public and government holidays as a fallback,
and that year is unconfirmed (`YearDefaults.confirmed` is False). A day with no entry is a
working day.

`WorkingDays` is what the rules query: load a date range from the store once (or build it from
the defaults) and ask it cheaply. It refuses to answer for days outside the range it was loaded
for, so that a forgotten load can never make a holiday look like a working day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
from collections.abc import Iterable, Mapping

import holidays

from wattwallet.domain import errors, holiday_list

# The `holidays` package computes India's lunar-calendar holidays only for these years and warns
# (returning a partial list) outside them; a partial list would let a disconnection fall on a
# holiday, so we refuse those years instead.
FIRST_SUPPORTED_YEAR = 2001
LAST_SUPPORTED_YEAR = 2035

SUNDAY = "Sunday"
SECOND_SATURDAY = "Second Saturday"
REASON_MAX_CHARS = 120  # calendar_days.reason

# What a year's default days come from: the AP Government's G.O. (shipped as data), a DISCOM's
# circular (imported), or, failing both, the `holidays` package (computed, not confirmed).
OFFICIAL = "official"
CIRCULAR = "circular"
COMPUTED = "computed"
_BASIS = {holiday_list.GOVERNMENT_ORDER: OFFICIAL, holiday_list.DISCOM_CIRCULAR: CIRCULAR}
COMPUTED_REFERENCE = "computed by the holidays package (no official list for the year)"
WEEKLY_REFERENCE = "Sundays and second Saturdays are not working days"

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
    reason = reason.strip()
    if not reason:
        raise InvalidCalendarEntry("a calendar change needs a reason, e.g. 'Declared holiday: cyclone'")
    if len(reason) > REASON_MAX_CHARS:
        raise InvalidCalendarEntry(f"the reason is longer than {REASON_MAX_CHARS} characters")
    return reason, check_by(by)


def check_by(by: str) -> str:
    """Who makes a calendar change (a set, a move, an import): required, ≤ 64 characters."""
    by = by.strip()
    if not by:
        raise InvalidCalendarEntry("a calendar change must name who made it (--by)")
    if len(by) > 64:
        raise InvalidCalendarEntry("the name in --by is longer than 64 characters")
    return by


def is_second_saturday(day: dt.date) -> bool:
    return day.weekday() == 5 and 8 <= day.day <= 14


def weekly_off_days(year: int) -> dict[dt.date, str]:
    """Every Sunday and every second Saturday of `year`."""
    days: dict[dt.date, str] = {}
    day = dt.date(year, 1, 1)
    while day.year == year:
        if day.weekday() == 6:
            days[day] = SUNDAY
        elif is_second_saturday(day):
            days[day] = SECOND_SATURDAY
        day += dt.timedelta(days=1)
    return days


def computed_holidays(year: int) -> dict[dt.date, str]:
    """AP public and government holidays as the `holidays` package computes them (by name): the
    fallback for a year with no official list, never confirmed."""
    check_year(year)
    ap = holidays.country_holidays(
        "IN",
        subdiv="AP",
        years=year,
        categories=(holidays.PUBLIC, holidays.GOVERNMENT),
        language="en_IN",
    )
    return {day: str(name)[:REASON_MAX_CHARS] for day, name in sorted(ap.items())}


@dataclasses.dataclass(frozen=True)
class DefaultDay:
    """One default non-working day: why, on whose authority, and whether that is confirmed."""

    reason: str
    reference: str
    confirmed: bool
    reason_te: str = ""


@dataclasses.dataclass(frozen=True)
class YearDefaults:
    """A year's default non-working days and what they rest on (`basis`: OFFICIAL, CIRCULAR or
    COMPUTED; `confirmed` is False only for COMPUTED)."""

    year: int
    basis: str
    reference: str
    days: Mapping[dt.date, DefaultDay]

    @property
    def confirmed(self) -> bool:
        return self.basis != COMPUTED

    def reasons(self) -> dict[dt.date, str]:
        return {day: entry.reason for day, entry in self.days.items()}

    @functools.cached_property
    def digest(self) -> str:
        """A fingerprint of the days and their sources: a store seeded from other defaults (an
        older list, or the computed fallback) re-seeds when it changes."""
        text = "\n".join(
            f"{day.isoformat()}|{e.reason}|{e.reason_te}|{e.reference}|{e.confirmed}"
            for day, e in sorted(self.days.items())
        )
        return hashlib.sha256(f"{self.basis}|{self.reference}\n{text}".encode()).hexdigest()


def year_defaults(year: int, *, official: holiday_list.HolidayList | None) -> YearDefaults:
    """The default calendar of `year`: every Sunday and second Saturday, and the general holidays
    of `official` (the G.O. or a DISCOM circular), or, with no list, the computed ones.

    A holiday on a Sunday or second Saturday keeps its own name; festivals sharing a day are
    joined ("Mahatma Gandhi Jayanti; Vijaya Dasami")."""
    check_year(year)
    if official is not None and official.year != year:
        raise ValueError(f"the holiday list is for {official.year}, not {year}")
    weekly = official.authority if official is not None else WEEKLY_REFERENCE
    days: dict[dt.date, DefaultDay] = {
        day: DefaultDay(reason=name, reference=weekly, confirmed=True)
        for day, name in weekly_off_days(year).items()
    }
    if official is None:
        for day, name in computed_holidays(year).items():
            days[day] = DefaultDay(reason=name, reference=COMPUTED_REFERENCE, confirmed=False)
        return YearDefaults(
            year=year, basis=COMPUTED, reference=COMPUTED_REFERENCE, days=dict(sorted(days.items()))
        )
    for day, listed in official.by_day().items():
        days[day] = DefaultDay(
            reason="; ".join(h.name_en for h in listed)[:REASON_MAX_CHARS],
            reason_te="; ".join(h.name_te for h in listed if h.name_te)[:REASON_MAX_CHARS],
            reference="; ".join(dict.fromkeys(h.source for h in listed))[: holiday_list.SOURCE_MAX_CHARS],
            confirmed=all(h.confirmed for h in listed),
        )
    return YearDefaults(
        year=year, basis=_BASIS[official.kind], reference=official.authority, days=dict(sorted(days.items()))
    )


@dataclasses.dataclass(frozen=True)
class WorkingDays:
    """Which days in [first, last] (inclusive) are working days.

    Built from calendar rows (`from_entries`) or from the defaults (`defaults`); `is_working`
    is a set lookup. Asking about a day outside [first, last] raises `OutsideLoadedRange`.
    """

    first: dt.date
    last: dt.date
    non_working: frozenset[dt.date]
    # Years of the range whose holidays are computed, not confirmed by an official list.
    unconfirmed_years: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise ValueError(f"empty range: {self.first} > {self.last}")

    @classmethod
    def from_entries(
        cls,
        first: dt.date,
        last: dt.date,
        entries: Iterable[tuple[dt.date, bool]],
        *,
        unconfirmed_years: Iterable[int] = (),
    ) -> WorkingDays:
        """From (day, working) pairs, e.g. calendar_days rows; days without an entry are working."""
        return cls(
            first,
            last,
            frozenset(day for day, working in entries if not working and first <= day <= last),
            frozenset(y for y in unconfirmed_years if first.year <= y <= last.year),
        )

    @classmethod
    def from_defaults(cls, first: dt.date, last: dt.date, years: Iterable[YearDefaults]) -> WorkingDays:
        """The default calendar (no staff changes) for [first, last], from each year's defaults."""
        by_year = {y.year: y for y in years}
        missing = [y for y in range(first.year, last.year + 1) if y not in by_year]
        if missing:
            raise ValueError(f"no defaults given for {missing}")
        return cls.from_entries(
            first,
            last,
            ((day, False) for y in by_year.values() for day in y.days),
            unconfirmed_years=(y.year for y in by_year.values() if not y.confirmed),
        )

    def confirmed(self, day: dt.date) -> bool:
        """Whether the holidays of `day`'s year come from an official list (not computed)."""
        return day.year not in self.unconfirmed_years

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
# result of `YearDefaults.reasons`). Days missing from a mapping are working days.
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


def next_working_day(day: dt.date, calendar: Calendar) -> dt.date:
    if isinstance(calendar, WorkingDays):
        return calendar.next_working_day(day)
    for offset in range(_MAX_SEARCH_DAYS):
        candidate = day + dt.timedelta(days=offset)
        if is_working_day(candidate, calendar):
            return candidate
    raise NoWorkingDay(f"no working day within {_MAX_SEARCH_DAYS} days of {day}")
