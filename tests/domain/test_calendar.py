"""Working days and the disconnection window (DOMAIN.md §3), as pure rules."""

from __future__ import annotations

import datetime as dt

import pytest

from wattwallet import holiday_lists
from wattwallet.domain import clock, disconnection, errors, policy, working_days

IST = clock.IST
UTC = dt.UTC
RULES = policy.Policy()


def ist(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, ss, tzinfo=IST)


@pytest.fixture(scope="module")
def days() -> working_days.WorkingDays:
    return holiday_lists.default_working_days(dt.date(2025, 1, 1), dt.date(2026, 12, 31))


# --- the default calendar ------------------------------------------------------------------
# (the official lists themselves, day by day: tests/domain/test_holiday_lists.py)


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_every_sunday_and_second_saturday_is_off_and_other_saturdays_work(year: int) -> None:
    defaults = holiday_lists.year_defaults(year).reasons()
    holidays = _listed_holidays(defaults)
    day = dt.date(year, 1, 1)
    while day.year == year:
        if day.weekday() == 6:
            assert day in defaults, day
        if day.weekday() == 5:
            assert (day in defaults) == (8 <= day.day <= 14 or day in holidays), day
        day += dt.timedelta(days=1)
    assert all(len(name) <= working_days.REASON_MAX_CHARS for name in defaults.values())
    assert list(defaults) == sorted(defaults)


def _listed_holidays(defaults: dict[dt.date, str]) -> set[dt.date]:
    return {
        d for d, name in defaults.items() if name not in (working_days.SUNDAY, working_days.SECOND_SATURDAY)
    }


def test_known_2025_days() -> None:
    defaults = holiday_lists.year_defaults(2025).reasons()
    assert defaults[dt.date(2025, 1, 14)] == "Makara Sankranti"
    assert defaults[dt.date(2025, 1, 11)] == working_days.SECOND_SATURDAY
    assert defaults[dt.date(2025, 6, 14)] == working_days.SECOND_SATURDAY
    assert defaults[dt.date(2025, 6, 7)] == "Eid-ul-Zuha (Bakrid)"  # first Saturday, a holiday
    assert defaults[dt.date(2025, 10, 2)] == "Mahatma Gandhi Jayanti; Vijaya Dasami"  # joined names
    assert dt.date(2025, 6, 21) not in defaults  # a fourth Saturday is a working day
    assert defaults[dt.date(2025, 6, 1)] == working_days.SUNDAY
    # A holiday on a Sunday keeps its own name.
    assert defaults[dt.date(2025, 1, 26)] == "Republic Day"
    assert defaults[dt.date(2025, 3, 30)] == "Ugadi"


def test_known_2026_days() -> None:
    defaults = holiday_lists.year_defaults(2026).reasons()
    assert defaults[dt.date(2026, 1, 15)] == "Makara Sankranti"
    assert defaults[dt.date(2026, 1, 16)] == "Kanuma"
    assert dt.date(2026, 1, 13) not in defaults
    assert defaults[dt.date(2026, 3, 14)] == working_days.SECOND_SATURDAY
    assert defaults[dt.date(2026, 11, 8)] == "Deepavali"  # a Sunday


def test_a_year_without_an_official_list_is_computed_and_unconfirmed() -> None:
    year = holiday_lists.year_defaults(2027)
    assert holiday_lists.official(2027) is None
    assert (year.basis, year.confirmed) == (working_days.COMPUTED, False)
    holidays = {
        d: e
        for d, e in year.days.items()
        if e.reason not in (working_days.SUNDAY, working_days.SECOND_SATURDAY)
    }
    assert holidays and all(not e.confirmed for e in holidays.values())
    assert all(e.reference == working_days.COMPUTED_REFERENCE for e in holidays.values())
    assert year.days[dt.date(2027, 8, 15)].reason.startswith("Independence Day")
    span = holiday_lists.default_working_days(dt.date(2026, 12, 1), dt.date(2027, 1, 31))
    assert span.unconfirmed_years == frozenset({2027})
    assert span.confirmed(dt.date(2026, 12, 31)) and not span.confirmed(dt.date(2027, 1, 1))


def test_computed_names_are_the_indian_english_ones_whatever_the_locale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Left to itself, `holidays` picks the names' language from LANG/LC_*; we always ask en_IN.
    monkeypatch.setenv("LANGUAGE", "te")
    assert working_days.computed_holidays(2025)[dt.date(2025, 9, 5)] == "Milad-un-Nabi"


def test_years_outside_the_holiday_data_are_refused() -> None:
    with pytest.raises(working_days.UnsupportedYear) as caught:
        working_days.year_defaults(working_days.LAST_SUPPORTED_YEAR + 1, official=None)
    assert isinstance(caught.value, errors.InvalidInput)
    assert caught.value.code == "calendar_year_unsupported"


def test_parse_day() -> None:
    assert working_days.parse_day(" 2025-08-15 ") == dt.date(2025, 8, 15)
    for bad in ("2025-02-30", "15/08/2025", "", "tomorrow"):
        with pytest.raises(working_days.InvalidDay, match="YYYY-MM-DD"):
            working_days.parse_day(bad)
    with pytest.raises(working_days.UnsupportedYear):
        working_days.parse_day("1999-01-01")


def test_check_entry() -> None:
    assert working_days.check_entry("  cyclone ", " A. Rao ") == ("cyclone", "A. Rao")
    with pytest.raises(working_days.InvalidCalendarEntry):
        working_days.check_entry(" ", "A. Rao")
    with pytest.raises(working_days.InvalidCalendarEntry):
        working_days.check_entry("cyclone", "")
    with pytest.raises(working_days.InvalidCalendarEntry):
        working_days.check_entry("x" * 121, "A. Rao")


# --- WorkingDays -----------------------------------------------------------------------------


def test_working_days_from_entries_honours_staff_overrides() -> None:
    first, last = dt.date(2025, 6, 1), dt.date(2025, 6, 30)
    days = working_days.WorkingDays.from_entries(
        first,
        last,
        [
            (dt.date(2025, 6, 1), False),  # Sunday
            (dt.date(2025, 6, 14), True),  # second Saturday made a working day by staff
            (dt.date(2025, 6, 18), False),  # declared holiday
            (dt.date(2025, 7, 1), False),  # outside the range: ignored
        ],
    )
    assert not days.is_working(dt.date(2025, 6, 1))
    assert days.is_working(dt.date(2025, 6, 14))
    assert not days.is_working(dt.date(2025, 6, 18))
    assert days.is_working(dt.date(2025, 6, 2))  # no entry: a working day
    assert days.next_working_day(dt.date(2025, 6, 18)) == dt.date(2025, 6, 19)
    with pytest.raises(working_days.OutsideLoadedRange):
        days.is_working(dt.date(2025, 7, 1))
    with pytest.raises(ValueError):
        working_days.WorkingDays(last, first, frozenset())


def test_is_working_day_accepts_mappings() -> None:
    sunday, monday = dt.date(2025, 6, 1), dt.date(2025, 6, 2)
    assert not working_days.is_working_day(sunday, holiday_lists.year_defaults(2025).reasons())
    assert working_days.is_working_day(monday, holiday_lists.year_defaults(2025).reasons())
    assert working_days.is_working_day(sunday, {sunday: True})
    assert not working_days.is_working_day(monday, {monday: False})
    assert not working_days.is_working_day(monday, {monday: "Declared holiday"})


# --- the window --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hh", "mm", "ss", "inside"),
    [(9, 59, 59, False), (10, 0, 0, True), (11, 30, 0, True), (12, 59, 59, True), (13, 0, 0, False)],
)
def test_window_edges_on_a_working_day(
    days: working_days.WorkingDays, hh: int, mm: int, ss: int, inside: bool
) -> None:
    assert disconnection.in_disconnection_window(ist(2025, 6, 2, hh, mm, ss), days, RULES) is inside


def test_never_on_sundays_second_saturdays_or_holidays(days: working_days.WorkingDays) -> None:
    assert not disconnection.in_disconnection_window(ist(2025, 6, 1, 11), days, RULES)  # Sunday
    assert not disconnection.in_disconnection_window(ist(2025, 6, 14, 11), days, RULES)  # 2nd Saturday
    assert disconnection.in_disconnection_window(ist(2025, 6, 21, 11), days, RULES)  # 4th Saturday
    assert not disconnection.in_disconnection_window(ist(2025, 8, 15, 11), days, RULES)  # Independence Day


def test_instants_in_utc_are_judged_in_ist(days: working_days.WorkingDays) -> None:
    assert disconnection.in_disconnection_window(dt.datetime(2025, 6, 2, 4, 30, tzinfo=UTC), days, RULES)
    assert not disconnection.in_disconnection_window(
        dt.datetime(2025, 6, 2, 4, 29, 59, tzinfo=UTC), days, RULES
    )
    assert disconnection.in_disconnection_window(dt.datetime(2025, 6, 2, 7, 29, 59, tzinfo=UTC), days, RULES)
    assert not disconnection.in_disconnection_window(dt.datetime(2025, 6, 2, 7, 30, tzinfo=UTC), days, RULES)
    # Saturday 23:00 UTC is already Sunday 04:30 IST: the next window is Monday's.
    saturday_night = dt.datetime(2025, 6, 7, 23, 0, tzinfo=UTC)
    assert disconnection.next_window_start(saturday_night, days, RULES) == ist(2025, 6, 9, 10)
    # Sunday 20:00 UTC is Monday 01:30 IST: the window of that same Monday.
    assert disconnection.next_window_start(dt.datetime(2025, 6, 1, 20, 0, tzinfo=UTC), days, RULES) == ist(
        2025, 6, 2, 10
    )


def test_naive_instants_are_refused(days: working_days.WorkingDays) -> None:
    with pytest.raises(ValueError, match="time zone"):
        disconnection.in_disconnection_window(dt.datetime(2025, 6, 2, 11), days, RULES)  # noqa: DTZ001


def test_next_window_start(days: working_days.WorkingDays) -> None:
    inside = ist(2025, 6, 2, 11, 15)
    assert disconnection.next_window_start(inside, days, RULES) is inside
    assert disconnection.next_window_start(ist(2025, 6, 2, 6), days, RULES) == ist(2025, 6, 2, 10)
    assert disconnection.next_window_start(ist(2025, 6, 2, 13), days, RULES) == ist(2025, 6, 3, 10)
    # Friday afternoon; Saturday is the second Saturday, then Sunday: Monday 10:00.
    assert disconnection.next_window_start(ist(2025, 6, 13, 14), days, RULES) == ist(2025, 6, 16, 10)
    # Before a fourth Saturday: that Saturday is a working day.
    assert disconnection.next_window_start(ist(2025, 6, 20, 13), days, RULES) == ist(2025, 6, 21, 10)
    # Independence Day (Fri), Janmashtami (Sat), Sunday: Monday 18 August.
    assert disconnection.next_window_start(ist(2025, 8, 14, 15), days, RULES) == ist(2025, 8, 18, 10)
    # Bhogi, Sankranti, Kanuma 2026 are Wed-Fri 14-16 January (G.O.; the `holidays` package has
    # Tue-Thu): Tuesday 13 is a working day, then the next is Saturday 17 (a third Saturday).
    assert disconnection.next_window_start(ist(2026, 1, 12, 13, 30), days, RULES) == ist(2026, 1, 13, 10)
    assert disconnection.next_window_start(ist(2026, 1, 13, 13, 30), days, RULES) == ist(2026, 1, 17, 10)


def test_next_window_start_follows_the_policy_window(days: working_days.WorkingDays) -> None:
    rules = policy.Policy(disconnection_window_start=dt.time(11, 0), disconnection_window_end=dt.time(12, 0))
    assert disconnection.next_window_start(ist(2025, 6, 2, 10, 30), days, rules) == ist(2025, 6, 2, 11)
    assert not disconnection.in_disconnection_window(ist(2025, 6, 2, 12), days, rules)
    with pytest.raises(ValueError, match="start before it ends"):
        disconnection.in_disconnection_window(
            ist(2025, 6, 2, 12),
            days,
            policy.Policy(disconnection_window_start=dt.time(13, 0), disconnection_window_end=dt.time(10, 0)),
        )


def test_next_window_start_beyond_the_loaded_range_is_an_error() -> None:
    june = holiday_lists.default_working_days(dt.date(2025, 6, 1), dt.date(2025, 6, 13))
    with pytest.raises(working_days.OutsideLoadedRange):
        disconnection.next_window_start(ist(2025, 6, 13, 14), june, RULES)


# --- the earliest disconnection ------------------------------------------------------------------


def test_grace_inside_the_next_days_window(days: working_days.WorkingDays) -> None:
    zero = ist(2025, 6, 2, 11, 0)
    assert disconnection.earliest_disconnection(zero, zero, days, RULES) == ist(2025, 6, 3, 11, 0)


def test_grace_pushes_past_the_window_to_the_next_working_day(days: working_days.WorkingDays) -> None:
    # Zero alert Thursday 12:00, due at once: Friday 12:00 is still a time a disconnect may go.
    zero = ist(2025, 6, 12, 12, 0)
    assert disconnection.earliest_disconnection(zero, zero, days, RULES) == ist(2025, 6, 13, 12, 0)
    # Thursday 12:45: 24 h later is inside Friday's window but within the 30-minute cut-off before
    # 13:00 (a slow head end must not cut late); Saturday is the second Saturday, then Sunday.
    zero = ist(2025, 6, 12, 12, 45)
    assert disconnection.earliest_disconnection(zero, zero, days, RULES) == ist(2025, 6, 16, 10)
    # At 13:00 Thursday, Friday's window has closed by the time grace ends: Monday 10:00 too.
    zero = ist(2025, 6, 12, 13, 0)
    assert disconnection.earliest_disconnection(zero, zero, days, RULES) == ist(2025, 6, 16, 10)


def test_no_disconnect_is_sent_within_the_cut_off_before_the_window_closes(
    days: working_days.WorkingDays,
) -> None:
    assert disconnection.next_send_time(ist(2025, 6, 13, 12, 29, 59), days, RULES) == ist(
        2025, 6, 13, 12, 29, 59
    )
    assert disconnection.next_send_time(ist(2025, 6, 13, 12, 30), days, RULES) == ist(2025, 6, 16, 10)
    no_cutoff = RULES.model_copy(update={"disconnection_cutoff_minutes": 0})
    assert disconnection.next_send_time(ist(2025, 6, 13, 12, 59), days, no_cutoff) == ist(2025, 6, 13, 12, 59)


def test_grace_never_shortened_by_being_due_in_a_window(days: working_days.WorkingDays) -> None:
    # Alert Monday 10:30; due in Monday's window, but the grace runs to Tuesday 10:30.
    assert disconnection.earliest_disconnection(
        ist(2025, 6, 2, 10, 30), ist(2025, 6, 2, 10, 45), days, RULES
    ) == ist(2025, 6, 3, 10, 30)


def test_due_later_than_grace(days: working_days.WorkingDays) -> None:
    zero = ist(2025, 6, 2, 8, 0)
    assert disconnection.earliest_disconnection(zero, ist(2025, 6, 4, 11, 15), days, RULES) == ist(
        2025, 6, 4, 11, 15
    )
    assert disconnection.earliest_disconnection(zero, ist(2025, 6, 4, 14, 0), days, RULES) == ist(
        2025, 6, 5, 10
    )


def test_grace_is_a_setting_and_utc_works(days: working_days.WorkingDays) -> None:
    rules = policy.Policy(disconnection_grace_hours=0)
    zero = dt.datetime(2025, 6, 2, 5, 0, tzinfo=UTC)  # 10:30 IST Monday
    assert disconnection.earliest_disconnection(zero, zero, days, rules) == zero
    rules = policy.Policy(disconnection_grace_hours=48)
    assert disconnection.earliest_disconnection(zero, zero, days, rules) == ist(2025, 6, 4, 10, 30)
