"""The DISCOM's working-day calendar in `calendar_days`, on SQLite and PostgreSQL.

A day with no row is a working day. Seeding writes the default non-working days of a year
(source 'seed') and never touches a day that already has a row, so staff changes (source
'staff', made with `set_day`) survive any re-seed. `load` seeds the years it needs first, so
the rules always see a complete calendar.

`load` writes only when a year of its range was never seeded; callers on a read-only
transaction can call `ensure_years` once up front (e.g. at start-up) instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from wattwallet.domain import calendar, clock
from wattwallet.store import schema

SEED = "seed"
STAFF = "staff"

_days = schema.calendar_days


@dataclasses.dataclass(frozen=True)
class CalendarDay:
    day: dt.date
    working: bool
    reason: str
    source: str
    updated_by: str | None
    updated_at: dt.datetime


def _insert(conn: Connection) -> postgresql.Insert | sqlite.Insert:
    return postgresql.insert(_days) if conn.dialect.name == "postgresql" else sqlite.insert(_days)


def _year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def seed_year(conn: Connection, *, year: int, now: dt.datetime) -> int:
    """Insert the default non-working days of `year` that have no row yet; return how many."""
    clock.require_aware(now, "now")
    defaults = calendar.default_non_working_days(year)
    first, last = _year_bounds(year)
    existing = set(conn.execute(sa.select(_days.c.day).where(_days.c.day.between(first, last))).scalars())
    rows = [
        {
            "day": day,
            "working": False,
            "reason": reason,
            "source": SEED,
            "updated_by": None,
            "updated_at": now,
        }
        for day, reason in defaults.items()
        if day not in existing
    ]
    if not rows:
        return 0
    # A concurrent seeder may have inserted some of them meanwhile: skip those, count ours.
    inserted = conn.execute(
        _insert(conn).values(rows).on_conflict_do_nothing(index_elements=[_days.c.day]).returning(_days.c.day)
    )
    return len(inserted.all())


def seeded_years(conn: Connection, years: Iterable[int]) -> set[int]:
    """Which of `years` have at least one seeded row."""
    found: set[int] = set()
    for year in sorted(set(years)):
        first, last = _year_bounds(year)
        hit = conn.execute(
            sa.select(_days.c.day).where(_days.c.source == SEED, _days.c.day.between(first, last)).limit(1)
        ).first()
        if hit is not None:
            found.add(year)
    return found


def ensure_years(conn: Connection, *, years: Iterable[int], now: dt.datetime) -> dict[int, int]:
    """Seed each of `years` that has no seeded row yet; return {year: rows added} for those."""
    wanted = sorted(set(years))
    for year in wanted:
        calendar.check_year(year)
    done = seeded_years(conn, wanted)
    return {year: seed_year(conn, year=year, now=now) for year in wanted if year not in done}


def set_day(
    conn: Connection, *, day: dt.date, working: bool, reason: str, by: str, now: dt.datetime
) -> CalendarDay:
    """Staff override: make `day` a working day or not, with a reason. Replaces any row."""
    clock.require_aware(now, "now")
    calendar.check_year(day.year)
    reason, by = calendar.check_entry(reason, by)
    values = {
        "working": working,
        "reason": reason,
        "source": STAFF,
        "updated_by": by,
        "updated_at": now,
    }
    insert = _insert(conn).values(day=day, **values)
    conn.execute(insert.on_conflict_do_update(index_elements=[_days.c.day], set_=values))
    return CalendarDay(
        day=day,
        working=working,
        reason=reason,
        source=STAFF,
        updated_by=by,
        updated_at=now.astimezone(dt.UTC),
    )


def load(conn: Connection, *, start: dt.date, end: dt.date, now: dt.datetime) -> calendar.WorkingDays:
    """The working days of [start, end] (inclusive), seeding any year of it never seeded (the
    rows it adds are stamped `now`)."""
    if start > end:
        raise ValueError(f"empty range: {start} > {end}")
    years = range(start.year, end.year + 1)
    if len(seeded_years(conn, years)) < len(years):
        ensure_years(conn, years=years, now=now)
    rows = conn.execute(sa.select(_days.c.day, _days.c.working).where(_days.c.day.between(start, end)))
    return calendar.WorkingDays.from_entries(start, end, ((r.day, r.working) for r in rows))


def list_year(conn: Connection, year: int) -> list[CalendarDay]:
    """Every row of `year` (non-working days and staff overrides), in date order."""
    first, last = _year_bounds(year)
    rows = conn.execute(
        sa.select(
            _days.c.day,
            _days.c.working,
            _days.c.reason,
            _days.c.source,
            _days.c.updated_by,
            _days.c.updated_at,
        )
        .where(_days.c.day.between(first, last))
        .order_by(_days.c.day)
    )
    return [
        CalendarDay(
            day=r.day,
            working=r.working,
            reason=r.reason,
            source=r.source,
            updated_by=r.updated_by,
            updated_at=r.updated_at,
        )
        for r in rows
    ]
