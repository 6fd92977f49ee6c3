"""The working-day calendar in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from wattwallet import holiday_lists
from wattwallet.context import Context
from wattwallet.domain import clock, disconnection, holiday_list, policy, working_days
from wattwallet.lifecycle import disconnections
from wattwallet.store import calendar_repo, db, migrate, schema
from wattwallet.store.db import Store


def defaults(year: int) -> dict[dt.date, str]:
    return holiday_lists.year_defaults(year).reasons()


def count_rows(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(schema.calendar_days)).scalar_one())


def test_seed_year_is_idempotent(store: Store, now: dt.datetime) -> None:
    expected = defaults(2025)
    with store.write() as conn:
        assert calendar_repo.seed_year(conn, year=2025, now=now) == len(expected)
    with store.write() as conn:
        assert calendar_repo.seed_year(conn, year=2025, now=now) == 0
    assert count_rows(store) == len(expected)

    with store.read() as conn:
        rows = calendar_repo.list_year(conn, 2025)
        status = calendar_repo.year_status(conn, [2025])[2025]
        (seeded,) = calendar_repo.audit(conn, 2025)
    assert {r.day: r.reason for r in rows} == expected
    assert all(not r.working and r.source == "official" and r.updated_by is None for r in rows)
    assert all(r.confirmed and r.status == "confirmed" and r.reference for r in rows)
    assert (status.basis, status.confirmed) == ("official", True) and "G.O.Rt.No.2115" in status.reference
    assert (seeded.action, seeded.by, seeded.detail["written"]) == ("seed", "system", len(expected))
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
        # Staff rows are not seeded rows: the year still counts as never seeded.
        added = calendar_repo.ensure_years(conn, years=[2026], now=now)
    assert added == {2026: len(defaults(2026)) - 2}
    with store.read() as conn:
        days = calendar_repo.load(conn, start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31), now=now)
    assert days.is_working(sankranti)
    assert not days.is_working(dt.date(2026, 1, 16))
    assert not days.is_working(dt.date(2026, 1, 15))  # Makara Sankranti still seeded


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
        with pytest.raises(working_days.InvalidCalendarEntry):
            calendar_repo.set_day(conn, day=dt.date(2025, 7, 9), working=False, reason=" ", by="A", now=now)
        with pytest.raises(working_days.UnsupportedYear):
            calendar_repo.set_day(conn, day=dt.date(2099, 7, 9), working=False, reason="x", by="A", now=now)
    assert count_rows(store) == 0


def test_load_across_two_years_seeds_both(store: Store, now: dt.datetime) -> None:
    start, end = dt.date(2025, 12, 20), dt.date(2026, 1, 20)
    with store.write() as conn:
        days = calendar_repo.load(conn, start=start, end=end, now=now)
        assert set(calendar_repo.year_status(conn, [2024, 2025, 2026, 2027])) == {2025, 2026}
    assert count_rows(store) == len(defaults(2025)) + len(defaults(2026))
    assert days == holiday_lists.default_working_days(start, end)
    assert not days.is_working(dt.date(2025, 12, 25))  # Christmas
    assert not days.is_working(dt.date(2026, 1, 10))  # second Saturday
    assert not days.is_working(dt.date(2026, 1, 16))  # Kanuma
    assert days.is_working(dt.date(2026, 1, 13))
    with pytest.raises(working_days.OutsideLoadedRange):
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
    assert disconnection.next_window_start(monday_one_pm, days, policy.Policy()) == dt.datetime(
        2025, 6, 4, 10, 0, tzinfo=clock.IST
    )


# --- official lists, the computed fallback, circulars, moves -------------------------------------


def test_a_year_seeded_from_the_package_is_reseeded_from_the_official_list(
    store: Store, now: dt.datetime
) -> None:
    """What migration 0010 leaves of a deployment seeded before it: computed rows, no basis row."""
    stale = working_days.year_defaults(2026, official=None)
    with store.write() as conn:
        conn.execute(
            schema.calendar_days.insert(),
            [
                {
                    "day": d,
                    "working": False,
                    "reason": e.reason,
                    "source": "computed",
                    "confirmed": False,
                    "updated_at": now,
                }
                for d, e in stale.days.items()
            ],
        )
        calendar_repo.set_day(
            conn, day=dt.date(2026, 6, 13), working=True, reason="Drive", by="A. Rao", now=now
        )
    with store.write() as conn:
        days = calendar_repo.load(conn, start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31), now=now)
        rows = {r.day: r for r in calendar_repo.list_year(conn, 2026)}
    assert days.is_working(dt.date(2026, 1, 13)) and not days.is_working(dt.date(2026, 1, 16))
    assert days.is_working(dt.date(2026, 3, 31))  # Mahavir Jayanti is gone
    assert days.is_working(dt.date(2026, 6, 13)) and rows[dt.date(2026, 6, 13)].source == "staff"
    assert {r.source for d, r in rows.items() if d != dt.date(2026, 6, 13)} == {"official"}
    expected = holiday_lists.default_working_days(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert days.non_working == expected.non_working - {dt.date(2026, 6, 13)}


def test_a_year_with_no_official_list_is_computed_and_says_so(store: Store, now: dt.datetime) -> None:
    with store.write() as conn:
        days = calendar_repo.load(conn, start=dt.date(2026, 12, 1), end=dt.date(2027, 1, 31), now=now)
        rows = calendar_repo.list_year(conn, 2027)
        status = calendar_repo.year_status(conn, [2026, 2027])
    assert days.unconfirmed_years == frozenset({2027})
    assert not days.confirmed(dt.date(2027, 1, 26)) and days.confirmed(dt.date(2026, 12, 25))
    assert (status[2027].basis, status[2027].confirmed) == ("computed", False)
    assert status[2026].confirmed
    republic = next(r for r in rows if r.day == dt.date(2027, 1, 26))
    assert (republic.source, republic.confirmed, republic.status) == (
        "computed",
        False,
        "computed, not confirmed",
    )


CIRCULAR = holiday_list.from_csv(
    "date,name_en,name_te\n2026-01-15,Makara Sankranti,మకర సంక్రాంతి\n2026-01-16,Kanuma,కనుమ\n"
    "2026-03-20,Eid-ul-Fitr (Ramzan),రంజాన్\n",
    source="APSPDCL circular no. 7, 10.12.2025",
)


def test_import_replaces_the_years_days_keeps_staff_changes_and_is_audited(
    store: Store, now: dt.datetime
) -> None:
    drive = dt.date(2026, 2, 14)  # a second Saturday made a working day
    with store.write() as conn:
        calendar_repo.ensure_years(conn, years=[2026], now=now)
        calendar_repo.set_day(conn, day=drive, working=True, reason="Collection drive", by="A. Rao", now=now)
    later = now + dt.timedelta(days=1)
    with store.write() as conn:
        done = calendar_repo.import_list(conn, holidays=CIRCULAR, by="S. Reddy", now=later)
    weekly = working_days.weekly_off_days(2026)
    assert (done.year, done.basis, done.staff_kept) == (2026, "circular", (drive,))
    assert (
        done.written == len(weekly) + 3 - 1
    )  # every Sunday and 2nd Saturday, 3 holidays, less the staff day
    assert done.removed == len(defaults(2026)) - 1
    with store.write() as conn:
        assert (
            calendar_repo.ensure_years(conn, years=[2026], now=later) == {}
        )  # seeding leaves a circular alone
        days = calendar_repo.load(conn, start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31), now=later)
        rows = {r.day: r for r in calendar_repo.list_year(conn, 2026)}
        status = calendar_repo.year_status(conn, [2026])[2026]
        history = calendar_repo.audit(conn, 2026)
    assert days.is_working(dt.date(2026, 1, 14))  # Bhogi: not in the circular
    assert not days.is_working(dt.date(2026, 3, 20)) and days.is_working(dt.date(2026, 3, 21))
    assert not days.is_working(dt.date(2026, 1, 4)) and days.is_working(drive)
    ramzan = rows[dt.date(2026, 3, 20)]
    assert (ramzan.source, ramzan.reference, ramzan.reason_te, ramzan.updated_by) == (
        "circular",
        "APSPDCL circular no. 7, 10.12.2025",
        "రంజాన్",
        "S. Reddy",
    )
    assert ramzan.updated_at == later.astimezone(dt.UTC)
    assert (status.basis, status.confirmed, status.updated_by) == ("circular", True, "S. Reddy")
    assert [(e.action, e.by) for e in history] == [
        ("seed", "system"),
        ("set", "A. Rao"),
        ("import", "S. Reddy"),
    ]
    assert history[-1].reference == "APSPDCL circular no. 7, 10.12.2025"
    assert history[-1].at == later.astimezone(dt.UTC) and history[-1].detail["staff_kept"] == ["2026-02-14"]


def test_a_holiday_moved_at_short_notice_is_one_audited_edit(store: Store, now: dt.datetime) -> None:
    with store.write() as conn:
        old, new = calendar_repo.move_day(
            conn,
            from_day=dt.date(2026, 3, 21),
            to_day=dt.date(2026, 3, 20),
            reason="moon sighting, GAD order",
            by="B. Devi",
            now=now,
        )
        days = calendar_repo.load(conn, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), now=now)
        (move,) = [e for e in calendar_repo.audit(conn, 2026) if e.action == "move"]
    assert days.is_working(dt.date(2026, 3, 21)) and not days.is_working(dt.date(2026, 3, 20))
    assert old.reason == "Eid-ul-Fitr (Ramzan) moved to 2026-03-20: moon sighting, GAD order"
    assert new.reason == "Eid-ul-Fitr (Ramzan) (moved from 2026-03-21): moon sighting, GAD order"
    assert (move.by, move.detail) == (
        "B. Devi",
        {"holiday": "Eid-ul-Fitr (Ramzan)", "from_day": "2026-03-21", "to_day": "2026-03-20"},
    )
    with store.write() as conn:
        for not_a_holiday in (dt.date(2026, 3, 23), dt.date(2026, 3, 22)):  # a working day, a Sunday
            with pytest.raises(calendar_repo.NotAHoliday):
                calendar_repo.move_day(
                    conn, from_day=not_a_holiday, to_day=dt.date(2026, 3, 24), reason="x", by="B", now=now
                )


def test_migration_0011_marks_old_seeded_days_computed(tmp_path: Path, now: dt.datetime) -> None:
    engine = db.create_engine(f"sqlite:///{tmp_path}/old.db")
    migrate.upgrade(engine, "0009")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO calendar_days (day, working, reason, source, updated_by, updated_at) VALUES "
                "('2026-01-13', 1, 'Bhogi', 'seed', NULL, '2025-06-02 00:00:00'),"
                "('2026-01-14', 1, 'Moved', 'staff', 'A', '2025-06-02 00:00:00')"
            )
        )
    migrate.upgrade(engine)
    store = Store(engine)
    with store.write() as conn:
        before = {r.day: (r.source, r.confirmed) for r in calendar_repo.list_year(conn, 2026)}
        calendar_repo.ensure_years(conn, years=[2026], now=now)
        after = {r.day: r.source for r in calendar_repo.list_year(conn, 2026)}
    assert before == {dt.date(2026, 1, 13): ("computed", False), dt.date(2026, 1, 14): ("staff", True)}
    assert dt.date(2026, 1, 13) not in after and after[dt.date(2026, 1, 14)] == "staff"
    assert after[dt.date(2026, 1, 16)] == "official"
    engine.dispose()


def test_the_window_warns_when_it_runs_on_an_unconfirmed_year(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="wattwallet.calendar")
    monday_2027 = dt.datetime(2027, 1, 4, 10, 15, tzinfo=clock.IST)  # a working day of a computed year
    assert disconnections.run(ctx, now=monday_2027, events=[]) == 0
    (record,) = [r for r in caplog.records if r.name == "wattwallet.calendar"]
    assert record.levelno == logging.WARNING
    assert (record.__dict__["event"], record.__dict__["year"], record.__dict__["day"]) == (
        "calendar_unconfirmed_year",
        2027,
        "2027-01-04",
    )
    assert "calendar_unconfirmed_year year=2027 day=2027-01-04" in record.getMessage()

    caplog.clear()
    monday_2026 = dt.datetime(2026, 1, 5, 10, 15, tzinfo=clock.IST)  # the official list decides 2026
    disconnections.run(ctx, now=monday_2026, events=[])
    sunday_2027 = dt.datetime(2027, 1, 3, 10, 15, tzinfo=clock.IST)  # no window: nothing to warn of
    disconnections.run(ctx, now=sunday_2027, events=[])
    assert [r for r in caplog.records if r.name == "wattwallet.calendar"] == []


def test_the_stored_2025_and_2026_calendars_are_the_official_files_day_by_day(
    store: Store, now: dt.datetime
) -> None:
    first, last = dt.date(2025, 1, 1), dt.date(2026, 12, 31)
    with store.write() as conn:
        stored = calendar_repo.load(conn, start=first, end=last, now=now)
    expected = holiday_lists.default_working_days(first, last)
    day = first
    while day <= last:
        assert stored.is_working(day) is expected.is_working(day), day
        day += dt.timedelta(days=1)
    assert stored == expected and stored.unconfirmed_years == frozenset()
