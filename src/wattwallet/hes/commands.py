"""Disconnect and reconnect commands: issued, sent (with retries and backoff), confirmed.

A connection is disconnected or reconnected only when the HES confirms; until then the command is
tracked here and staff can see the ones that keep failing. A confirmation for a command that was
superseded or already settled changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.hes import adapter
from wattwallet.ledger import postings
from wattwallet.store import schema

DISCONNECT, RECONNECT = "disconnect", "reconnect"


class Status(enum.StrEnum):
    """A command's life (hes_commands.status, checked by the database)."""

    PENDING = "pending"  # to be sent, or sent again after a failure
    SENT = "sent"  # with the HES, awaiting its confirmation
    CONFIRMED = "confirmed"
    FAILED = "failed"  # given up (disconnects only; reconnects never give up)
    CANCELLED = "cancelled"  # no longer needed before it was sent
    SUPERSEDED = "superseded"  # the opposite action was asked for since


OPEN_STATUSES = (Status.PENDING, Status.SENT)


@dataclasses.dataclass(frozen=True)
class CommandRow:
    id: str
    service_no: str
    meter_serial: str
    action: str
    status: str
    attempts: int
    paid_at: dt.datetime | None


def issue(
    conn: Connection,
    *,
    service_no: str,
    meter_serial: str,
    action: str,
    reason: str,
    now: dt.datetime,
    paid_at: dt.datetime | None = None,
) -> str:
    """Record a command to send now. Call with the connection's money locked. An open command
    for the opposite action is superseded: if its confirmation comes later, it changes nothing."""
    h = schema.hes_commands
    conn.execute(
        sa.update(h)
        .where(h.c.service_no == service_no, h.c.status.in_(OPEN_STATUSES), h.c.command != action)
        .values(status=Status.SUPERSEDED, next_attempt_at=None)
    )
    count = conn.execute(
        sa.select(sa.func.count()).select_from(h).where(h.c.service_no == service_no)
    ).scalar_one()
    command_id = f"{action[:3].upper()}-{service_no}-{count + 1}"
    conn.execute(
        sa.insert(h),
        {
            "id": command_id,
            "service_no": service_no,
            "meter_serial": meter_serial,
            "command": action,
            "status": Status.PENDING,
            "reason": reason,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "paid_at": paid_at,
        },
    )
    return command_id


def open_command(conn: Connection, *, service_no: str, action: str, status: str | None = None) -> str | None:
    """The connection's open command for `action` (pending or sent; or only `status`), if any."""
    return open_commands(conn, service_nos=[service_no], action=action, status=status).get(service_no)


# Built once: every recharge asks whether a disconnection is pending.
_OPEN = sa.select(schema.hes_commands.c.service_no, schema.hes_commands.c.id).where(
    schema.hes_commands.c.service_no.in_(sa.bindparam("service_nos", expanding=True)),
    schema.hes_commands.c.command == sa.bindparam("action"),
    schema.hes_commands.c.status.in_(sa.bindparam("statuses", expanding=True)),
)


def open_commands(
    conn: Connection, *, service_nos: Sequence[str], action: str, status: str | None = None
) -> dict[str, str]:
    """Each connection's open command for `action` (pending or sent; or only `status`), where there
    is one, by service number (one query for a batch of recharges)."""
    if not service_nos:
        return {}
    statuses = [status] if status else list(OPEN_STATUSES)
    rows = conn.execute(_OPEN, {"service_nos": list(service_nos), "action": action, "statuses": statuses})
    return {row.service_no: row.id for row in rows}


def cancel(conn: Connection, *, command_id: str) -> None:
    h = schema.hes_commands
    conn.execute(
        sa.update(h)
        .where(h.c.id == command_id, h.c.status == Status.PENDING)
        .values(status=Status.CANCELLED, next_attempt_at=None)
    )


def next_attempt_at(conn: Connection) -> dt.datetime | None:
    h = schema.hes_commands
    value = conn.execute(
        sa.select(sa.func.min(h.c.next_attempt_at)).where(h.c.status == Status.PENDING)
    ).scalar()
    return value if isinstance(value, dt.datetime) or value is None else None


def due(conn: Connection, *, now: dt.datetime, only: str | None = None) -> list[CommandRow]:
    h = schema.hes_commands
    query = (
        sa.select(h)
        .where(h.c.status == Status.PENDING, h.c.next_attempt_at <= now)
        .order_by(h.c.next_attempt_at, h.c.id)
    )
    if only is not None:
        query = query.where(h.c.id == only)
    return [
        CommandRow(r.id, r.service_no, r.meter_serial, r.command, r.status, r.attempts, r.paid_at)
        for r in conn.execute(query)
    ]


def record_send(
    conn: Connection,
    command: CommandRow,
    *,
    ok: bool,
    error: str,
    now: dt.datetime,
    retry_minutes: tuple[int, ...],
) -> str:
    """Note one attempt. Returns the new status: sent, pending (to retry) or failed (given up)."""
    h = schema.hes_commands
    attempts = command.attempts + 1
    if ok:
        values: dict[str, Any] = {
            "status": Status.SENT,
            "sent_at": now,
            "attempts": attempts,
            "next_attempt_at": None,
        }
    elif attempts <= len(retry_minutes) or command.action == RECONNECT:
        # Reconnection is never given up: the consumer has paid. Disconnection waits for staff.
        wait = retry_minutes[min(attempts, len(retry_minutes)) - 1]
        values = {
            "attempts": attempts,
            "last_error": error,
            "next_attempt_at": now + dt.timedelta(minutes=wait),
        }
    else:
        values = {"status": Status.FAILED, "attempts": attempts, "last_error": error, "next_attempt_at": None}
    conn.execute(sa.update(h).where(h.c.id == command.id, h.c.status == Status.PENDING).values(**values))
    return str(values.get("status", "pending"))


def postpone(conn: Connection, *, command_id: str, until: dt.datetime, only_pending: bool = False) -> None:
    h = schema.hes_commands
    query = sa.update(h).where(h.c.id == command_id)
    if only_pending:
        query = query.where(h.c.status == Status.PENDING)
    conn.execute(query.values(next_attempt_at=until))


def settle(conn: Connection, confirmation: adapter.Confirmation) -> CommandRow | None:
    """Mark a command confirmed (or failed back to retry). Returns it when it takes effect; None for a
    late, repeated or superseded confirmation, which changes nothing."""
    h = schema.hes_commands
    row = conn.execute(sa.select(h).where(h.c.id == confirmation.command_id)).first()
    if row is None or row.status != Status.SENT:
        return None
    if not confirmation.ok:
        conn.execute(
            sa.update(h)
            .where(h.c.id == row.id)
            .values(
                status=Status.PENDING,
                next_attempt_at=confirmation.at,
                last_error=confirmation.detail or "refused",
            )
        )
        return None
    conn.execute(
        sa.update(h).where(h.c.id == row.id).values(status=Status.CONFIRMED, confirmed_at=confirmation.at)
    )
    return CommandRow(
        row.id, row.service_no, row.meter_serial, row.command, "confirmed", row.attempts, row.paid_at
    )


def lock(conn: Connection, service_no: str) -> postings.Book:
    """Commands change a connection's state: serialise with its money, as recharges do."""
    return postings.lock(conn, service_no=service_no)


def failures(
    ctx: Context, *, now: dt.datetime, unconfirmed_after: dt.timedelta = dt.timedelta(minutes=15)
) -> list[dict[str, Any]]:
    """Commands that failed, keep failing, or were sent and never confirmed, oldest first, for staff."""
    h = schema.hes_commands
    with ctx.store.read() as conn:
        rows = conn.execute(
            sa.select(h)
            .where(
                sa.or_(
                    h.c.status == Status.FAILED,
                    sa.and_(h.c.status == Status.PENDING, h.c.attempts > 0),
                    sa.and_(h.c.status == Status.SENT, h.c.sent_at < now - unconfirmed_after),
                )
            )
            .order_by(h.c.created_at, h.c.id)
        ).all()
    return [dict(row._mapping) for row in rows]


def claim(conn: Connection, *, command_id: str, now: dt.datetime) -> CommandRow | None:
    """Re-read a due command under a row lock: None if another dispatcher took it meanwhile."""
    h = schema.hes_commands
    query = sa.select(h).where(h.c.id == command_id, h.c.status == Status.PENDING, h.c.next_attempt_at <= now)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    r = conn.execute(query).first()
    return (
        None
        if r is None
        else CommandRow(r.id, r.service_no, r.meter_serial, r.command, r.status, r.attempts, r.paid_at)
    )
