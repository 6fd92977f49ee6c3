"""`wattwallet calendar`: the working-day calendar that decides when disconnections may happen."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from wattwallet.commands import common
from wattwallet.domain import calendar, clock
from wattwallet.store import calendar_repo

app = typer.Typer(
    help=(
        "The DISCOM's working-day calendar: disconnections happen only inside the window on working "
        "days. Defaults: Sundays, second Saturdays, AP public and government holidays."
    ),
    no_args_is_help=True,
)

YearOption = Annotated[
    int | None, typer.Option("--year", help="Calendar year, e.g. 2025; default: this year (IST).")
]


def _year(year: int | None) -> int:
    return calendar.check_year(year if year is not None else clock.ist_date(common.now()).year)


def _row_dict(row: calendar_repo.CalendarDay) -> dict[str, Any]:
    return {
        "day": row.day.isoformat(),
        "weekday": f"{row.day:%a}",
        "working": row.working,
        "reason": row.reason,
        "source": row.source,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at.isoformat(),
    }


@app.command("seed")
@common.friendly_errors
def seed(year: YearOption = None) -> None:
    """Add the default non-working days of a year; days that already have a row are kept."""
    year = _year(year)
    now = common.now()
    with common.context() as ctx, ctx.store.write() as conn:
        added = calendar_repo.seed_year(conn, year=year, now=now)
    typer.echo(f"calendar {year}: {added} default non-working days added; existing days kept")


@app.command("list")
@common.friendly_errors
def list_days(year: YearOption = None, as_json: common.JsonOption = False) -> None:
    """Show a year's non-working days and staff changes (seeding the year first if it never was)."""
    year = _year(year)
    now = common.now()
    with common.context() as ctx, ctx.store.write() as conn:
        calendar_repo.ensure_years(conn, years=[year], now=now)
        rows = calendar_repo.list_year(conn, year)
    if as_json:
        common.echo_json([_row_dict(r) for r in rows])
        return
    non_working = sum(1 for r in rows if not r.working)
    staff = sum(1 for r in rows if r.source == calendar_repo.STAFF)
    typer.echo(f"calendar {year}: {non_working} non-working days, {staff} staff changes")
    for r in rows:
        state = "working" if r.working else "holiday"
        who = f" (staff: {r.updated_by})" if r.source == calendar_repo.STAFF else ""
        typer.echo(f"  {r.day.isoformat()} {r.day:%a}  {state:<7}  {r.reason}{who}")


@app.command("set")
@common.friendly_errors
def set_day(
    day: Annotated[str, typer.Argument(help="The date, YYYY-MM-DD.")],
    working: Annotated[bool, typer.Option("--working/--holiday", help="Make the day a working day, or not.")],
    reason: Annotated[str, typer.Option(help="Why, e.g. 'Declared holiday: cyclone'.")],
    by: Annotated[str, typer.Option(help="Who made the change (staff name or ID).")],
) -> None:
    """Override one day of the calendar; later seeding never undoes it."""
    date = calendar.parse_day(day, "DAY")
    now = common.now()
    with common.context() as ctx, ctx.store.write() as conn:
        row = calendar_repo.set_day(conn, day=date, working=working, reason=reason, by=by, now=now)
    state = "a working day" if row.working else "not a working day"
    typer.echo(f"{row.day.isoformat()} ({row.day:%a}) is now {state}: {row.reason} (by {row.updated_by})")
