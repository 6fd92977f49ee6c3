"""Termination (DOMAIN.md §5): disconnected with no recharge for three months.

Counted from the later of the disconnection and the last recharge. The meter-removal work order is
raised, the final balance settled (a debit becomes arrears, a credit a refund due), the wallet
closed, and recharges refused from then on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from wattwallet.context import Context
from wattwallet.domain import clock
from wattwallet.domain import events as domain_events
from wattwallet.ledger import accounts, postings
from wattwallet.lifecycle import consequences as balance
from wattwallet.lifecycle import short_bills
from wattwallet.messaging import outbox as notifications
from wattwallet.store import connections, schema

REFUNDS_PAYABLE = "refund:payable"


def _months_text(months: int) -> str:
    """ "three months" for the default policy, as the connection events have always said."""
    words = {1: "one month", 2: "two months", 3: "three months", 4: "four months", 6: "six months"}
    return words.get(months, f"{months} months")


def add_months(instant: dt.datetime, months: int) -> dt.datetime:
    """The same IST wall-clock time `months` later, on the month's last day if the day is missing."""
    local = instant.astimezone(clock.IST)
    month_index = local.month - 1 + months
    year, month = local.year + month_index // 12, month_index % 12 + 1
    next_month = dt.date(year + month // 12, month % 12 + 1, 1)
    day = min(local.day, (next_month - dt.timedelta(days=1)).day)
    return local.replace(year=year, month=month, day=day)


def _since(conn: Any, service_no: str) -> dt.datetime | None:
    """The later of the last disconnection and the last payment: the three months run from it. A
    connection disconnected without a recorded event (migrated in, say) counts from its last change
    of state."""
    e, r, c = schema.connection_events, schema.recharges, schema.connections
    cut = conn.execute(
        sa.select(sa.func.max(e.c.at)).where(e.c.service_no == service_no, e.c.to_state == "disconnected")
    ).scalar()
    if cut is None:
        cut = conn.execute(sa.select(c.c.updated_at).where(c.c.service_no == service_no)).scalar()
    paid = conn.execute(sa.select(sa.func.max(r.c.paid_at)).where(r.c.service_no == service_no)).scalar()
    moments = [t for t in (cut, paid) if t is not None]
    return max(moments) if moments else None


def run(ctx: Context, *, now: dt.datetime, events: domain_events.Log) -> int:
    """Terminate every connection whose three months are up. Returns how many."""
    c, e, r = schema.connections, schema.connection_events, schema.recharges
    with ctx.store.read() as conn:
        candidates = conn.execute(
            sa.select(
                c.c.service_no,
                sa.select(sa.func.max(e.c.at))
                .where(e.c.service_no == c.c.service_no, e.c.to_state == "disconnected")
                .scalar_subquery()
                .label("disconnected_at"),
                sa.select(sa.func.max(r.c.paid_at))
                .where(r.c.service_no == c.c.service_no)
                .scalar_subquery()
                .label("last_recharge"),
                c.c.updated_at,
            ).where(c.c.state == "disconnected")
        ).all()
    done = 0
    for row in candidates:
        cut = row.disconnected_at or row.updated_at  # see _since
        since = max(t for t in (cut, row.last_recharge) if t is not None)
        if add_months(since, ctx.policy.termination_months) <= now:
            done += _terminate(ctx, row.service_no, now=now, events=events)
    return done


def _terminate(ctx: Context, service_no: str, *, now: dt.datetime, events: domain_events.Log) -> int:
    follow: domain_events.Log = []
    with ctx.store.write() as conn:
        book = postings.lock(conn, service_no=service_no)
        target = connections.get(conn, service_no)
        since = _since(conn, service_no)
        if target.state.value != "disconnected" or since is None:
            return 0  # recharged (or already terminated) meanwhile
        if add_months(since, ctx.policy.termination_months) > now:
            return 0  # a recharge since the scan restarted the three months
        final = book.wallet
        billed = short_bills.settle_at_termination(conn, book, now=now)
        arrears, refund = max(0, -final) + billed, max(0, final)
        h = schema.hes_commands
        conn.execute(  # nothing more goes to a meter that is coming off the wall
            sa.update(h)
            .where(h.c.service_no == service_no, h.c.status.in_(("pending", "sent")))
            .values(status="cancelled", next_attempt_at=None)
        )
        if final:
            accounts.ensure_system_accounts(conn, now=now, codes=[REFUNDS_PAYABLE])
            # A debit moves to dues (arrears on the consumer); a credit to refunds payable.
            counter = accounts.dues(service_no) if final < 0 else REFUNDS_PAYABLE
            postings.post(
                conn,
                book,
                kind="termination.settlement",
                lines=[postings.Line(accounts.wallet(service_no), final), postings.Line(counter, -final)],
                occurred_at=now,
                recorded_at=now,
                reference=f"termination:{service_no}",
                memo="final settlement",
            )
        conn.execute(
            sa.insert(schema.terminations),
            {
                "service_no": service_no,
                "at": now,
                "final_balance": final,
                "arrears": arrears,
                "refund": refund,
            },
        )
        conn.execute(
            sa.insert(schema.work_orders),
            {"service_no": service_no, "kind": "meter_removal", "status": "open", "created_at": now},
        )
        conn.execute(
            sa.update(schema.connections)
            .where(schema.connections.c.service_no == service_no)
            .values(state="terminated", updated_at=now)
        )
        conn.execute(
            sa.insert(schema.connection_events),
            {
                "service_no": service_no,
                "from_state": "disconnected",
                "to_state": "terminated",
                "at": now,
                "reason": f"no recharge for {_months_text(ctx.policy.termination_months)}",
                "command_id": None,
            },
        )
        follow += [
            domain_events.StateChanged(
                at=now, connection=service_no, before="disconnected", after="terminated"
            ),
            domain_events.WorkOrderRaised(at=now, connection=service_no, kind="meter_removal"),
            domain_events.Terminated(
                at=now, connection=service_no, final_balance=final, arrears=arrears, refund=refund
            ),
        ]
        message = notifications.Message(
            service_no,
            target.language.value,
            "termination",
            {"final_balance": final, "arrears": arrears, "refund": refund},
        )
        balance.notify(conn, [message], now=now, events=follow)
    events.extend(follow)
    return 1
