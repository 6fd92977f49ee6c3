"""Cash taken at a service-centre counter: the recharge, and in its transaction the executive who
took it, so every counter recharge has its executive (a cash-up per executive reads this)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from wattwallet.context import Context
from wattwallet.domain import events as domain_events
from wattwallet.domain import recharge as recharge_rules
from wattwallet.store import schema
from wattwallet.wallet import recharges


def recharge(
    ctx: Context,
    *,
    by: str,
    service_no: str,
    amount_paise: int,
    reference: str,
    now: dt.datetime,
    paid_at: dt.datetime | None = None,
    events: domain_events.Log | None = None,
) -> recharges.Receipt:
    """Cash taken at a service-centre counter: the recharge, and in its transaction the executive
    who took it (a repeat of the reference records nothing new)."""

    def note_executive(conn: sa.Connection, _amount: int) -> None:
        conn.execute(
            sa.insert(schema.counter_collections).values(
                reference=reference.strip(), taken_by=by, taken_at=now
            )
        )

    recharges.check_backdate(ctx, paid_at=paid_at, now=now, taker=f"counter {by}")
    return recharges.recharge_wallet(
        ctx,
        service_no=service_no,
        channel=recharge_rules.Channel.COUNTER.value,
        reference=reference,
        amount_paise=amount_paise,
        paid_at=paid_at,
        now=now,
        guard=recharges.guard_each(f"counter:{reference}", note_executive, taker="counter"),
        events=events,
    )


def taken_by(ctx: Context, *, reference: str) -> str | None:
    c = schema.counter_collections
    with ctx.store.read() as conn:
        return conn.execute(sa.select(c.c.taken_by).where(c.c.reference == reference)).scalar_one_or_none()
