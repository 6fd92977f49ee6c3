"""The rules a simulation run checks, again and again while it runs, from what the database holds
and what the world outside the engine saw (the head end's sends, the gateways' receipts, the
money the payers handed over). Each check returns the violations it found, as readable lines.

The statutory numbers (the 10:00-13:00 window, 24 hours' grace, 15 minutes to reconnect) are the
rule book's defaults (`policy.Policy()`), not the run's settings: a setting that drifted from the
regulation is a violation too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.domain import alerts as alert_rules
from wattwallet.domain import clock, policy
from wattwallet.ledger import accounts
from wattwallet.ledger import verify as ledger_verify
from wattwallet.simulation import edges
from wattwallet.store import calendar_repo, schema

STATUTE = policy.Policy()
THREE_ALERTS = ("low_balance_3_days", "low_balance_2_days", alert_rules.ZERO_BALANCE)
SLACK = dt.timedelta(minutes=2)  # the escalation job's own tick after the 15 minutes


@dataclasses.dataclass
class Money:
    """What the world outside handed over: cash by (channel, reference), online by intent id."""

    cash: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)
    online: dict[str, int] = dataclasses.field(default_factory=dict)  # paid at the gateway
    acknowledged: set[str] = dataclasses.field(default_factory=set)  # webhook answered 2xx


def ledger(conn: Connection) -> list[str]:
    report = ledger_verify.verify(conn)
    return [f"ledger verify: {d}" for d in report.discrepancies[:5]] if not report.ok else []


def _signed_by_kind(conn: Connection) -> dict[str, int]:
    """Each kind of account's total from the lines themselves, debit positive."""
    a, line = schema.ledger_accounts, schema.ledger_lines
    rows = conn.execute(
        sa.select(a.c.kind, sa.func.sum(line.c.amount))
        .select_from(line.join(a, a.c.code == line.c.account_code))
        .group_by(a.c.kind)
    )
    return {kind: int(total) for kind, total in rows}


def money(conn: Connection, outside: Money) -> list[str]:
    """Everything paid in = wallets + dues + revenue + refunds, to the paisa; each payment credited
    (or put in the refund queue) exactly once; nothing credited that nobody paid."""
    found: list[str] = []
    r, f = schema.recharges, schema.refunds
    recharged = {
        (row.channel, row.reference): int(row.amount)
        for row in conn.execute(sa.select(r.c.channel, r.c.reference, r.c.amount))
    }
    refunded = {row.intent_id: int(row.amount) for row in conn.execute(sa.select(f.c.intent_id, f.c.amount))}
    by_kind = _signed_by_kind(conn)
    clearing = by_kind.get(accounts.Kind.CLEARING.value, 0)
    total_in = sum(recharged.values())
    if clearing != total_in:
        found.append(f"money: clearing accounts hold {clearing} paise, recharges total {total_in}")
    # Paid in = wallets + dues + revenue (duty, levies) + refunds + what was brought in at opening.
    if sum(by_kind.values()) != 0:
        found.append(f"money: paid in {clearing} paise is not wallets + dues + revenue + refunds: {by_kind}")
    online_refs = {
        ref: amount for (channel, ref), amount in recharged.items() if channel in ("app", "portal")
    }
    for key, amount in recharged.items():
        channel, reference = key
        paid = outside.online.get(reference) if channel in ("app", "portal") else outside.cash.get(key)
        if paid is None:
            found.append(f"money: recharge {channel}/{reference} of {amount} paise that nobody paid")
        elif paid != amount:
            found.append(f"money: recharge {channel}/{reference} credited {amount}, paid {paid}")
    for key, amount in outside.cash.items():
        if key not in recharged:
            found.append(f"money: cash {key} of {amount} paise taken and not credited")
    for intent_id, amount in outside.online.items():
        times = (intent_id in online_refs) + (intent_id in refunded)
        if times > 1:
            found.append(f"money: payment {intent_id} both credited and queued for refund")
        elif times == 0 and intent_id in outside.acknowledged:
            found.append(
                f"money: payment {intent_id} of {amount} paise acknowledged, neither credited nor refunded"
            )
    for intent_id in refunded:
        if intent_id not in outside.online:
            found.append(f"money: refund queued for {intent_id}, which nobody paid")
    return found


def disconnections(conn: Connection, sends: Iterable[edges.Send]) -> list[str]:
    """No disconnect sent outside 10:00-13:00 IST on a working day; none without the three alerts,
    the emergency credit and 24 hours since the zero-balance alert; none while consumption is held."""
    found: list[str] = []
    a, n, held = schema.alerts, schema.notifications, schema.held_consumption
    days = None
    for send in sends:
        if send.action != "disconnect":
            continue
        at, sn = send.at, send.service_no
        if days is None or not days.covers(clock.ist_date(at)):
            days = calendar_repo.around(conn, at=at)
        where = f"disconnect {send.command_id} of {sn} at {clock.ist_iso(at)}"
        local = at.astimezone(clock.IST)  # worked out here, not by the engine's own window code
        window = STATUTE.disconnection_window_start <= local.time() < STATUTE.disconnection_window_end
        if not (window and days.is_working(local.date())):
            found.append(f"{where}: outside 10:00-13:00 on a working day")
        sent = {
            kind: latest
            for kind, latest in conn.execute(
                sa.select(a.c.kind, sa.func.max(a.c.sent_at))
                .where(a.c.service_no == sn, a.c.sent_at <= at)
                .group_by(a.c.kind)
            )
        }
        missing = [kind for kind in THREE_ALERTS if kind not in sent]
        if missing:
            found.append(f"{where}: without the alerts {', '.join(missing)}")
        zero = sent.get(alert_rules.ZERO_BALANCE)
        if zero is not None and at - zero < dt.timedelta(hours=STATUTE.disconnection_grace_hours):
            found.append(f"{where}: only {at - zero} after the zero-balance alert")
        credit = conn.execute(
            sa.select(sa.func.count()).where(
                n.c.service_no == sn, n.c.kind == "emergency_credit", n.c.created_at <= at
            )
        ).scalar_one()
        if not credit:
            found.append(f"{where}: the emergency credit was never offered")
        holding = conn.execute(
            sa.select(sa.func.count()).where(
                held.c.service_no == sn,
                held.c.created_at <= at,
                sa.or_(held.c.reviewed_at.is_(None), held.c.reviewed_at > at),
            )
        ).scalar_one()
        if holding:
            found.append(f"{where}: while consumption is held for review")
    return found


def reconnections(
    conn: Connection, *, head_end: edges.FaultyHeadEnd, now: dt.datetime, checked: set[int]
) -> list[str]:
    """A recharge that lifts a disconnected connection above zero issues a reconnect at once; with
    a healthy head end the relay is closed within 15 minutes of the payment, otherwise a complaint
    has been opened by itself. Recharges already judged (`checked`) are not looked at again."""
    found: list[str] = []
    r, e, h, c = schema.recharges, schema.connection_events, schema.hes_commands, schema.complaints
    limit = dt.timedelta(minutes=STATUTE.reconnection_minutes)
    rows = conn.execute(
        sa.select(r.c.id, r.c.service_no, r.c.paid_at, r.c.recorded_at, r.c.balance_after, r.c.reference)
        .where(r.c.balance_after > 0, r.c.recorded_at <= now - limit - SLACK)
        .order_by(r.c.id)
    ).all()
    for row in rows:
        if row.id in checked:
            continue
        checked.add(row.id)
        state = conn.execute(
            sa.select(e.c.to_state)
            .where(e.c.service_no == row.service_no, e.c.at < row.recorded_at)
            .order_by(e.c.at.desc(), e.c.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if state != "disconnected":
            continue
        where = f"recharge {row.reference} of {row.service_no} paid {clock.ist_iso(row.paid_at)}"
        command = conn.execute(
            sa.select(h.c.id, h.c.created_at)
            .where(
                h.c.service_no == row.service_no,
                h.c.command == "reconnect",
                h.c.created_at >= row.recorded_at,
            )
            .order_by(h.c.created_at)
            .limit(1)
        ).first()
        if command is None or command.created_at - row.recorded_at > dt.timedelta(seconds=1):
            # Another recharge's reconnect may already be on its way: then this one needs none.
            earlier = conn.execute(
                sa.select(sa.func.count()).where(
                    h.c.service_no == row.service_no,
                    h.c.command == "reconnect",
                    h.c.created_at <= row.recorded_at,
                    sa.or_(h.c.confirmed_at.is_(None), h.c.confirmed_at >= row.recorded_at),
                )
            ).scalar_one()
            if not earlier:
                found.append(f"{where}: lifted a disconnected connection above zero, no reconnect at once")
                continue
        closed_at = conn.execute(
            sa.select(sa.func.min(e.c.at)).where(
                e.c.service_no == row.service_no, e.c.to_state == "active", e.c.at >= row.recorded_at
            )
        ).scalar_one()
        deadline = max(row.paid_at, row.recorded_at - limit) + limit
        if closed_at is not None and closed_at <= deadline:
            continue
        # The complaint may be an earlier recharge's, for the same reconnect: still open then.
        complaint = conn.execute(
            sa.select(sa.func.min(c.c.opened_at)).where(
                c.c.service_no == row.service_no,
                c.c.source == "auto",
                sa.or_(
                    c.c.opened_at >= row.paid_at, c.c.resolved_at.is_(None), c.c.resolved_at >= row.paid_at
                ),
            )
        ).scalar_one()
        if complaint is not None and complaint <= max(deadline, row.recorded_at) + SLACK:
            continue
        ids = conn.execute(
            sa.select(h.c.id).where(
                h.c.service_no == row.service_no,
                h.c.command == "reconnect",
                h.c.created_at >= row.recorded_at,
            )
        ).scalars()
        healthy = not any(i in head_end.faulted for i in ids)
        closed = "never" if closed_at is None else clock.ist_iso(closed_at)
        found.append(
            f"{where}: relay closed {closed} (head end {'healthy' if healthy else 'faulty'}), "
            "and no complaint opened by itself in time"
        )
    return found


def messages(conn: Connection, received: Mapping[tuple[str, str], int]) -> list[str]:
    """After the gateways have recovered: every message sent exactly once on SMS (statutory: SMS
    always), the gateway holding it under one reference."""
    found: list[str] = []
    d, n = schema.deliveries, schema.notifications
    rows = conn.execute(
        sa.select(n.c.id, n.c.kind, n.c.service_no, d.c.id.label("delivery"), d.c.status)
        .select_from(n.outerjoin(d, sa.and_(d.c.notification_id == n.c.id, d.c.channel == "sms")))
        .order_by(n.c.id)
    ).all()
    for row in rows:
        where = f"{row.kind} notification {row.id} to {row.service_no}"
        if row.delivery is None:
            found.append(f"{where}: no SMS delivery")
            continue
        times = received.get(("sms", f"wattwallet-delivery-{row.delivery}"), 0)
        if row.status != "sent" or times < 1:
            found.append(f"{where}: SMS {row.status}, at the gateway {times} time(s)")
    return found


def fingerprint(conn: Connection) -> dict[str, Any]:
    """What a job's re-run must leave as it was: the money, the messages, the commands, the states."""
    t = schema
    counted = (
        t.ledger_postings, t.recharges, t.daily_deductions, t.alerts, t.notifications, t.deliveries,
        t.hes_commands, t.connection_events, t.complaints, t.held_consumption, t.refunds,
        t.terminations, t.work_orders, t.bills,
    )  # fmt: skip
    found: dict[str, Any] = {
        table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        for table in counted
    }
    found["balances"] = sorted(
        (row.code, int(row.balance or 0))
        for row in conn.execute(sa.select(t.ledger_accounts.c.code, t.ledger_accounts.c.balance))
    )
    found["states"] = sorted(
        (row.service_no, row.state)
        for row in conn.execute(sa.select(t.connections.c.service_no, t.connections.c.state))
    )
    found["commands"] = sorted(
        (row.id, row.status) for row in conn.execute(sa.select(t.hes_commands.c.id, t.hes_commands.c.status))
    )
    return found
