"""Disconnection and reconnection as the HES carries them out (DOMAIN.md §3, §5).

Commands are sent by `dispatch` (re-checking a disconnection right before it goes), settled by
`apply_confirmations` (the state changes only then), and escalated by `escalate` when a paid-up
consumer's relay is not closed within 15 minutes of the payment.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import connection, disconnection, reconnection
from wattwallet.domain import events as domain_events
from wattwallet.hes import adapter, commands
from wattwallet.ledger import postings
from wattwallet.lifecycle import complaints, holds
from wattwallet.lifecycle import consequences as balance
from wattwallet.messaging import outbox as notifications
from wattwallet.store import calendar_repo, connections, schema

Events = domain_events.Log


def dispatch(ctx: Context, *, now: dt.datetime, events: Events, only: str | None = None) -> None:
    """Send every command whose time has come, each in its own transaction."""
    with ctx.store.read() as conn:
        due = commands.due(conn, now=now, only=only)
    for listed in due:
        with ctx.store.write() as conn:
            book = commands.lock(conn, listed.service_no)
            command = commands.claim(conn, command_id=listed.id, now=now)
            if command is None:
                continue  # sent (or settled) by another dispatcher since the list was read
            if command.action == commands.DISCONNECT and not _still_disconnect(
                ctx, conn, command, book, now, events
            ):
                continue
            try:
                ctx.head_end.send(
                    adapter.Command(command.id, command.service_no, command.meter_serial, command.action),
                    now=now,
                )
                ok, error = True, ""
            except adapter.SendFailed as exc:
                ok, error = False, str(exc) or "send failed"
            status = commands.record_send(
                conn, command, ok=ok, error=error, now=now, retry_minutes=ctx.policy.hes_retry_minutes
            )
            if ok:
                events.append(
                    domain_events.CommandSent(
                        at=now, connection=command.service_no, command=command.action, id=command.id
                    )
                )
            else:
                events.append(
                    domain_events.CommandFailed(
                        at=now,
                        connection=command.service_no,
                        command=command.action,
                        id=command.id,
                        reason=error,
                        status=status,
                        attempt=command.attempts + 1,
                    )
                )


def _still_disconnect(
    ctx: Context,
    conn: Connection,
    command: commands.CommandRow,
    book: postings.Book,
    now: dt.datetime,
    events: Events,
) -> bool:
    """Right before a disconnect goes: still due, still unpaid, inside the window, not on hold."""
    state = _state_row(conn, command.service_no)
    target = connections.get(conn, command.service_no)
    still_due = (
        target.state is connection.State.ACTIVE
        and state.disconnect_due_at is not None
        and book.wallet < -state.emergency_credit_paise
        and not holds.any_open(conn, command.service_no)
    )
    if not still_due:
        commands.cancel(conn, command_id=command.id)
        events.append(
            domain_events.CommandCancelled(
                at=now,
                connection=command.service_no,
                command=command.action,
                id=command.id,
                reason="no longer due",
            )
        )
        return False
    days = calendar_repo.around(conn, at=now)
    earliest = disconnection.earliest_from_now(
        zero_alert_at=state.zero_alert_at,
        due_at=state.disconnect_due_at,
        now=now,
        days=days,
        rules=ctx.policy,
    )
    send_at = max(earliest, disconnection.next_send_time(now, days, ctx.policy))
    if send_at > now:  # too early, outside the window, or too close to its end: wait for the next
        commands.postpone(conn, command_id=command.id, until=send_at)
        return False
    return True


def apply_confirmations(ctx: Context, *, until: dt.datetime, events: Events) -> list[str]:
    """Settle what the HES confirmed by `until`. Returns ids of reconnects to send straight away."""
    follow_up = []
    for confirmation in ctx.head_end.confirmations(until=until):
        with ctx.store.write() as conn:
            row = conn.execute(
                sa.select(schema.hes_commands.c.service_no).where(
                    schema.hes_commands.c.id == confirmation.command_id
                )
            ).scalar()
            if row is None:
                continue  # an acknowledgement for a command we never issued: nothing to do
            book = commands.lock(conn, row)
            command = commands.settle(conn, confirmation)
            if command is None:
                continue
            at = confirmation.at
            events.append(
                domain_events.CommandConfirmed(
                    at=at, connection=command.service_no, command=command.action, id=command.id
                )
            )
            if command.action == commands.DISCONNECT:
                follow_up += _disconnected(ctx, conn, command, book, at, events)
            else:
                _reconnected(ctx, conn, command, book, at, events)
    return follow_up


def _disconnected(
    ctx: Context,
    conn: Connection,
    command: commands.CommandRow,
    book: postings.Book,
    at: dt.datetime,
    events: Events,
) -> list[str]:
    target = connections.get(conn, command.service_no)
    if target.state is not connection.State.ACTIVE:
        return []  # terminated meanwhile (its commands were cancelled): nothing to change
    _set_state(
        conn,
        target,
        connection.State.DISCONNECTED,
        relay="open",
        reason="balance below emergency credit",
        command_id=command.id,
        at=at,
        events=events,
    )
    if book.wallet > 0:
        # A recharge landed while the command was with the HES: put the supply back at once, and
        # measure (and escalate) from that payment, not from now.
        r, h = schema.recharges, schema.hes_commands
        issued = conn.execute(sa.select(h.c.created_at).where(h.c.id == command.id)).scalar_one()
        paid_at = conn.execute(
            sa.select(sa.func.min(r.c.paid_at)).where(
                r.c.service_no == target.service_no, r.c.recorded_at >= issued
            )
        ).scalar()
        return [_reconnect(conn, target, paid_at=paid_at, now=at)]
    needed = reconnection.amount_needed(wallet_paise=book.wallet, dues_paise=book.dues, rules=ctx.policy)
    message = notifications.Message(
        target.service_no,
        target.language.value,
        "disconnected",
        {"balance": book.wallet, "amount_needed": needed},
    )
    balance.notify(conn, [message], now=at, events=events)
    return []


def _reconnected(
    ctx: Context,
    conn: Connection,
    command: commands.CommandRow,
    book: postings.Book,
    at: dt.datetime,
    events: Events,
) -> None:
    target = connections.get(conn, command.service_no)
    if target.state is not connection.State.DISCONNECTED:
        return  # terminated meanwhile, or never cut: nothing to change
    _set_state(
        conn,
        target,
        connection.State.ACTIVE,
        relay="closed",
        reason="recharged",
        command_id=command.id,
        at=at,
        events=events,
    )
    complaints.resolve_open(
        conn, service_no=target.service_no, resolution="relay_closed", now=at, events=events
    )
    message = notifications.Message(
        target.service_no, target.language.value, "reconnected", {"balance": book.wallet}
    )
    balance.notify(conn, [message], now=at, events=events)


def _set_state(
    conn: Connection,
    target: connections.ConnectionRow,
    new: connection.State,
    *,
    relay: str,
    reason: str,
    command_id: str | None,
    at: dt.datetime,
    events: Events,
) -> None:
    c, m = schema.connections, schema.meters
    conn.execute(
        sa.update(c).where(c.c.service_no == target.service_no).values(state=new.value, updated_at=at)
    )
    conn.execute(sa.update(m).where(m.c.service_no == target.service_no).values(relay=relay))
    conn.execute(
        sa.insert(schema.connection_events),
        {
            "service_no": target.service_no,
            "from_state": target.state.value,
            "to_state": new.value,
            "at": at,
            "reason": reason,
            "command_id": command_id,
        },
    )
    events.append(
        domain_events.StateChanged(
            at=at, connection=target.service_no, before=target.state.value, after=new.value
        )
    )


@dataclasses.dataclass(frozen=True)
class Recharged:
    """A connection just recharged, with its money locked: its wallet after the recharge, and where
    what follows is told (its replay lines)."""

    target: connections.ConnectionRow
    wallet: int
    dues: int  # pending dues left after the recharge
    paid_at: dt.datetime
    events: Events


def after_recharges(
    ctx: Context, conn: Connection, recharged: Sequence[Recharged], *, now: dt.datetime
) -> list[str | None]:
    """After recharges on many connections (each at most once): one query finds the pending
    disconnections among them; only connections with something to do cost more statements."""
    live = [r.target.service_no for r in recharged if r.target.state is not connection.State.DISCONNECTED]
    pending = commands.open_commands(conn, service_nos=live, action=commands.DISCONNECT, status="pending")
    return [
        _after_recharge(ctx, conn, r, pending=pending.get(r.target.service_no), now=now) for r in recharged
    ]


def _after_recharge(
    ctx: Context, conn: Connection, recharged: Recharged, *, pending: str | None, now: dt.datetime
) -> str | None:
    target, wallet, events = recharged.target, recharged.wallet, recharged.events
    if target.state is connection.State.DISCONNECTED:
        if wallet > 0:
            waiting = commands.open_command(conn, service_no=target.service_no, action=commands.RECONNECT)
            if waiting is None:
                return _reconnect(conn, target, paid_at=recharged.paid_at, now=now)
            commands.postpone(conn, command_id=waiting, until=now, only_pending=True)  # no more back-off
            return waiting
        needed = reconnection.amount_needed(wallet_paise=wallet, dues_paise=recharged.dues, rules=ctx.policy)
        message = notifications.Message(
            target.service_no,
            target.language.value,
            "reconnect_amount_needed",
            {"balance": wallet, "amount_needed": needed},
        )
        balance.notify(conn, [message], now=now, events=events)
        events.append(
            domain_events.ReconnectAmountNeeded(
                at=now, connection=target.service_no, balance=wallet, amount_needed=needed
            )
        )
        return None
    # The state row is read only when there is a command to call off (rare), not on every recharge.
    if pending is not None and _state_row(conn, target.service_no).disconnect_due_at is None:
        # Not yet sent: call it off. One already with the HES is answered when it is confirmed.
        commands.cancel(conn, command_id=pending)
        events.append(
            domain_events.CommandCancelled(
                at=now,
                connection=target.service_no,
                command=commands.DISCONNECT,
                id=pending,
                reason="recharged",
            )
        )
    return None


def _reconnect(
    conn: Connection, target: connections.ConnectionRow, *, paid_at: dt.datetime | None, now: dt.datetime
) -> str:
    return commands.issue(
        conn,
        service_no=target.service_no,
        meter_serial=target.meter_serial,
        action=commands.RECONNECT,
        reason="recharged",
        now=now,
        paid_at=paid_at,
    )


def escalate(ctx: Context, *, now: dt.datetime, events: Events) -> None:
    """Reconnections not confirmed within 15 minutes of the payment: open a complaint (source
    auto) once per command, and send the command again at once."""
    h = schema.hes_commands
    limit = dt.timedelta(minutes=ctx.policy.reconnection_minutes)
    with ctx.store.write() as conn:
        late = conn.execute(
            sa.select(h).where(
                h.c.command == commands.RECONNECT,
                h.c.status.in_(commands.OPEN_STATUSES),
                h.c.paid_at.is_not(None),
                h.c.paid_at <= now - limit,
            )
        ).all()
        for row in late:
            ref = f"AUTO-{row.id}"
            if conn.execute(sa.select(schema.complaints.c.id).where(schema.complaints.c.ref == ref)).first():
                continue
            complaints.open_complaint(
                ctx,
                conn,
                service_no=row.service_no,
                kind="reconnection",
                ref=ref,
                source="auto",
                now=now,
                events=events,
            )
            conn.execute(sa.update(h).where(h.c.id == row.id).values(status="pending", next_attempt_at=now))


def next_escalation_at(conn: Connection, rules_minutes: int) -> dt.datetime | None:
    h, c = schema.hes_commands, schema.complaints
    earliest = conn.execute(
        sa.select(sa.func.min(h.c.paid_at)).where(
            h.c.command == commands.RECONNECT,
            h.c.status.in_(commands.OPEN_STATUSES),
            h.c.paid_at.is_not(None),
            ~sa.exists().where(c.c.ref == sa.literal("AUTO-") + h.c.id),
        )
    ).scalar()
    return None if earliest is None else earliest + dt.timedelta(minutes=rules_minutes)


def _state_row(conn: Connection, service_no: str) -> Any:
    s = schema.prepaid_state
    return conn.execute(sa.select(s).where(s.c.service_no == service_no)).one()
