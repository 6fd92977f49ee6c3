"""Staff views of work waiting on the rules: read-only, they change no balance or state.

The disconnection queue: every prepaid connection in service that has fallen due for
disconnection (balance below its emergency credit), with the earliest instant the rules allow the
supply to be cut (DOMAIN.md §3), whether suspect consumption holds it back, and the disconnect
command already under way, if any.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from wattwallet.context import Context
from wattwallet.domain import disconnection
from wattwallet.hes import commands
from wattwallet.ledger import accounts
from wattwallet.lifecycle import holds
from wattwallet.store import calendar_repo, schema


@dataclasses.dataclass(frozen=True)
class QueueEntry:
    service_no: str
    balance: int  # wallet, paise
    emergency_credit: int  # paise of credit below zero granted at the zero-balance alert
    due_at: dt.datetime  # when the balance fell below the emergency credit
    zero_alert_at: dt.datetime | None
    # The first instant, at or after `now`, at which the rules allow the cut: inside a window on a
    # working day, no sooner than the grace period after the zero-balance alert.
    earliest: dt.datetime
    on_hold: bool  # open held consumption: no disconnection until staff review it
    command_id: str | None  # an open (pending or sent) disconnect command
    command_status: str | None

    def ready(self, now: dt.datetime) -> bool:
        """The window job would issue (or has issued) the disconnect at `now`."""
        return not self.on_hold and self.earliest <= now


def disconnection_queue(ctx: Context, *, now: dt.datetime) -> list[QueueEntry]:
    """Connections due for disconnection, soonest first (then by service number)."""
    s, c, h, held = (
        schema.prepaid_state,
        schema.connections,
        schema.hes_commands,
        schema.held_consumption,
    )
    a = schema.ledger_accounts
    on_hold = (
        sa.exists()
        .where(held.c.service_no == s.c.service_no, held.c.status == holds.Status.OPEN)
        .label("on_hold")
    )
    query = (
        sa.select(
            s.c.service_no,
            s.c.emergency_credit_paise,
            s.c.disconnect_due_at,
            s.c.zero_alert_at,
            on_hold,
        )
        .select_from(s.join(c, c.c.service_no == s.c.service_no))
        .where(
            s.c.disconnect_due_at.is_not(None),
            c.c.billing_mode == "prepaid",
            c.c.state == "active",
        )
        .order_by(s.c.service_no)
    )
    # Loading the calendar seeds any year never seeded: that needs a write transaction, though
    # nothing else is written.
    with ctx.store.write() as conn:
        days = calendar_repo.around(conn, at=now)
        rows = conn.execute(query).all()
        service_nos = [row.service_no for row in rows]
        balances: dict[str, int] = {}
        open_commands: dict[str, tuple[str, str]] = {}
        if rows:
            codes = [accounts.wallet(service_no) for service_no in service_nos]
            balances = {
                row.code: int(row.balance)
                for row in conn.execute(sa.select(a.c.code, a.c.balance).where(a.c.code.in_(codes)))
            }
            for command in conn.execute(
                sa.select(h.c.id, h.c.service_no, h.c.status)
                .where(
                    h.c.command == commands.DISCONNECT,
                    h.c.status.in_(commands.OPEN_STATUSES),
                    h.c.service_no.in_(service_nos),
                )
                .order_by(h.c.created_at, h.c.id)
            ):
                open_commands[command.service_no] = (command.id, command.status)
    entries = []
    for row in rows:
        due_at: dt.datetime = row.disconnect_due_at
        # The grace period runs from the zero-balance alert; a row without one (it should not
        # happen: only the alert grants the credit that makes a connection due) counts from due.
        zero_alert_at: dt.datetime | None = row.zero_alert_at
        earliest = disconnection.earliest_from_now(
            zero_alert_at=zero_alert_at or due_at, due_at=due_at, now=now, days=days, rules=ctx.policy
        )
        command_id, command_status = open_commands.get(row.service_no, (None, None))
        entries.append(
            QueueEntry(
                service_no=row.service_no,
                balance=balances[accounts.wallet(row.service_no)],
                emergency_credit=int(row.emergency_credit_paise),
                due_at=due_at,
                zero_alert_at=zero_alert_at,
                earliest=earliest,
                on_hold=bool(row.on_hold),
                command_id=command_id,
                command_status=command_status,
            )
        )
    entries.sort(key=lambda entry: (entry.earliest, entry.service_no))
    return entries
