"""`wattwallet calendar`: the working-day calendar that decides when disconnections may happen."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from wattwallet.cli import common
from wattwallet.domain import clock, holiday_list, working_days
from wattwallet.store import calendar_repo

app = typer.Typer(
    help=(
        "The DISCOM's working-day calendar: disconnections happen only inside the window on working "
        "days. Not working: Sundays, second Saturdays and the general holidays of the year's official "
        "list (the AP G.O. shipped as data, or the DISCOM's circular loaded with `import`); a year "
        "with neither uses computed holidays, marked 'computed, not confirmed'."
    ),
    no_args_is_help=True,
)


YearOption = Annotated[
    int | None, typer.Option("--year", help="Calendar year, e.g. 2025; default: this year (IST).")
]


def _year(year: int | None) -> int:
    return working_days.check_year(year if year is not None else clock.ist_date(common.now()).year)


def _row_dict(row: calendar_repo.CalendarDay) -> dict[str, Any]:
    return {
        "day": row.day.isoformat(),
        "weekday": f"{row.day:%a}",
        "working": row.working,
        "reason": row.reason,
        "reason_te": row.reason_te,
        "source": row.source,
        "reference": row.reference,
        "confirmed": row.confirmed,
        "status": row.status,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at.isoformat(),
    }


@app.command("seed")
@common.friendly_errors
def seed(year: YearOption = None) -> None:
    """Write a year's default non-working days (its official list, else computed ones) if it was
    never seeded or its shipped list changed; staff changes and an imported circular are kept."""
    year = _year(year)
    now = common.now()
    with common.context() as ctx, ctx.store.write() as conn:
        added = calendar_repo.seed_year(conn, year=year, now=now)
        status = calendar_repo.year_status(conn, [year])[year]
    typer.echo(f"calendar {year}: {added} default non-working days written; {_basis(status)}")


def _basis(status: calendar_repo.YearStatus) -> str:
    if status.basis == calendar_repo.COMPUTED:
        return f"{calendar_repo.COMPUTED_STATUS}: no official list for {status.year}"
    return f"{status.basis}: {status.reference}"


@app.command("list")
@common.friendly_errors
def list_days(year: YearOption = None, as_json: common.JsonOption = False) -> None:
    """Show a year's non-working days and staff changes (seeding the year first if it needs it)."""
    year = _year(year)
    now = common.now()
    with common.context() as ctx, ctx.store.write() as conn:
        calendar_repo.ensure_years(conn, years=[year], now=now)
        rows = calendar_repo.list_year(conn, year)
        status = calendar_repo.year_status(conn, [year])[year]
    if as_json:
        common.echo_json([_row_dict(r) for r in rows])
        return
    non_working = sum(1 for r in rows if not r.working)
    staff = sum(1 for r in rows if r.source == calendar_repo.STAFF)
    typer.echo(f"calendar {year}: {non_working} non-working days, {staff} staff changes")
    typer.echo(f"  basis: {_basis(status)}")
    for r in rows:
        state = "working" if r.working else "holiday"
        who = f" (staff: {r.updated_by})" if r.source == calendar_repo.STAFF else ""
        mark = "" if r.status == calendar_repo.CONFIRMED else f"  [{r.status}]"
        typer.echo(f"  {r.day.isoformat()} {r.day:%a}  {state:<7}  {r.reason}{who}{mark}")


@app.command("set")
@common.friendly_errors
def set_day(
    day: Annotated[str, typer.Argument(help="The date, YYYY-MM-DD.")],
    working: Annotated[bool, typer.Option("--working/--holiday", help="Make the day a working day, or not.")],
    reason: Annotated[str, typer.Option(help="Why, e.g. 'Declared holiday: cyclone'.")],
    by: Annotated[str, typer.Option(help="Who made the change (staff name or ID).")],
) -> None:
    """Override one day of the calendar; later seeding never undoes it."""
    date = working_days.parse_day(day, "DAY")
    now = common.now()
    with common.context() as ctx, ctx.store.write() as conn:
        row = calendar_repo.set_day(conn, day=date, working=working, reason=reason, by=by, now=now)
    state = "a working day" if row.working else "not a working day"
    typer.echo(f"{row.day.isoformat()} ({row.day:%a}) is now {state}: {row.reason} (by {row.updated_by})")


@app.command("move")
@common.friendly_errors
def move_day(
    from_day: Annotated[str, typer.Argument(help="The holiday's date as listed, YYYY-MM-DD.")],
    to_day: Annotated[str, typer.Argument(help="The date it moves to, YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option(help="Why, e.g. 'moon sighting, GAD order of 20.03.2026'.")],
    by: Annotated[str, typer.Option(help="Who made the change (staff name or ID).")],
) -> None:
    """Move a holiday at short notice (e.g. on moon sighting): FROM becomes a working day and TO
    the holiday, in one audited change."""
    old_day, new_day = working_days.parse_day(from_day, "FROM"), working_days.parse_day(to_day, "TO")
    now = common.now()
    with common.context() as ctx, ctx.store.write() as conn:
        _, new = calendar_repo.move_day(conn, from_day=old_day, to_day=new_day, reason=reason, by=by, now=now)
    typer.echo(
        f"{old_day.isoformat()} ({old_day:%a}) is now a working day; "
        f"{new_day.isoformat()} ({new_day:%a}) is the holiday: {new.reason} (by {new.updated_by})"
    )


@app.command("import")
@common.friendly_errors
def import_circular(
    file: Annotated[Path, typer.Argument(help="CSV: a header date,name_en,name_te and one holiday a line.")],
    source: Annotated[str, typer.Option(help="The circular, e.g. 'APSPDCL circular no. 123, 10.12.2025'.")],
    by: Annotated[str, typer.Option(help="Who loads it (staff name or ID).")],
    year: YearOption = None,
) -> None:
    """Load a DISCOM's own holiday list for a year: its holidays plus every Sunday and second
    Saturday replace the year's official or computed days (staff changes are kept). A bad line
    stops the import with its line number, and nothing is written."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise holiday_list.InvalidHolidayList(f"cannot read {file}: {exc}") from None
    now = common.now()
    circular = holiday_list.from_csv(
        text, source=source, year=working_days.check_year(year) if year else None
    )
    with common.context() as ctx, ctx.store.write() as conn:
        done = calendar_repo.import_list(conn, holidays=circular, by=by, now=now)
    kept = (
        f"; staff changes kept on {', '.join(d.isoformat() for d in done.staff_kept)}"
        if done.staff_kept
        else ""
    )
    typer.echo(
        f"calendar {done.year}: {len(circular.holidays)} holidays from {source!r} loaded, "
        f"{done.written} non-working days written, {done.removed} replaced{kept}"
    )


@app.command("history")
@common.friendly_errors
def history(year: YearOption = None, as_json: common.JsonOption = False) -> None:
    """Every change of a year's calendar: seeding, imports, staff changes, with who and when."""
    year = _year(year)
    with common.context() as ctx, ctx.store.read() as conn:
        entries = calendar_repo.audit(conn, year)
    if as_json:
        common.echo_json(
            [
                {
                    "at": e.at.isoformat(),
                    "by": e.by,
                    "action": e.action,
                    "reference": e.reference,
                    "detail": e.detail,
                }
                for e in entries
            ]
        )
        return
    typer.echo(f"calendar {year}: {len(entries)} changes")
    for e in entries:
        typer.echo(f"  {e.at.isoformat()}  {e.action:<6}  by {e.by}: {e.reference}")
