"""The DISCOM's working-day calendar in `calendar_days`, on SQLite and PostgreSQL.

A day with no row is a working day. Each year rests on one basis, kept in `calendar_years`: the
official list shipped as data (`official`), a DISCOM circular imported by staff (`circular`), or,
for a year with neither, the computed fallback (`computed`, not confirmed). Seeding a year writes
its default non-working days with that basis as their source; it re-seeds a year whose defaults
changed (a corrected list shipped, or a list for a year that was computed) but never a year
loaded from a circular, and never touches a staff change (source `staff`, from `set_day` or
`move_day`). Every change is written to `calendar_audit`, with who and when.

`load` seeds the years it needs first, so the rules always see a complete calendar; it writes
only when a year needs seeding, so callers on a read-only transaction can call `ensure_years`
once up front (e.g. at start-up) instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from wattwallet import holiday_lists
from wattwallet.domain import clock, errors, holiday_list, working_days
from wattwallet.store import schema

OFFICIAL = working_days.OFFICIAL
CIRCULAR = working_days.CIRCULAR
COMPUTED = working_days.COMPUTED
STAFF = "staff"
SYSTEM = "system"  # who seeds a year no one asked for

# How far a day can be trusted (CalendarDay.status).
CONFIRMED = "confirmed"
UNCONFIRMED = "unconfirmed"  # an official list's date not confirmed from its source
COMPUTED_STATUS = "computed, not confirmed"  # no official list for the year

_days = schema.calendar_days
_years = schema.calendar_years
_audit = schema.calendar_audit


class NotAHoliday(errors.RuleViolation):
    code = "calendar_day_not_a_holiday"


@dataclasses.dataclass(frozen=True)
class CalendarDay:
    day: dt.date
    working: bool
    reason: str
    source: str
    updated_by: str | None
    updated_at: dt.datetime
    reference: str | None = None
    confirmed: bool = True
    reason_te: str | None = None

    @property
    def status(self) -> str:
        """'confirmed'; 'unconfirmed' (a listed date its source does not confirm); or 'computed,
        not confirmed' (a holiday the `holidays` package computed: no official list for the year).
        Sundays and second Saturdays are always confirmed."""
        if self.confirmed:
            return CONFIRMED
        return COMPUTED_STATUS if self.source == COMPUTED else UNCONFIRMED


@dataclasses.dataclass(frozen=True)
class YearStatus:
    year: int
    basis: str
    reference: str
    confirmed: bool
    updated_by: str | None
    updated_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class Replaced:
    """What seeding or importing a year did: rows removed and written, staff changes kept."""

    year: int
    basis: str
    removed: int
    written: int
    staff_kept: tuple[dt.date, ...]


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    by: str
    action: str
    year: int
    reference: str
    detail: dict[str, Any]


def _insert(conn: Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


def _year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _audit_row(
    conn: Connection, *, action: str, year: int, reference: str, by: str, now: dt.datetime, **detail: Any
) -> None:
    conn.execute(
        _audit.insert().values(
            at=now,
            by=by,
            action=action,
            year=year,
            reference=reference[: holiday_list.SOURCE_MAX_CHARS],
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
        )
    )


def year_status(conn: Connection, years: Iterable[int]) -> dict[int, YearStatus]:
    """The basis of each of `years` that has been seeded or imported."""
    wanted = sorted(set(years))
    rows = conn.execute(sa.select(_years).where(_years.c.year.in_(wanted))).all()
    return {
        r.year: YearStatus(
            year=r.year,
            basis=r.basis,
            reference=r.reference,
            confirmed=r.confirmed,
            updated_by=r.updated_by,
            updated_at=r.updated_at,
        )
        for r in rows
    }


def _replace_year(
    conn: Connection,
    *,
    defaults: working_days.YearDefaults,
    expected_digest: str | None,
    by: str,
    action: str,
    now: dt.datetime,
) -> Replaced | None:
    """Make `defaults` the year's non-staff days. `expected_digest` is the digest the year had
    when the caller looked (None: no row): a concurrent seeder that got there first wins, and
    None is returned."""
    year = defaults.year
    values = {
        "basis": defaults.basis,
        "reference": defaults.reference[: holiday_list.SOURCE_MAX_CHARS],
        "confirmed": defaults.confirmed,
        "digest": defaults.digest,
        "updated_by": None if by == SYSTEM else by,
        "updated_at": now,
    }
    if expected_digest is None:
        claimed = conn.execute(
            _insert(conn, _years)
            .values(year=year, **values)
            .on_conflict_do_nothing(index_elements=[_years.c.year])
            .returning(_years.c.year)
        ).first()
    else:
        claimed = conn.execute(
            _years.update()
            .where(_years.c.year == year, _years.c.digest == expected_digest)
            .values(**values)
            .returning(_years.c.year)
        ).first()
    if claimed is None:
        return None
    first, last = _year_bounds(year)
    in_year = _days.c.day.between(first, last)
    staff = set(conn.execute(sa.select(_days.c.day).where(in_year, _days.c.source == STAFF)).scalars())
    removed = conn.execute(_days.delete().where(in_year, _days.c.source != STAFF)).rowcount
    rows = [
        {
            "day": day,
            "working": False,
            "reason": entry.reason,
            "reason_te": entry.reason_te or None,
            "source": defaults.basis,
            "reference": entry.reference,
            "confirmed": entry.confirmed,
            "updated_by": values["updated_by"],
            "updated_at": now,
        }
        for day, entry in defaults.days.items()
        if day not in staff
    ]
    if rows:
        conn.execute(_days.insert(), rows)
    result = Replaced(
        year=year,
        basis=defaults.basis,
        removed=removed,
        written=len(rows),
        staff_kept=tuple(sorted(staff)),
    )
    _audit_row(
        conn,
        action=action,
        year=year,
        reference=defaults.reference,
        by=by,
        now=now,
        basis=defaults.basis,
        removed=removed,
        written=len(rows),
        staff_kept=[d.isoformat() for d in result.staff_kept],
    )
    return result


def ensure_years(conn: Connection, *, years: Iterable[int], now: dt.datetime) -> dict[int, int]:
    """Seed each of `years` never seeded, or seeded from defaults that have changed since (unless
    it was loaded from a DISCOM circular); return {year: rows written} for those."""
    clock.require_aware(now, "now")
    wanted = sorted(set(years))
    for year in wanted:
        working_days.check_year(year)
    if not wanted:
        return {}
    known = {
        r.year: (r.basis, r.digest)
        for r in conn.execute(
            sa.select(_years.c.year, _years.c.basis, _years.c.digest).where(_years.c.year.in_(wanted))
        )
    }
    done: dict[int, int] = {}
    for year in wanted:
        defaults = holiday_lists.year_defaults(year)
        basis, digest = known.get(year, (None, None))
        if basis == CIRCULAR or digest == defaults.digest:
            continue
        replaced = _replace_year(
            conn, defaults=defaults, expected_digest=digest, by=SYSTEM, action="seed", now=now
        )
        if replaced is not None:
            done[year] = replaced.written
    return done


def seed_year(conn: Connection, *, year: int, now: dt.datetime) -> int:
    """Seed `year` if it needs it (see `ensure_years`); return the rows written (0: up to date)."""
    return ensure_years(conn, years=[year], now=now).get(year, 0)


def import_list(
    conn: Connection, *, holidays: holiday_list.HolidayList, by: str, now: dt.datetime
) -> Replaced:
    """Make a DISCOM's circular (or any official list) the year's calendar: its holidays, every
    Sunday and second Saturday; the year's seeded or previously imported days go, staff changes
    stay. Audited with who and when; later seeding never undoes it."""
    clock.require_aware(now, "now")
    by = working_days.check_by(by)
    defaults = working_days.year_defaults(holidays.year, official=holidays)
    current = conn.execute(sa.select(_years.c.digest).where(_years.c.year == holidays.year)).scalar()
    replaced = _replace_year(
        conn, defaults=defaults, expected_digest=current, by=by, action="import", now=now
    )
    if replaced is None:  # someone changed the year meanwhile: the caller may try again
        raise errors.Conflict(f"the calendar of {holidays.year} changed meanwhile; import again")
    return replaced


def _staff_row(
    conn: Connection, *, day: dt.date, working: bool, reason: str, by: str, now: dt.datetime
) -> CalendarDay:
    values = {
        "working": working,
        "reason": reason,
        "reason_te": None,
        "source": STAFF,
        "reference": None,
        "confirmed": True,
        "updated_by": by,
        "updated_at": now,
    }
    insert = _insert(conn, _days).values(day=day, **values)
    conn.execute(insert.on_conflict_do_update(index_elements=[_days.c.day], set_=values))
    return CalendarDay(
        day=day,
        working=working,
        reason=reason,
        source=STAFF,
        updated_by=by,
        updated_at=now.astimezone(dt.UTC),
    )


def set_day(
    conn: Connection, *, day: dt.date, working: bool, reason: str, by: str, now: dt.datetime
) -> CalendarDay:
    """Staff override: make `day` a working day or not, with a reason. Replaces any row."""
    clock.require_aware(now, "now")
    working_days.check_year(day.year)
    reason, by = working_days.check_entry(reason, by)
    row = _staff_row(conn, day=day, working=working, reason=reason, by=by, now=now)
    _audit_row(
        conn,
        action="set",
        year=day.year,
        reference=reason,
        by=by,
        now=now,
        day=day.isoformat(),
        working=working,
    )
    return row


def move_day(
    conn: Connection, *, from_day: dt.date, to_day: dt.date, reason: str, by: str, now: dt.datetime
) -> tuple[CalendarDay, CalendarDay]:
    """A holiday moved at short notice (moon sighting): `from_day` becomes a working day and
    `to_day` the holiday, in one audited change. `reason` names the order, e.g. 'moon sighting,
    GAD order of 20.03.2026'."""
    clock.require_aware(now, "now")
    for day in (from_day, to_day):
        working_days.check_year(day.year)
    reason, by = working_days.check_entry(reason, by)
    if from_day == to_day:
        raise working_days.InvalidCalendarEntry("a holiday moves to another day")
    ensure_years(conn, years={from_day.year, to_day.year}, now=now)
    row = conn.execute(sa.select(_days.c.working, _days.c.reason).where(_days.c.day == from_day)).first()
    if row is None or row.working or row.reason in (working_days.SUNDAY, working_days.SECOND_SATURDAY):
        raise NotAHoliday(
            f"{from_day} is not a holiday in the calendar: there is nothing to move", day=str(from_day)
        )
    name = row.reason
    limit = working_days.REASON_MAX_CHARS
    old = _staff_row(
        conn, day=from_day, working=True, reason=f"{name} moved to {to_day}: {reason}"[:limit], by=by, now=now
    )
    new = _staff_row(
        conn,
        day=to_day,
        working=False,
        reason=f"{name} (moved from {from_day}): {reason}"[:limit],
        by=by,
        now=now,
    )
    _audit_row(
        conn,
        action="move",
        year=to_day.year,
        reference=reason,
        by=by,
        now=now,
        holiday=name,
        from_day=from_day.isoformat(),
        to_day=to_day.isoformat(),
    )
    return old, new


def load(conn: Connection, *, start: dt.date, end: dt.date, now: dt.datetime) -> working_days.WorkingDays:
    """The working days of [start, end] (inclusive), seeding any year of it that needs it (the
    rows it adds are stamped `now`)."""
    if start > end:
        raise ValueError(f"empty range: {start} > {end}")
    years = range(start.year, end.year + 1)
    ensure_years(conn, years=years, now=now)
    rows = conn.execute(sa.select(_days.c.day, _days.c.working).where(_days.c.day.between(start, end)))
    status = year_status(conn, years)
    return working_days.WorkingDays.from_entries(
        start,
        end,
        ((r.day, r.working) for r in rows),
        unconfirmed_years=(y for y, s in status.items() if not s.confirmed),
    )


def list_year(conn: Connection, year: int) -> list[CalendarDay]:
    """Every row of `year` (non-working days and staff overrides), in date order."""
    first, last = _year_bounds(year)
    rows = conn.execute(sa.select(_days).where(_days.c.day.between(first, last)).order_by(_days.c.day))
    return [
        CalendarDay(
            day=r.day,
            working=r.working,
            reason=r.reason,
            source=r.source,
            updated_by=r.updated_by,
            updated_at=r.updated_at,
            reference=r.reference,
            confirmed=r.confirmed,
            reason_te=r.reason_te,
        )
        for r in rows
    ]


def audit(conn: Connection, year: int) -> list[AuditEntry]:
    """The changes of `year`'s calendar, oldest first."""
    rows = conn.execute(sa.select(_audit).where(_audit.c.year == year).order_by(_audit.c.id))
    return [
        AuditEntry(
            at=r.at, by=r.by, action=r.action, year=r.year, reference=r.reference, detail=json.loads(r.detail)
        )
        for r in rows
    ]


def around(conn: Connection, *, at: dt.datetime) -> working_days.WorkingDays:
    """The calendar from a week before to two months after `at` (seeding years as needed): what the
    disconnection rules need to place a disconnect from `at`."""
    day = clock.ist_date(at)
    return load(conn, start=day - dt.timedelta(days=7), end=day + dt.timedelta(days=62), now=at)
