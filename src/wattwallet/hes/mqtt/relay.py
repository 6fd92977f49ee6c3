"""Relay reports from the HES, reconciled with what our state says the relay should be.

An active connection's relay should be closed; a disconnected or terminated one's open. A report
that agrees changes nothing (and resolves an open mismatch). A report that is older than the
meter's last one, or than our last change of the connection's state, is stale. One that matches an
open command (the HES is carrying it out) is in transition. Anything else is a mismatch, kept in
relay_mismatches for staff, and put right through the normal command path:

- open while active: a reconnect is issued at once (the consumer is entitled to supply);
- closed while disconnected (manual reconnection, tamper): the connection is active again (it is
  drawing power), so the disconnection window job disconnects it again if it is still due, with
  every check and only inside the window;
- closed while terminated: left to staff (the meter should have been removed).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import connection
from wattwallet.domain import events as domain_events
from wattwallet.hes import commands
from wattwallet.hes.mqtt import protocol, rejects
from wattwallet.store import connections, schema

AGREES, STALE, IN_TRANSITION, MISMATCH, KNOWN = "agrees", "stale", "in_transition", "mismatch", "known"
UNKNOWN_METER = "unknown_meter"
RECONNECT_ISSUED, BACK_TO_WINDOW, STAFF = "reconnect_issued", "back_to_window", "staff"
_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)
_ACTION_TO = {"open": commands.DISCONNECT, "closed": commands.RECONNECT}  # the command that leads there


@dataclasses.dataclass(frozen=True, slots=True)
class Received:
    report: protocol.RelayReport
    topic: str
    payload: str


@dataclasses.dataclass
class Result:
    counts: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    follow_up: list[str] = dataclasses.field(default_factory=list)  # commands to send at once


def expected_relay(state: connection.State) -> str:
    return "closed" if state is connection.State.ACTIVE else "open"


def handle(ctx: Context, batch: Sequence[Received], *, now: dt.datetime, events: domain_events.Log) -> Result:
    """Each report in its own transaction, in arrival order."""
    result = Result()
    for item in batch:
        with ctx.store.write() as conn:
            outcome = _one(conn, item, now=now, events=events, follow_up=result.follow_up)
        if outcome == UNKNOWN_METER:
            result.counts["rejected"] += 1
            result.counts[f"rejected_{UNKNOWN_METER}"] += 1
        else:
            result.counts[f"relay_{outcome}"] += 1
    return result


def _one(
    conn: Connection, item: Received, *, now: dt.datetime, events: domain_events.Log, follow_up: list[str]
) -> str:
    report = item.report
    m, last = schema.meters, schema.meter_relay_reports
    service_no = conn.execute(sa.select(m.c.service_no).where(m.c.serial == report.meter_serial)).scalar()
    if service_no is None:
        reject = rejects.Reject(
            item.topic,
            "relay",
            "unknown_meter",
            f"no meter {report.meter_serial}",
            item.payload,
            None,
            report.meter_serial,
        )
        rejects.add(conn, [reject], now=now)
        return UNKNOWN_METER
    commands.lock(conn, service_no)  # serialise with recharges and commands on this connection
    previous = conn.execute(sa.select(last.c.at).where(last.c.meter_serial == report.meter_serial)).scalar()
    if previous is not None and previous >= report.at:
        return STALE
    values = {"relay": report.relay, "cause": report.cause, "at": report.at, "received_at": now}
    if previous is None:
        conn.execute(sa.insert(last), {"meter_serial": report.meter_serial, **values})
    else:
        conn.execute(sa.update(last).where(last.c.meter_serial == report.meter_serial).values(**values))
    if _last_change(conn, service_no) > report.at:
        return STALE  # our state moved on since the meter said this
    target = connections.get(conn, service_no)
    expected = expected_relay(target.state)
    if report.relay == expected:
        _resolve(conn, service_no, now=now, resolution="relay_agrees")
        return AGREES
    if commands.open_command(conn, service_no=service_no, action=_ACTION_TO[report.relay]) is not None:
        return IN_TRANSITION
    mx = schema.relay_mismatches
    known = conn.execute(
        sa.select(mx.c.id).where(
            mx.c.service_no == service_no, mx.c.resolved_at.is_(None), mx.c.reported_relay == report.relay
        )
    ).first()
    if known is not None:
        return KNOWN  # already on the staff list, and already acted on
    command_id = None
    if target.state is connection.State.ACTIVE:
        command_id = commands.open_command(conn, service_no=service_no, action=commands.RECONNECT)
        if command_id is None:
            command_id = commands.issue(
                conn,
                service_no=service_no,
                meter_serial=target.meter_serial,
                action=commands.RECONNECT,
                reason="relay open while active",
                now=now,
            )
        follow_up.append(command_id)
        action = RECONNECT_ISSUED
    elif target.state is connection.State.DISCONNECTED:
        _back_to_active(conn, target, report, now=now, events=events)
        action = BACK_TO_WINDOW
    else:
        action = STAFF
    conn.execute(
        sa.insert(mx),
        {
            "service_no": service_no,
            "meter_serial": report.meter_serial,
            "reported_relay": report.relay,
            "expected_relay": expected,
            "connection_state": target.state.value,
            "cause": report.cause,
            "reported_at": report.at,
            "detected_at": now,
            "action": action,
            "command_id": command_id,
        },
    )
    events.append(
        domain_events.RelayMismatch(
            at=now,
            connection=service_no,
            reported=report.relay,
            expected=expected,
            cause=report.cause,
            action=action,
        )
    )
    return MISMATCH


def _last_change(conn: Connection, service_no: str) -> dt.datetime:
    """When our idea of the relay last changed: a state change or a confirmed command."""
    e, h = schema.connection_events, schema.hes_commands
    changed = conn.execute(sa.select(sa.func.max(e.c.at)).where(e.c.service_no == service_no)).scalar()
    confirmed = conn.execute(
        sa.select(sa.func.max(h.c.confirmed_at)).where(h.c.service_no == service_no)
    ).scalar()
    return max([v for v in (changed, confirmed) if v is not None], default=_NEVER)


def _back_to_active(
    conn: Connection,
    target: connections.ConnectionRow,
    report: protocol.RelayReport,
    *,
    now: dt.datetime,
    events: domain_events.Log,
) -> None:
    """The relay was closed behind our back: the connection is live again, as services.lifecycle
    records a state change (state, relay, event), so the window job can disconnect it properly."""
    c, m = schema.connections, schema.meters
    conn.execute(
        sa.update(c)
        .where(c.c.service_no == target.service_no)
        .values(state=connection.State.ACTIVE.value, updated_at=now)
    )
    conn.execute(sa.update(m).where(m.c.service_no == target.service_no).values(relay="closed"))
    conn.execute(
        sa.insert(schema.connection_events),
        {
            "service_no": target.service_no,
            "from_state": target.state.value,
            "to_state": connection.State.ACTIVE.value,
            "at": now,
            "reason": f"relay closed outside WattWallet ({report.cause})",
            "command_id": None,
        },
    )
    events.append(
        domain_events.StateChanged(
            at=now,
            connection=target.service_no,
            before=target.state.value,
            after=connection.State.ACTIVE.value,
        )
    )


def _resolve(conn: Connection, service_no: str, *, now: dt.datetime, resolution: str) -> None:
    mx = schema.relay_mismatches
    conn.execute(
        sa.update(mx)
        .where(mx.c.service_no == service_no, mx.c.resolved_at.is_(None))
        .values(resolved_at=now, resolution=resolution)
    )


def settled(ctx: Context, executed: Sequence[tuple[str, str]], *, now: dt.datetime) -> None:
    """Commands confirmed with the relay where our state now expects it: their mismatches are over."""
    if not executed:
        return
    with ctx.store.write() as conn:
        for service_no, position in executed:
            if position == expected_relay(connections.get(conn, service_no).state):
                _resolve(conn, service_no, now=now, resolution="command_confirmed")


def mismatches(ctx: Context, *, open_only: bool = True, limit: int = 200) -> list[dict[str, Any]]:
    """Relay mismatches for staff, newest first (open ones only unless asked)."""
    mx = schema.relay_mismatches
    query = sa.select(mx).order_by(mx.c.detected_at.desc(), mx.c.id.desc()).limit(limit)
    if open_only:
        query = query.where(mx.c.resolved_at.is_(None))
    with ctx.store.read() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
