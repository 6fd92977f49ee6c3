"""What DISCOM staff do for a consumer at the 1912 helpline, a service-centre counter or in the
office: look a connection up, change its registered mobile, log a reconnection complaint, review
held consumption and keep the working-day calendar.

These are thin use cases over the rule modules, so that every interface (HTTP API, console)
applies the same staff rules: field staff see a masked mobile, a staff mobile change goes through
the channel of the executive's role, and the executive is the one on record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from wattwallet.consumers import mobile_change as mobile
from wattwallet.context import Context
from wattwallet.domain import connection, errors, phone, working_days
from wattwallet.domain import events as domain_events
from wattwallet.ledger import accounts
from wattwallet.lifecycle import complaints
from wattwallet.staff import accounts as staff
from wattwallet.store import calendar_repo, connections, schema

# The mobile-change channel each role works through (DOMAIN.md §7); admins name theirs.
_CHANNEL_OF_ROLE = {staff.Role.HELPLINE: "helpline", staff.Role.SERVICE_CENTRE: "service_centre"}
CALENDAR_MAX_DAYS = 366


class CalendarPeriodInvalid(errors.PeriodInvalid):
    """A calendar listing's range is empty or too long."""


@dataclasses.dataclass(frozen=True)
class Overview:
    service_no: str
    consumer_name: str
    category: str
    load_kw: Decimal
    mode: connection.BillingMode
    language: connection.Language
    state: connection.State
    relay: str
    meter_serial: str
    mobile: str  # masked (+91XXXXXX3210) when `mobile_masked`
    mobile_masked: bool
    balance: int  # paise
    dues: int  # paise
    adc: int  # paise a day
    emergency_credit: int  # paise
    disconnect_due_at: dt.datetime | None
    open_complaints: int
    open_holds: int


@dataclasses.dataclass(frozen=True)
class Brief:
    service_no: str
    consumer_name: str
    category: str
    mode: connection.BillingMode
    state: connection.State


@dataclasses.dataclass(frozen=True)
class Opened:
    complaint: complaints.Complaint
    replayed: bool  # the same reference was opened before: the same complaint, nothing new


@dataclasses.dataclass(frozen=True)
class Resolved:
    complaint: complaints.Complaint
    replayed: bool  # it was resolved before: nothing changed


def _sees_full_mobile(role: staff.Role) -> bool:
    """Field staff visit premises and never call the consumer from the system: no full number."""
    return role is not staff.Role.FIELD


def overview(ctx: Context, *, service_no: str, role: staff.Role) -> Overview:
    """One connection as a staff screen shows it: who, where it stands, what is waiting on it."""
    service_no = connection.service_number(service_no)
    s, cp, h, a = schema.prepaid_state, schema.complaints, schema.held_consumption, schema.ledger_accounts
    with ctx.store.read() as conn:
        target = connections.get(conn, service_no)
        balances = {
            row.code: int(row.balance)
            for row in conn.execute(
                sa.select(a.c.code, a.c.balance).where(
                    a.c.code.in_([accounts.wallet(service_no), accounts.dues(service_no)])
                )
            )
        }
        state = conn.execute(
            sa.select(s.c.adc_paise, s.c.emergency_credit_paise, s.c.disconnect_due_at).where(
                s.c.service_no == service_no
            )
        ).one()
        open_complaints = conn.execute(
            sa.select(sa.func.count())
            .select_from(cp)
            .where(cp.c.service_no == service_no, cp.c.resolved_at.is_(None))
        ).scalar_one()
        open_holds = conn.execute(
            sa.select(sa.func.count())
            .select_from(h)
            .where(h.c.service_no == service_no, h.c.status == "open")
        ).scalar_one()
    full = _sees_full_mobile(role)
    return Overview(
        service_no=target.service_no,
        consumer_name=target.consumer_name,
        category=target.category,
        load_kw=target.load_kw,
        mode=target.mode,
        language=target.language,
        state=target.state,
        relay=target.relay,
        meter_serial=target.meter_serial,
        mobile=target.mobile if full else phone.masked(target.mobile),
        mobile_masked=not full,
        balance=balances[accounts.wallet(service_no)],
        dues=balances[accounts.dues(service_no)],
        adc=int(state.adc_paise),
        emergency_credit=int(state.emergency_credit_paise),
        disconnect_due_at=state.disconnect_due_at,
        open_complaints=int(open_complaints),
        open_holds=int(open_holds),
    )


def on_mobile(ctx: Context, *, mobile_number: str) -> list[Brief]:
    """The connections registered to a number: a caller is found by the number they call from."""
    number = phone.normalize_mobile(mobile_number)
    c, cons = schema.connections, schema.consumers
    with ctx.store.read() as conn:
        rows = conn.execute(
            sa.select(c.c.service_no, cons.c.name, c.c.category, c.c.billing_mode, c.c.state)
            .select_from(c.join(cons, cons.c.id == c.c.consumer_id))
            .where(c.c.mobile == number)
            .order_by(c.c.service_no)
        ).all()
    return [
        Brief(
            service_no=row.service_no,
            consumer_name=row.name,
            category=row.category,
            mode=connection.BillingMode(row.billing_mode),
            state=connection.State(row.state),
        )
        for row in rows
    ]


def change_mobile(
    ctx: Context,
    *,
    service_no: str,
    old_mobile: str,
    new_mobile: str,
    reference: str,
    role: staff.Role,
    username: str,
    now: dt.datetime,
    via: str | None = None,
) -> mobile.MobileChange:
    """A helpline or counter change made by the signed-in executive: the channel is their role's
    (an admin names it), so the audit row says truthfully where the change came from."""
    own = _CHANNEL_OF_ROLE.get(role)
    chosen = own or via
    if chosen is None:
        raise mobile.ChannelInvalid(f"say which channel the change came through: {', '.join(mobile.STAFF)}")
    if own is not None and via not in (None, own):
        raise mobile.ChannelInvalid(f"a {role.value} executive changes numbers through {own}, not {via}")
    if chosen not in mobile.STAFF:
        raise mobile.ChannelInvalid(f"a staff change comes through {', '.join(mobile.STAFF)}, got {chosen!r}")
    return mobile.change(
        ctx,
        service_no=service_no,
        new_mobile=new_mobile,
        via=chosen,
        old_mobile=old_mobile,
        reference=reference,
        by=username,
        now=now,
    )


def open_helpline_complaint(ctx: Context, *, service_no: str, ref: str, now: dt.datetime) -> Opened:
    """A caller on 1912 reports their supply is still off: a reconnection complaint, 4 hours."""
    events: domain_events.Log = []
    with ctx.store.write() as conn:
        opened = complaints.open_complaint(
            ctx,
            conn,
            service_no=service_no,
            kind="reconnection",
            ref=ref,
            source="helpline",
            now=now,
            events=events,
        )
    return Opened(opened, replayed=opened.replayed)


def resolve_complaint(ctx: Context, *, ref: str, by: str, note: str, now: dt.datetime) -> Resolved:
    """Close a complaint on the executive's word; one resolved before is answered as it stands, so
    a double click or a retry never overwrites who resolved it and when."""
    events: domain_events.Log = []
    done = complaints.resolve_by_staff(ctx, ref=ref, by=by, note=note, now=now, events=events)
    return Resolved(done, replayed=done.replayed)


def calendar_days(
    ctx: Context, *, start: dt.date, end: dt.date, now: dt.datetime
) -> list[calendar_repo.CalendarDay]:
    """The non-working days and staff changes of [start, end], seeding years never seeded."""
    if end < start:
        raise CalendarPeriodInvalid(f"the period ends ({end}) before it starts ({start})")
    if (end - start).days >= CALENDAR_MAX_DAYS:
        raise CalendarPeriodInvalid(f"ask for at most {CALENDAR_MAX_DAYS} days at a time")
    years = range(working_days.check_year(start.year), working_days.check_year(end.year) + 1)
    with ctx.store.write() as conn:
        calendar_repo.ensure_years(conn, years=years, now=now)
        rows = [row for year in years for row in calendar_repo.list_year(conn, year)]
    return [row for row in rows if start <= row.day <= end]


def set_calendar_day(
    ctx: Context, *, day: dt.date, working: bool, reason: str, by: str, now: dt.datetime
) -> calendar_repo.CalendarDay:
    """Staff override of one day (a declared holiday, a working Saturday); re-seeding keeps it."""
    with ctx.store.write() as conn:
        return calendar_repo.set_day(conn, day=day, working=working, reason=reason, by=by, now=now)
