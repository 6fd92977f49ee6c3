"""What follows a change of balance: alerts sent or re-armed, emergency credit, a disconnection
falling due or cleared. The daily cycle applies it in bulk; recharges and short-bill deductions
one connection at a time through `after_change`."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import alerts, disconnection, policy, working_days
from wattwallet.domain import events as domain_events
from wattwallet.messaging import outbox as notifications
from wattwallet.store import bulk, calendar_repo, schema


@dataclasses.dataclass
class Consequences:
    alert_rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    events: domain_events.Log = dataclasses.field(default_factory=list)
    messages: list[notifications.Message] = dataclasses.field(default_factory=list)


def consequences(
    outcome: alerts.Outcome,
    *,
    service_no: str,
    language: str,
    balance: int,
    now: dt.datetime,
    days: working_days.WorkingDays | Callable[[], working_days.WorkingDays],
    rules: policy.Policy,
) -> Consequences:
    """The rows, replay lines and messages an alerts outcome calls for. `days` is the working-day
    calendar (or what loads it, called only when needed), to tell a consumer who falls due the
    earliest time the supply may be cut."""
    result = Consequences()
    for level in outcome.alerts:
        result.alert_rows.append(
            {
                "service_no": service_no,
                "kind": level.kind,
                "threshold": level.threshold,
                "balance": balance,
                "sent_at": now,
            }
        )
        result.events.append(
            domain_events.AlertSent(at=now, connection=service_no, kind=level.kind, balance=balance)
        )
        figures: dict[str, object] = {"balance": balance}
        if level.days:
            figures["days"] = level.days
        result.messages.append(notifications.Message(service_no, language, level.kind, figures))
    if outcome.emergency_credit_granted is not None:
        amount = outcome.emergency_credit_granted
        result.events.append(
            domain_events.EmergencyCreditGranted(at=now, connection=service_no, amount=amount)
        )
        result.messages.append(
            notifications.Message(service_no, language, "emergency_credit", {"amount": amount})
        )
    if outcome.became_due:
        state = outcome.state
        assert state.zero_alert_at is not None and state.disconnect_due_at is not None
        if callable(days):
            days = days()
        earliest = disconnection.earliest_disconnection(
            state.zero_alert_at, state.disconnect_due_at, days, rules
        )
        result.events.append(
            domain_events.DisconnectionDue(at=now, connection=service_no, balance=balance, earliest=earliest)
        )
        result.messages.append(
            notifications.Message(
                service_no, language, "disconnection_scheduled", {"balance": balance, "earliest": earliest}
            )
        )
    return result


def state_values(state: alerts.State) -> dict[str, Any]:
    return {
        "alerts_sent": state.sent,
        "zero_alert_at": state.zero_alert_at,
        "emergency_credit_paise": state.emergency_credit,
        "disconnect_due_at": state.disconnect_due_at,
    }


def state_of(row: Any) -> alerts.State:
    return alerts.State(row.alerts_sent, row.zero_alert_at, row.emergency_credit_paise, row.disconnect_due_at)


# Built once: on the recharge path, building a statement costs about as much Python as running it.
_STATES = sa.select(schema.prepaid_state).where(
    schema.prepaid_state.c.service_no.in_(sa.bindparam("service_nos", expanding=True))
)
_STATE_COLUMNS = ("alerts_sent", "zero_alert_at", "emergency_credit_paise", "disconnect_due_at", "updated_at")


@dataclasses.dataclass(frozen=True)
class Change:
    """A connection's wallet balance after a change, with its money locked."""

    service_no: str
    language: str
    balance: int


def after_change(
    ctx: Context,
    conn: Connection,
    *,
    service_no: str,
    language: str,
    balance: int,
    now: dt.datetime,
    events: domain_events.Log,
) -> alerts.Outcome:
    """Call with the connection's money locked. Appends what happened to `events`."""
    [(outcome, follow)] = after_changes(ctx, conn, [Change(service_no, language, balance)], now=now)
    events.extend(follow.events)
    notify(conn, follow.messages, now=now, events=events)
    return outcome


def after_changes(
    ctx: Context, conn: Connection, changes: Sequence[Change], *, now: dt.datetime
) -> list[tuple[alerts.Outcome, Consequences]]:
    """`after_change` for many connections (each at most once) in a few statements: their alert
    states read in one, the changed ones written in one, their alert rows in one. The messages are
    the caller's to send, with the replay lines of each connection, in order."""
    if not changes:
        return []
    rows = {
        row.service_no: row for row in conn.execute(_STATES, {"service_nos": [c.service_no for c in changes]})
    }
    calendar_cache: list[working_days.WorkingDays] = []

    def days() -> working_days.WorkingDays:
        # Only a balance that falls due needs the calendar: a recharge (almost) never does.
        if not calendar_cache:
            calendar_cache.append(calendar_repo.around(conn, at=now))
        return calendar_cache[0]

    results, updates, alert_rows = [], [], []
    for change in changes:
        row = rows[change.service_no]
        before = state_of(row)
        outcome = alerts.evaluate(
            balance=change.balance, adc=row.adc_paise, state=before, now=now, rules=ctx.policy
        )
        if outcome.state != before:
            values = state_values(outcome.state)
            updates.append((*(values[c] for c in _STATE_COLUMNS[:-1]), now, change.service_no))
        follow = consequences(
            outcome,
            service_no=change.service_no,
            language=change.language,
            balance=change.balance,
            now=now,
            days=days,
            rules=ctx.policy,
        )
        alert_rows += follow.alert_rows
        results.append((outcome, follow))
    bulk.update(conn, schema.prepaid_state, "service_no", _STATE_COLUMNS, updates)
    if alert_rows:
        conn.execute(sa.insert(schema.alerts), alert_rows)
    return results


def notify(
    conn: Connection, messages: list[notifications.Message], *, now: dt.datetime, events: domain_events.Log
) -> None:
    rendered = [(m, m.render()) for m in messages]
    notifications.store(conn, rendered, now=now)
    events.extend(notifications.event(m, r, now=now) for m, r in rendered)
