"""Switching a connection between prepaid and postpaid (DOMAIN.md §8): the request (consumer, staff
or a scenario; withdrawable until it takes effect), and the settlement at the start of its IST day.

`run_due` is the scheduled job: right after the day's cycle (which bills the prepaid side up to the
switch day) it settles every switch due that day, one transaction per connection. Each settlement
is one posting that moves every paisa from one side's accounts to the other's, so money is
conserved by construction and `ledger verify` sees it whole. Idempotent: a settled switch is done.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.billing import _charges, _items
from wattwallet.context import Context
from wattwallet.domain import billing_mode, clock, connection
from wattwallet.domain import events as domain_events
from wattwallet.hes import commands
from wattwallet.ledger import accounts, postings
from wattwallet.lifecycle import consequences, holds, short_bills
from wattwallet.lifecycle import unbilled as unbilled_totals
from wattwallet.messaging import outbox as notifications
from wattwallet.store import connections, schema


@dataclasses.dataclass(frozen=True)
class Switch:
    id: int
    service_no: str
    before: connection.BillingMode
    after: connection.BillingMode
    effective_on: dt.date
    status: billing_mode.Status
    via: str
    requested_by: str | None
    requested_at: dt.datetime
    carried: int | None = None
    to_dues: int | None = None
    deposit_adjusted: int | None = None
    to_receivable: int | None = None


def _switch(row: Any) -> Switch:
    return Switch(
        id=row.id,
        service_no=row.service_no,
        before=connection.BillingMode(row.from_mode),
        after=connection.BillingMode(row.to_mode),
        effective_on=row.effective_on,
        status=billing_mode.Status(row.status),
        via=row.requested_via,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        carried=row.carried,
        to_dues=row.to_dues,
        deposit_adjusted=row.deposit_adjusted,
        to_receivable=row.to_receivable,
    )


def parse_day(raw: object) -> dt.date | None:
    """An ISO date (YYYY-MM-DD) or None for the default (the next day)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise billing_mode.SwitchDateInPast(
            f"the switch date must be a date like 2025-07-01, got {raw!r}"
        ) from None


def request(
    ctx: Context,
    *,
    service_no: str,
    to: str,
    now: dt.datetime,
    effective_on: dt.date | None = None,
    via: billing_mode.Via = billing_mode.Via.CONSUMER,
    by: str | None = None,
    events: domain_events.Log | None = None,
) -> Switch:
    """Ask for a switch from `effective_on` (default: the next IST day). Refused, nothing written,
    for a terminated connection, the mode it already has, a day already begun, a switch already
    pending, or consumption held for review."""
    events = [] if events is None else events
    target_mode = connection.billing_mode(to)
    service_no = connection.service_number(service_no)
    today = clock.ist_date(now)
    day = effective_on or billing_mode.default_effective_on(today)
    with ctx.store.write() as conn:
        postings.lock(conn, service_no=service_no)  # one request at a time per connection
        target = connections.get(conn, service_no)
        billing_mode.check_switch(
            current=target.mode,
            to=target_mode,
            state=target.state,
            effective_on=day,
            today=today,
            pending=_pending_row(conn, service_no) is not None,
            held=holds.any_open(conn, service_no),
        )
        m = schema.mode_switches
        switch_id = conn.execute(
            sa.insert(m)
            .values(
                service_no=service_no,
                from_mode=target.mode.value,
                to_mode=target_mode.value,
                effective_on=day,
                status=billing_mode.Status.PENDING.value,
                requested_via=via.value,
                requested_by=by,
                requested_at=now,
            )
            .returning(m.c.id)
        ).scalar_one()
        events.append(
            domain_events.ModeSwitchRequested(
                at=now,
                connection=service_no,
                before=target.mode.value,
                after=target_mode.value,
                effective_on=day,
                via=via.value,
            )
        )
        message = notifications.Message(
            service_no,
            target.language.value,
            "mode_switch_scheduled",
            {"mode": target_mode.value, "effective_on": day},
        )
        consequences.notify(conn, [message], now=now, events=events)
        row = conn.execute(sa.select(m).where(m.c.id == switch_id)).one()
    return _switch(row)


def withdraw(
    ctx: Context, *, service_no: str, now: dt.datetime, events: domain_events.Log | None = None
) -> Switch:
    """Call off the pending switch before it takes effect."""
    service_no = connection.service_number(service_no)
    m = schema.mode_switches
    with ctx.store.write() as conn:
        postings.lock(conn, service_no=service_no)
        row = _pending_row(conn, service_no)
        if row is None or row.effective_on <= clock.ist_date(now):
            raise billing_mode.NoPendingSwitch(f"{service_no} has no billing-mode switch still to come")
        conn.execute(
            sa.update(m)
            .where(m.c.id == row.id)
            .values(status=billing_mode.Status.WITHDRAWN.value, closed_at=now)
        )
        row = conn.execute(sa.select(m).where(m.c.id == row.id)).one()
    if events is not None:
        events.append(
            domain_events.ModeSwitchWithdrawn(at=now, connection=service_no, effective_on=row.effective_on)
        )
    return _switch(row)


def history(ctx: Context, *, service_no: str) -> list[Switch]:
    m = schema.mode_switches
    with ctx.store.read() as conn:
        connections.get(conn, service_no)
        rows = conn.execute(sa.select(m).where(m.c.service_no == service_no).order_by(m.c.id.desc())).all()
    return [_switch(row) for row in rows]


def pending(ctx: Context, *, service_no: str) -> Switch | None:
    with ctx.store.read() as conn:
        row = _pending_row(conn, service_no)
    return None if row is None else _switch(row)


def next_due_at(conn: Connection, *, at_time: dt.time) -> dt.datetime | None:
    """When the next pending switch is settled: its day, at the daily cycle's time."""
    m = schema.mode_switches
    day = conn.execute(
        sa.select(sa.func.min(m.c.effective_on)).where(m.c.status == billing_mode.Status.PENDING.value)
    ).scalar()
    return None if day is None else dt.datetime.combine(day, at_time, tzinfo=clock.IST)


def run_due(ctx: Context, *, now: dt.datetime, events: domain_events.Log | None = None) -> int:
    """Settle every pending switch whose day has come; returns how many took effect."""
    events = [] if events is None else events
    m = schema.mode_switches
    with ctx.store.read() as conn:
        due = conn.execute(
            sa.select(m.c.id, m.c.service_no)
            .where(m.c.status == billing_mode.Status.PENDING.value, m.c.effective_on <= clock.ist_date(now))
            .order_by(m.c.service_no, m.c.id)
        ).all()
    with ctx.store.write() as conn:
        accounts.ensure_system_accounts(
            conn,
            now=now,
            codes=[
                *accounts.charge_accounts([levy.name for levy in ctx.tariffs.levies]),
                short_bills.REVENUE_ACCOUNT,
            ],
        )
    done = 0
    for switch_id, service_no in due:
        with ctx.store.write() as conn:
            accounts.open_postpaid_accounts(conn, service_nos=[service_no], now=now)
            book = postings.lock(conn, service_no=service_no, postpaid=True)
            row = conn.execute(sa.select(m).where(m.c.id == switch_id)).one()
            if row.status != billing_mode.Status.PENDING.value:
                continue  # settled (or withdrawn) by another worker since the list was read
            target = connections.get(conn, service_no)
            if target.state is connection.State.TERMINATED or target.mode.value != row.from_mode:
                conn.execute(
                    sa.update(m)
                    .where(m.c.id == switch_id)
                    .values(status=billing_mode.Status.WITHDRAWN.value, closed_at=now)
                )
                continue
            happened: domain_events.Log = []
            if row.to_mode == connection.BillingMode.POSTPAID.value:
                _to_postpaid(conn, book, target, switch_id, now=now, events=happened)
            else:
                _to_prepaid(conn, book, target, switch_id, now=now, events=happened)
        events.extend(happened)
        done += 1
    return done


def _to_postpaid(
    conn: Connection,
    book: postings.Book,
    target: connections.ConnectionRow,
    switch_id: int,
    *,
    now: dt.datetime,
    events: domain_events.Log,
) -> None:
    sn = target.service_no
    moved = short_bills.move_to_postpaid(conn, book, now=now)
    settlement = billing_mode.settle_to_postpaid(
        wallet=book.wallet, dues=book.dues, short_bills=[amount for _, amount in moved]
    )
    lines = _lines(
        {
            accounts.wallet(sn): book.wallet,  # the wallet to zero, whichever side it is on
            accounts.dues(sn): -book.dues,
            accounts.advance(sn): -settlement.advance,
            accounts.receivable(sn): settlement.carried_debit + settlement.dues,
        }
    )
    if lines:
        postings.post(
            conn,
            book,
            kind="mode.to_postpaid",
            lines=lines,
            occurred_at=now,
            recorded_at=now,
            reference=f"switch:{switch_id}",
            memo="billing mode switched to postpaid",
        )
    _items.add(
        conn,
        [
            _items.NewItem(sn, _items.Kind.CARRIED, "carried from prepaid wallet", settlement.carried_debit),
            _items.NewItem(sn, _items.Kind.DUES, "dues carried from prepaid", settlement.dues),
            *(
                _items.NewItem(sn, _items.Kind.SHORT_BILL, f"short bill {ref}", amount)
                for ref, amount in moved
            ),
        ],
        now=now,
    )
    # No balance-driven rules any more: alerts, emergency credit and a pending disconnection end.
    _reset_balance_state(conn, sn, now=now)
    needs_reconnect = target.state is connection.State.DISCONNECTED or commands.open_command(
        conn, service_no=sn, action=commands.DISCONNECT
    )
    if needs_reconnect:
        # Supersedes any open disconnect; a relay already closed is told to stay closed.
        commands.issue(
            conn,
            service_no=sn,
            meter_serial=target.meter_serial,
            action=commands.RECONNECT,
            reason="switched to postpaid",
            now=now,
        )
    _finish(
        conn,
        target,
        switch_id,
        to=connection.BillingMode.POSTPAID,
        now=now,
        events=events,
        carried=settlement.carried,
        to_dues=0,
        deposit_adjusted=0,
        to_receivable=settlement.to_bill,
        balance=0,
        dues=0,
    )


def _to_prepaid(
    conn: Connection,
    book: postings.Book,
    target: connections.ConnectionRow,
    switch_id: int,
    *,
    now: dt.datetime,
    events: domain_events.Log,
) -> None:
    sn = target.service_no
    days = _charges.untaken(conn, first=sn, last=sn)
    unbilled, by_account = _unbilled(days)
    settlement = billing_mode.settle_to_prepaid(
        receivable=book.balance(accounts.receivable(sn)),
        unbilled=unbilled,
        advance=book.balance(accounts.advance(sn)),
        deposit=book.balance(accounts.deposit(sn)),
        dues=book.dues,
    )
    amounts: dict[str, int] = collections.defaultdict(
        int, {code: -paise for code, paise in by_account.items()}
    )
    amounts[accounts.receivable(sn)] -= settlement.receivable
    amounts[accounts.advance(sn)] += settlement.advance
    amounts[accounts.deposit(sn)] += settlement.deposit
    amounts[accounts.dues(sn)] += settlement.dues_change
    amounts[accounts.wallet(sn)] -= settlement.to_wallet
    lines = _lines(amounts)
    if lines:
        postings.post(
            conn,
            book,
            kind="mode.to_prepaid",
            lines=lines,
            occurred_at=now,
            recorded_at=now,
            reference=f"switch:{switch_id}",
            memo="billing mode switched to prepaid",
        )
    _charges.take(conn, _charges.last_ids(days))
    unbilled_totals.forget(conn, [sn])
    _items.close_all(conn, sn)
    _reset_balance_state(conn, sn, now=now)
    c = schema.connections
    # The first-recharge rule applies again (DOMAIN.md §2).
    conn.execute(sa.update(c).where(c.c.service_no == sn).values(first_recharge_done=False))
    _finish(
        conn,
        target,
        switch_id,
        to=connection.BillingMode.PREPAID,
        now=now,
        events=events,
        carried=settlement.to_wallet,
        to_dues=settlement.to_dues,
        deposit_adjusted=settlement.deposit_adjusted,
        to_receivable=0,
        unbilled=unbilled,
        balance=book.wallet,
        dues=book.dues,
    )


def _unbilled(days: Sequence[_charges.Day]) -> tuple[int, dict[str, int]]:
    """Postpaid days not billed yet: their total, and its split by revenue account."""
    by_account = collections.defaultdict[str, int](int)
    for day in days:
        for component, paise in json.loads(day.items):
            by_account[accounts.for_charge(component)] += paise
    return sum(day.amount for day in days), dict(by_account)


def _lines(amounts: dict[str, int]) -> list[postings.Line]:
    return [postings.Line(code, paise) for code, paise in sorted(amounts.items()) if paise]


def _reset_balance_state(conn: Connection, service_no: str, *, now: dt.datetime) -> None:
    s = schema.prepaid_state
    conn.execute(
        sa.update(s)
        .where(s.c.service_no == service_no)
        .values(
            alerts_sent=0,
            zero_alert_at=None,
            emergency_credit_paise=0,
            disconnect_due_at=None,
            updated_at=now,
        )
    )
    pending = commands.open_command(
        conn, service_no=service_no, action=commands.DISCONNECT, status=commands.Status.PENDING
    )
    if pending is not None:
        commands.cancel(conn, command_id=pending)


def _finish(
    conn: Connection,
    target: connections.ConnectionRow,
    switch_id: int,
    *,
    to: connection.BillingMode,
    now: dt.datetime,
    events: domain_events.Log,
    carried: int,
    to_dues: int,
    deposit_adjusted: int,
    to_receivable: int,
    balance: int,
    dues: int,
    unbilled: int = 0,
) -> None:
    sn = target.service_no
    c, m = schema.connections, schema.mode_switches
    conn.execute(sa.update(c).where(c.c.service_no == sn).values(billing_mode=to.value, updated_at=now))
    conn.execute(
        sa.update(m)
        .where(m.c.id == switch_id)
        .values(
            status=billing_mode.Status.DONE.value,
            closed_at=now,
            carried=carried,
            to_dues=to_dues,
            deposit_adjusted=deposit_adjusted,
            to_receivable=to_receivable,
            unbilled=unbilled,
        )
    )
    events.append(
        domain_events.ModeChanged(
            at=now,
            connection=sn,
            before=target.mode.value,
            after=to.value,
            carried=carried,
            to_dues=to_dues,
            deposit_adjusted=deposit_adjusted,
            to_bill=to_receivable,
            balance=balance,
            dues=dues,
        )
    )
    # To prepaid: the wallet and the dues now; to postpaid: the balance carried, and what the first
    # bill will ask on top of its charges.
    shown = (balance, dues) if to is connection.BillingMode.PREPAID else (carried, to_receivable)
    message = notifications.Message(
        sn,
        target.language.value,
        "mode_changed",
        {"mode": to.value, "balance": shown[0], "to_dues": shown[1]},
    )
    consequences.notify(conn, [message], now=now, events=events)


def _pending_row(conn: Connection, service_no: str) -> Any:
    m = schema.mode_switches
    return conn.execute(
        sa.select(m).where(m.c.service_no == service_no, m.c.status == billing_mode.Status.PENDING.value)
    ).first()
