"""The prepaid lifecycle from the operator's desk: readings, the daily cycle and the worker tick,
short bills, reconnection complaints, held consumption, HES failures, the disconnection queue,
the compliance report and the consumer's language.

Each Typer app here is mounted by `wattwallet.cli` under the name in its variable's comment.
Commands only translate arguments into service calls and results back into text (or JSON).
"""

from __future__ import annotations

import collections
import datetime as dt
import json
from typing import Annotated, Any

import typer

from wattwallet.cli import common
from wattwallet.consumers import registration
from wattwallet.domain import clock, connection, errors, money, working_days
from wattwallet.domain import events as domain_events
from wattwallet.domain import readings as reading_rules
from wattwallet.hes import commands as hes_commands
from wattwallet.jobs import schedule
from wattwallet.lifecycle import complaints, daily_cycle, holds, readings, short_bills
from wattwallet.staff import reports
from wattwallet.staff import work_lists as queues
from wattwallet.store import connections

reading_app = typer.Typer(  # "reading"
    help="Meter readings (cumulative kWh registers) as the head-end system reports them.",
    no_args_is_help=True,
)
cycle_app = typer.Typer(  # "cycle"
    help="The daily cycle: bill new readings, update ADC, send alerts, mark disconnections due.",
    no_args_is_help=True,
)
jobs_app = typer.Typer(  # "jobs"
    help="Scheduled work: one worker tick runs every job once.", no_args_is_help=True
)
short_bill_app = typer.Typer(  # "short-bill"
    help="Short bills: under-billed amounts, deducted after 15 days unless paid.", no_args_is_help=True
)
complaint_app = typer.Typer(  # "complaint"
    help="Reconnection complaints (consumer, 1912 helpline, automatic): 4 hours to resolve.",
    no_args_is_help=True,
)
holds_app = typer.Typer(  # "holds"
    help="Held consumption (implausible days, registers that ran backwards) awaiting staff review.",
    no_args_is_help=True,
)
hes_app = typer.Typer(  # "hes"
    help="Commands to the head-end system (disconnect, reconnect).", no_args_is_help=True
)
queue_app = typer.Typer(  # "disconnections"
    help="Connections due for disconnection and when the rules allow the cut.", no_args_is_help=True
)
report_app = typer.Typer(  # "report"
    help="Service-level reports the system measures about itself.", no_args_is_help=True
)
# `wattwallet language SERVICE_NO en|te`: the command is the group's own callback (no sub-command).
connection_language = typer.Typer(  # "language"
    help="Set a consumer's language for bills, alerts and OTPs: en (English) or te (Telugu).",
    no_args_is_help=True,
    subcommand_metavar="",
)

NowOption = Annotated[
    str | None, typer.Option("--now", help="Run as of this instant (ISO 8601 with offset); default now.")
]
ByOption = Annotated[str, typer.Option("--by", help="Who reviewed it (staff name or ID).")]
NoteOption = Annotated[str, typer.Option("--note", help="What was found or done (kept on record).")]
AllOption = Annotated[bool, typer.Option("--all", help="Include closed items, not only open ones.")]

STAFF_NAME_MAX = 64  # resolved_by, reviewed_by


def _ist(instant: dt.datetime | None) -> str | None:
    return None if instant is None else clock.ist_iso(instant)


def _short(instant: dt.datetime) -> str:
    return f"{instant.astimezone(clock.IST):%Y-%m-%d %H:%M} IST"


def _staff(by: str) -> str:
    name = by.strip()
    if not name or len(name) > STAFF_NAME_MAX:
        raise errors.InvalidInput(f"--by must name who did it in 1 to {STAFF_NAME_MAX} characters")
    return name


def _now_or(text: str | None) -> dt.datetime:
    return common.parse_instant(text, "--now") if text else common.now()


# --- reading ---------------------------------------------------------------------------------


@reading_app.command("add")
@common.friendly_errors
def reading_add(
    meter_serial: Annotated[str, typer.Argument(help="The smart meter's serial number.")],
    kwh: Annotated[str, typer.Argument(help="The cumulative register in kWh, e.g. 1234.567.")],
    at: Annotated[
        str | None, typer.Option("--at", help="When the meter read it (ISO 8601 with offset); default now.")
    ] = None,
) -> None:
    """Record one register reading. A repeat changes nothing; a reading the rules refuse (unknown
    meter, in the future, conflicting, or a register running backwards, which is also flagged for
    staff) exits 2 with the reason."""
    now = common.now()
    read_at = common.parse_instant(at, "--at") if at else now
    reading = reading_rules.parse(meter_serial=meter_serial, read_at=read_at, kwh=kwh)
    with common.context() as ctx:
        [outcome] = readings.record(ctx, [reading], now=now)
    what = (
        f"meter {reading.meter_serial} at {clock.ist_iso(reading.read_at)}: "
        f"{reading.register_wh / 1000:.3f} kWh"
    )
    if outcome.status == "stored":
        typer.echo(f"stored: {what} (connection {outcome.service_no})")
    elif outcome.status == "duplicate":
        typer.echo(f"duplicate: {what} was already stored; nothing changed")
    else:
        typer.echo(f"refused: {what}: {outcome.message} [{outcome.reason}]", err=True)
        raise typer.Exit(2)


# --- cycle and jobs --------------------------------------------------------------------------


@cycle_app.command("run")
@common.friendly_errors
def cycle_run(
    now: NowOption = None,
    as_json: common.JsonOption = False,
    workers: Annotated[
        int, typer.Option(min=1, max=32, help="Processes billing disjoint ranges of service numbers.")
    ] = 1,
) -> None:
    """Bill every connection's new readings as of --now; running it again changes nothing."""
    at = _now_or(now)
    with common.context() as ctx:
        report = daily_cycle.run(ctx, now=at, workers=workers)
    if as_json:
        common.echo_json(
            {
                "at": clock.ist_iso(at),
                "connections": report.connections,
                "days": report.days,
                "deducted": money.rupees(report.deducted_paise),
                "held": report.held,
                "alerts": dict(sorted(report.alerts.items())),
                "due": report.due,
                "notifications": report.notifications,
                "batches": report.batches,
            }
        )
        return
    alerts = ", ".join(f"{kind} {count}" for kind, count in sorted(report.alerts.items())) or "none"
    typer.echo(
        f"daily cycle as of {_short(at)}: {report.connections} connections, {report.days} days billed "
        f"in {report.batches} batches\n"
        f"  deducted {money.inr(report.deducted_paise)}\n"
        f"  held for staff review: {report.held}\n"
        f"  alerts sent: {alerts}\n"
        f"  newly due for disconnection: {report.due}\n"
        f"  notifications: {report.notifications}"
    )


@jobs_app.command("run")
@common.friendly_errors
def jobs_run(now: NowOption = None) -> None:
    """One worker tick as of --now: every scheduled job once (each is idempotent). Prints each event
    as a JSON line on stdout and a summary on stderr."""
    at = _now_or(now)
    events: domain_events.Log = []
    with common.context() as ctx:
        schedule.run_all_now(ctx, now=at, events=events)
    for event in events:
        typer.echo(json.dumps(event.line(), ensure_ascii=False, default=str))
    kinds = collections.Counter(event.TYPE for event in events)
    detail = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
    typer.echo(
        f"jobs ran as of {_short(at)}: {len(events)} events" + (f" ({detail})" if detail else ""), err=True
    )


# --- short bills -----------------------------------------------------------------------------


@short_bill_app.command("raise")
@common.friendly_errors
def short_bill_raise(
    service_no: Annotated[str, typer.Argument(help="Service number of the prepaid connection.")],
    amount: Annotated[str, typer.Argument(help="Rupees under-billed, e.g. 350 or 1200.50.")],
    reason: Annotated[str, typer.Option(help="Why (shown to the consumer), e.g. 'back-billing Apr'.")],
    ref: Annotated[str, typer.Option(help="A unique reference; repeating it does not raise it twice.")],
) -> None:
    """Raise a short bill; the consumer is told at once, reminded on days 12-14 and the amount is
    deducted on day 15."""
    now = common.now()
    amount_paise = money.parse_rupees(amount)
    with common.context() as ctx:
        bill = short_bills.raise_bill(
            ctx,
            service_no=service_no,
            amount_paise=amount_paise,
            reason=reason,
            ref=ref,
            now=now,
        )
    note = " (already raised: nothing new)" if bill.replayed else ""
    typer.echo(
        f"short bill {bill.ref}{note} on {bill.service_no}: {money.inr(bill.amount)} ({bill.reason})\n"
        f"  raised {bill.raised_on.isoformat()}, deducted from the wallet on {bill.due_on.isoformat()} "
        f"unless paid; status {bill.status}"
    )


# --- complaints ------------------------------------------------------------------------------

STAFF_SOURCES = ("consumer", "helpline")


def _complaint_dict(c: complaints.Complaint, now: dt.datetime) -> dict[str, Any]:
    return {
        "ref": c.ref,
        "service_no": c.service_no,
        "kind": c.kind,
        "source": c.source,
        "opened_at": clock.ist_iso(c.opened_at),
        "due_at": clock.ist_iso(c.due_at),
        "resolved_at": _ist(c.resolved_at),
        "resolution": c.resolution,
        "overdue": _overdue(c, now),
    }


def _overdue(c: complaints.Complaint, now: dt.datetime) -> bool:
    return c.overdue(now=now)


@complaint_app.command("open")
@common.friendly_errors
def complaint_open(
    service_no: Annotated[str, typer.Argument(help="Service number the complaint is about.")],
    ref: Annotated[str, typer.Option(help="The complaint's reference, e.g. the 1912 docket number.")],
    source: Annotated[str, typer.Option(help="consumer or helpline.")],
    kind: Annotated[str, typer.Option(help="What it is about.")] = "reconnection",
) -> None:
    """Open a complaint; it must be resolved within the deadline (4 hours). The same --ref again is
    the same complaint."""
    now = common.now()
    if source not in STAFF_SOURCES:
        raise complaints.ComplaintInvalid(
            f"--source must be one of {', '.join(STAFF_SOURCES)}, got {source!r}"
        )
    events: domain_events.Log = []
    with common.context() as ctx, ctx.store.write() as conn:
        target = connections.get(conn, connection.service_number(service_no))
        opened = complaints.open_complaint(
            ctx,
            conn,
            service_no=target.service_no,
            kind=kind,
            ref=ref,
            source=source,
            now=now,
            events=events,
        )
    note = "" if events else " (already opened: the same complaint)"
    typer.echo(
        f"complaint {opened.ref}{note} on {opened.service_no} ({opened.kind}, via {opened.source}): "
        f"opened {_short(opened.opened_at)}, to be resolved by {_short(opened.due_at)}"
    )


@complaint_app.command("list")
@common.friendly_errors
def complaint_list(show_all: AllOption = False, as_json: common.JsonOption = False) -> None:
    """The complaints queue, nearest deadline first; OVERDUE marks those past their deadline."""
    now = common.now()
    with common.context() as ctx:
        found = complaints.listing(ctx, now=now, open_only=not show_all)
    if as_json:
        common.echo_json([_complaint_dict(c, now) for c in found])
        return
    if not found:
        typer.echo("no open complaints" if not show_all else "no complaints")
        return
    for c in found:
        state = "open" if c.resolved_at is None else f"resolved {_short(c.resolved_at)} ({c.resolution})"
        flag = "  OVERDUE" if _overdue(c, now) else ""
        typer.echo(
            f"{c.ref}  {c.service_no}  {c.kind}  via {c.source}  opened {_short(c.opened_at)}  "
            f"due {_short(c.due_at)}  {state}{flag}"
        )


@complaint_app.command("resolve")
@common.friendly_errors
def complaint_resolve(
    ref: Annotated[str, typer.Argument(help="The complaint's reference.")],
    by: Annotated[str, typer.Option("--by", help="Who resolved it (staff name or ID).")],
    note: NoteOption,
) -> None:
    """Close a complaint with a note saying what was done."""
    now = common.now()
    events: domain_events.Log = []
    with common.context() as ctx:
        done = complaints.resolve_by_staff(
            ctx, ref=ref.strip(), by=_staff(by), note=note, now=now, events=events
        )
    assert done.resolved_at is not None
    if not events:
        typer.echo(
            f"complaint {done.ref} was already resolved {_short(done.resolved_at)} ({done.resolution})"
        )
        return
    late = done.resolved_at - done.due_at
    timing = (
        "within the deadline"
        if late <= dt.timedelta(0)
        else f"{late.total_seconds() / 60:.0f} minutes after the deadline"
    )
    typer.echo(f"complaint {done.ref} on {done.service_no} resolved {_short(done.resolved_at)}, {timing}")


# --- held consumption ------------------------------------------------------------------------


def _hold_dict(h: holds.Hold) -> dict[str, Any]:
    return {
        "id": h.id,
        "service_no": h.service_no,
        "kind": h.kind,
        "from": h.from_date.isoformat(),
        "to": h.to_date.isoformat(),
        "units": f"{h.units_wh / 1000:.3f}",
        "status": h.status,
        "created_at": clock.ist_iso(h.created_at),
    }


@holds_app.command("list")
@common.friendly_errors
def holds_list(show_all: AllOption = False, as_json: common.JsonOption = False) -> None:
    """Consumption held for review: never deducted, never a reason to disconnect while open."""
    with common.context() as ctx:
        found = holds.listing(ctx, open_only=not show_all)
    if as_json:
        common.echo_json([_hold_dict(h) for h in found])
        return
    if not found:
        typer.echo("nothing held for review" if not show_all else "no held consumption")
        return
    for h in found:
        typer.echo(
            f"#{h.id}  {h.service_no}  {h.kind:<18}  {h.from_date.isoformat()}..{h.to_date.isoformat()}  "
            f"{h.units_wh / 1000:>12.3f} kWh  {h.status}  (held {_short(h.created_at)})"
        )


@holds_app.command("release")
@common.friendly_errors
def holds_release(
    hold_id: Annotated[int, typer.Argument(metavar="ID", help="The held consumption's number (#).")],
    by: ByOption,
    note: NoteOption,
) -> None:
    """The consumption was real: deduct it now (energy and per-unit charges at this month's slab)."""
    now = common.now()
    with common.context() as ctx:
        released = holds.release(ctx, hold_id=hold_id, by=_staff(by), note=note, now=now)
    hold = released.hold
    typer.echo(
        f"held consumption #{hold.id} on {hold.service_no} released ({hold.units_wh / 1000:.3f} kWh): "
        f"{money.inr(released.deducted)} deducted, balance {money.inr(released.balance)}"
    )


@holds_app.command("dismiss")
@common.friendly_errors
def holds_dismiss(
    hold_id: Annotated[int, typer.Argument(metavar="ID", help="The held consumption's number (#).")],
    by: ByOption,
    note: NoteOption,
) -> None:
    """The consumption was not real (a meter fault): the consumer never pays it."""
    now = common.now()
    with common.context() as ctx:
        dismissed = holds.dismiss(ctx, hold_id=hold_id, by=_staff(by), note=note, now=now)
    typer.echo(
        f"held consumption #{dismissed.id} on {dismissed.service_no} dismissed "
        f"({dismissed.units_wh / 1000:.3f} kWh never billed)"
    )


# --- HES -------------------------------------------------------------------------------------


@hes_app.command("failures")
@common.friendly_errors
def hes_failures(as_json: common.JsonOption = False) -> None:
    """Commands the HES failed: given up (disconnects wait for staff), still being retried, or sent
    and never confirmed."""
    with common.context() as ctx:
        rows = hes_commands.failures(ctx, now=common.now())
    if as_json:
        common.echo_json(
            [
                {key: _ist(value) if isinstance(value, dt.datetime) else value for key, value in row.items()}
                for row in rows
            ]
        )
        return
    if not rows:
        typer.echo("no failing HES commands")
        return
    for row in rows:
        retry = f", next try {_short(row['next_attempt_at'])}" if row["next_attempt_at"] else ""
        typer.echo(
            f"{row['id']}  {row['service_no']}  {row['command']}  {row['status']} after "
            f"{row['attempts']} attempts{retry}: {row['last_error'] or 'no detail'}"
        )


# --- disconnection queue ---------------------------------------------------------------------


@queue_app.command("queue")
@common.friendly_errors
def disconnection_queue(as_json: common.JsonOption = False) -> None:
    """Connections due for disconnection, soonest first: balance, emergency credit, when each fell
    due, the earliest the supply may be cut, holds and any disconnect command under way."""
    now = common.now()
    with common.context() as ctx:
        entries = queues.disconnection_queue(ctx, now=now)
    if as_json:
        common.echo_json(
            [
                {
                    "service_no": e.service_no,
                    "balance": money.rupees(e.balance),
                    "emergency_credit": money.rupees(e.emergency_credit),
                    "due_at": clock.ist_iso(e.due_at),
                    "zero_alert_at": _ist(e.zero_alert_at),
                    "earliest": clock.ist_iso(e.earliest),
                    "on_hold": e.on_hold,
                    "command_id": e.command_id,
                    "command_status": e.command_status,
                }
                for e in entries
            ]
        )
        return
    if not entries:
        typer.echo("no connection is due for disconnection")
        return
    for e in entries:
        extra = "  ON HOLD (no disconnection until reviewed)" if e.on_hold else ""
        if e.command_id:
            extra += f"  command {e.command_id} {e.command_status}"
        typer.echo(
            f"{e.service_no}  balance {money.inr(e.balance)}  "
            f"emergency credit {money.inr(e.emergency_credit)}"
            f"  due since {_short(e.due_at)}  earliest {_short(e.earliest)}{extra}"
        )


# --- compliance report -----------------------------------------------------------------------


def _measure_line(label: str, measure: reports.Measure) -> str:
    if measure.total == 0:
        return f"{label}: none in the period"
    figures = measure.as_dict()
    return (
        f"{label}: {measure.within} of {measure.total} ({figures['percent']}%), "
        f"worst {figures['worst_minutes']} minutes"
    )


@report_app.command("compliance")
@common.friendly_errors
def report_compliance(
    start: Annotated[str, typer.Option("--from", help="First IST day of the period, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last IST day of the period (included), YYYY-MM-DD.")],
    as_json: common.JsonOption = False,
) -> None:
    """The service levels of DOMAIN.md §9 for a period, computed from what happened."""
    first, last = working_days.parse_day(start, "--from"), working_days.parse_day(end, "--to")
    now = common.now()
    with common.context() as ctx:
        result = reports.compliance(ctx, start=first, end=last, now=now)
        rules = ctx.policy
    if as_json:
        common.echo_json(result.as_dict())
        return
    lines = [
        f"compliance {result.start.isoformat()} to {result.end.isoformat()} (IST days)",
        _measure_line(
            f"recharges reflected within {rules.recharge_reflection_minutes} minutes",
            result.recharges_reflected,
        ),
        _measure_line(
            f"reconnections within {rules.reconnection_minutes} minutes of payment", result.reconnections
        ),
        _measure_line(
            f"reconnection complaints resolved within {rules.complaint_resolution_hours} hours",
            result.complaints_resolved,
        ),
        f"disconnections: {result.disconnections}",
        f"disconnections outside the window: {len(result.disconnections_outside_window)}",
        "disconnections without the three alerts and emergency credit: "
        f"{len(result.disconnections_without_warnings)}",
        f"terminations: {result.terminations}",
        f"recharges back-dated by agents or counters: {len(result.backdated)}",
    ]
    for title, breaches in (
        ("outside the window", result.disconnections_outside_window),
        ("without the alerts and emergency credit", result.disconnections_without_warnings),
        ("back-dated recharges", result.backdated),
    ):
        if breaches:
            lines.append(f"breaches, {title}:")
            lines += [f"  {label}" for label in breaches]
    typer.echo("\n".join(lines))


# --- language --------------------------------------------------------------------------------


@connection_language.callback(invoke_without_command=True)
@common.friendly_errors
def language_set(
    service_no: Annotated[str, typer.Argument(metavar="SERVICE_NO", help="Service number.")],
    language: Annotated[str, typer.Argument(metavar="en|te", help="en (English) or te (Telugu).")],
) -> None:
    """Set the consumer's language for bills, alerts and OTPs: en (English) or te (Telugu)."""
    with common.context() as ctx:
        changed = registration.set_language(ctx, service_no=service_no, language=language, now=common.now())
    same = " (unchanged)" if changed.before == changed.after else ""
    typer.echo(f"connection {changed.connection}: language {changed.after}{same}")
