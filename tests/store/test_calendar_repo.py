"""The working-day calendar in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from wattwallet.domain import calendar, clock, policy
from wattwallet.store import calendar_repo, schema
from wattwallet.store.db import Store


def count_rows(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(schema.calendar_days)).scalar_one())


def test_seed_year_is_idempotent(store: Store, now: dt.datetime) -> None:
    expected = calendar.default_non_working_days(2025)
    with store.write() as conn:
        assert calendar_repo.seed_year(conn, year=2025, now=now) == len(expected)
    with store.write() as conn:
        assert calendar_repo.seed_year(conn, year=2025, now=now) == 0
    assert count_rows(store) == len(expected)

    with store.read() as conn:
        rows = calendar_repo.list_year(conn, 2025)
    assert {r.day: r.reason for r in rows} == expected
    assert all(not r.working and r.source == "seed" and r.updated_by is None for r in rows)
    assert rows[0].updated_at == now.astimezone(dt.UTC) and rows[0].updated_at.tzinfo is not None
    assert [r.day for r in rows] == sorted(expected)


def test_staff_override_survives_reseed(store: Store, now: dt.datetime) -> None:
    second_saturday, cyclone = dt.date(2025, 6, 14), dt.date(2025, 6, 18)
    with store.write() as conn:
        calendar_repo.seed_year(conn, year=2025, now=now)
        calendar_repo.set_day(
            conn, day=second_saturday, working=True, reason="Working Saturday: backlog", by="A. Rao", now=now
        )
        calendar_repo.set_day(
            conn, day=cyclone, working=False, reason="Cyclone holiday", by="A. Rao", now=now
        )
    with store.write() as conn:
        assert calendar_repo.seed_year(conn, year=2025, now=now) == 0
        assert calendar_repo.ensure_years(conn, years=[2025], now=now) == {}
    with store.read() as conn:
        rows = {r.day: r for r in calendar_repo.list_year(conn, 2025)}
        days = calendar_repo.load(conn, start=dt.date(2025, 6, 1), end=dt.date(2025, 6, 30), now=now)
    assert rows[second_saturday].working and rows[second_saturday].source == "staff"
    assert rows[second_saturday].reason == "Working Saturday: backlog"
    assert rows[second_saturday].updated_by == "A. Rao"
    assert days.is_working(second_saturday)
    assert not days.is_working(cyclone)
    assert not days.is_working(dt.date(2025, 6, 15))  # Sunday


def test_staff_change_before_the_year_is_seeded_survives_seeding(store: Store, now: dt.datetime) -> None:
    sankranti = dt.date(2026, 1, 14)
    with store.write() as conn:
        calendar_repo.set_day(
            conn, day=sankranti, working=True, reason="Shifted to 16 Jan", by="B. Devi", now=now
        )
        calendar_repo.set_day(
            conn, day=dt.date(2026, 1, 16), working=False, reason="Sankranti (shifted)", by="B. Devi", now=now
        )
        # Staff rows are not seed rows: the year still counts as never seeded.
        added = calendar_repo.ensure_years(conn, years=[2026], now=now)
    assert added == {2026: len(calendar.default_non_working_days(2026)) - 1}
    with store.read() as conn:
        days = calendar_repo.load(conn, start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31), now=now)
    assert days.is_working(sankranti)
    assert not days.is_working(dt.date(2026, 1, 16))
    assert not days.is_working(dt.date(2026, 1, 13))  # Bhogi still seeded


def test_set_day_upserts(store: Store, now: dt.datetime) -> None:
    day = dt.date(2025, 7, 9)
    later = now + dt.timedelta(hours=2)
    with store.write() as conn:
        first = calendar_repo.set_day(conn, day=day, working=False, reason="Bandh", by="A. Rao", now=now)
    with store.write() as conn:
        second = calendar_repo.set_day(
            conn, day=day, working=True, reason="Bandh called off", by="C. Naidu", now=later
        )
    assert not first.working and second.working
    assert count_rows(store) == 1
    with store.read() as conn:
        (row,) = calendar_repo.list_year(conn, 2025)
    assert row == second
    assert (row.working, row.reason, row.source, row.updated_by) == (
        True,
        "Bandh called off",
        "staff",
        "C. Naidu",
    )
    assert row.updated_at == later.astimezone(dt.UTC)


def test_set_day_validates(store: Store, now: dt.datetime) -> None:
    with store.write() as conn:
        with pytest.raises(calendar.InvalidCalendarEntry):
            calendar_repo.set_day(conn, day=dt.date(2025, 7, 9), working=False, reason=" ", by="A", now=now)
        with pytest.raises(calendar.UnsupportedYear):
            calendar_repo.set_day(conn, day=dt.date(2099, 7, 9), working=False, reason="x", by="A", now=now)
    assert count_rows(store) == 0


def test_load_across_two_years_seeds_both(store: Store, now: dt.datetime) -> None:
    start, end = dt.date(2025, 12, 20), dt.date(2026, 1, 20)
    with store.write() as conn:
        days = calendar_repo.load(conn, start=start, end=end, now=now)
        assert calendar_repo.seeded_years(conn, [2024, 2025, 2026, 2027]) == {2025, 2026}
    assert count_rows(store) == len(calendar.default_non_working_days(2025)) + len(
        calendar.default_non_working_days(2026)
    )
    assert days == calendar.WorkingDays.defaults(start, end)
    assert not days.is_working(dt.date(2025, 12, 25))  # Christmas
    assert not days.is_working(dt.date(2026, 1, 10))  # second Saturday
    assert days.is_working(dt.date(2026, 1, 16))
    with pytest.raises(calendar.OutsideLoadedRange):
        days.is_working(dt.date(2026, 1, 21))
    # A second load writes nothing and agrees.
    with store.read() as conn:
        assert calendar_repo.load(conn, start=start, end=end, now=now) == days


def test_window_from_the_store(store: Store, now: dt.datetime) -> None:
    with store.write() as conn:
        calendar_repo.set_day(
            conn, day=dt.date(2025, 6, 3), working=False, reason="Bandh", by="A. Rao", now=now
        )
        days = calendar_repo.load(conn, start=now.date(), end=now.date() + dt.timedelta(days=14), now=now)
    # Monday 13:00 IST: Tuesday is a declared holiday, so Wednesday's window.
    monday_one_pm = dt.datetime(2025, 6, 2, 13, 0, tzinfo=clock.IST)
    assert calendar.next_window_start(monday_one_pm, days, policy.Policy()) == dt.datetime(
        2025, 6, 4, 10, 0, tzinfo=clock.IST
    )
