"""Posting a recharge: idempotent by (channel, reference), dues first, the wallet locked. The work
inside the transaction is `recharge_batch` (one recharge is a batch of one); this module opens the
transaction, retries it when a race is lost, and sends a reconnect once the money is in."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import connection, errors, money, recharge
from wattwallet.domain import events as domain_events
from wattwallet.lifecycle import relay as lifecycle
from wattwallet.store import connections, db, schema
from wattwallet.wallet import recharge_batch

log = logging.getLogger(__name__)


class PaidInFuture(errors.InvalidInput):
    code = "paid_at_in_future"


class PaidTooLongAgo(errors.InvalidInput):
    code = "paid_at_too_old"


class TakerMissing(errors.InvalidInput):
    code = "recharge_taker_missing"


# Channels whose paid_at is the taker's word (a till, a counter), not a signed gateway's.
TAKEN_IN_PERSON = (recharge.Channel.RETAIL, recharge.Channel.KIOSK, recharge.Channel.COUNTER)
# Who must be on record for each of them: the executive at a counter (`wallet.counter.recharge`
# notes them in the recharge's transaction), the agent whose daily limit it counts against
# (`wallet.agents`). No path posts one of these channels without its taker.
TAKER = {
    recharge.Channel.COUNTER: ("counter", "a counter recharge needs the executive who took the cash"),
    recharge.Channel.RETAIL: ("agent", "a retail recharge needs the outlet (agent) that took it"),
    recharge.Channel.KIOSK: ("agent", "a kiosk recharge needs the kiosk (agent) that took it"),
}

Receipt = recharge_batch.Receipt
Guard = recharge_batch.Guard
guard_each = recharge_batch.guard_each
Item = TypeVar("Item")
# Turns what callers asked into requests (or the errors that refuse them), inside the transaction.
Prepare = Callable[[Connection, Sequence[Item]], list[recharge_batch.Request | errors.WattWalletError]]


def recharge_wallet(
    ctx: Context,
    *,
    service_no: str,
    channel: str,
    reference: str,
    amount_paise: int,
    now: dt.datetime,
    paid_at: dt.datetime | None = None,
    events: domain_events.Log | None = None,
    guard: Guard | None = None,
) -> Receipt:
    """Credit a recharge, or answer a repeat with the first result. Raises the rule it breaks.

    What follows from it (the receipt message, alerts re-armed, a due disconnection cleared) is
    appended to `events` once the transaction has committed. `guard` (a channel's own limit), if
    given, may refuse a new recharge; whatever it wrote commits or rolls back with the recharge."""
    asked = request(service_no, channel, reference, amount_paise, now=now, paid_at=paid_at, guard=guard)
    return _one(run_many(ctx, [asked], lambda _conn, requests: list(requests), now=now), events)


def request(
    service_no: str,
    channel: str,
    reference: str,
    amount: int,
    *,
    now: dt.datetime,
    paid_at: dt.datetime | None,
    guard: Guard | None = None,
) -> recharge_batch.Request:
    made = recharge_batch.Request(
        service_no=connection.service_number(service_no),
        channel=recharge.channel(channel),
        reference=recharge.reference(reference),
        amount=amount,
        paid_at=paid_at or now,
        guard=guard,
    )
    taker = TAKER.get(made.channel)
    if taker is not None and (guard is None or guard.taker != taker[0]):
        raise TakerMissing(taker[1], channel=made.channel.value)
    if made.amount <= 0:
        raise money.AmountNotPositive("amount must be greater than zero")
    if made.paid_at > now:
        raise PaidInFuture("the payment time is later than now")
    return made


def check_backdate(ctx: Context, *, paid_at: dt.datetime | None, now: dt.datetime, taker: str) -> None:
    """Refuse a payment time an agent or a counter gives further back than the policy allows (the
    15-minute service levels are measured from it); log one that is back-dated but allowed, with who
    gave it. Every such recharge is listed in the compliance report (`reports.backdated`)."""
    if paid_at is None:
        return
    hours = ctx.policy.recharge_backdate_max_hours
    if paid_at < now - dt.timedelta(hours=hours):
        raise PaidTooLongAgo(
            f"the payment time may be at most {hours} hours before now; "
            "record an older payment through the billing desk",
            max_hours=hours,
        )
    if paid_at < now - dt.timedelta(minutes=ctx.policy.recharge_reflection_minutes):
        log.warning(
            "back-dated recharge by %s: paid_at %s, recorded %s", taker, paid_at.isoformat(), now.isoformat()
        )


def run_many(
    ctx: Context,
    items: Sequence[Item],
    prepare: Prepare[Item],
    *,
    now: dt.datetime,
    send_reconnects: bool = True,
) -> list[recharge_batch.Outcome]:
    """Post recharges in one transaction: `prepare(conn, items)` turns the items into requests (or
    the errors that refuse them) inside it, first thing. A lost race is retried; an unexpected
    failure of a batch of several is retried one item at a time, so it costs only its own item.
    Reconnects are sent once the money is in, at any hour (unless the caller sends them itself:
    `send_reconnect`)."""
    try:
        outcomes = _post_retrying(ctx, items, prepare, now=now)
    except Exception:
        if len(items) == 1:
            raise
        # One item's unexpected failure must not cost the others theirs: each again on its own.
        return _each(ctx, items, prepare, now=now, send_reconnects=send_reconnects)
    for outcome in outcomes:
        if send_reconnects and isinstance(outcome.result, Receipt) and outcome.result.reconnect_command:
            send_reconnect(ctx, outcome.result.reconnect_command, now=now, events=outcome.events)
    return outcomes


def send_reconnect(
    ctx: Context, command_id: str, *, now: dt.datetime, events: domain_events.Log | None = None
) -> None:
    """Send a recharge's reconnect at once, after the recharge has committed. A failure is logged,
    not raised: the money is in, and the command waits in hes_commands (the outbox) for the
    head-end link's next send."""
    events = [] if events is None else events  # a caller that needs no replay lines passes none
    try:
        lifecycle.dispatch(ctx, now=now, events=events, only=command_id)
    except Exception:
        log.exception("reconnect %s not sent now: the head-end link sends it from the outbox", command_id)


def _post_retrying(
    ctx: Context,
    items: Sequence[Item],
    prepare: Prepare[Item],
    *,
    now: dt.datetime,
) -> list[recharge_batch.Outcome]:
    for attempt in (1, 2, 3):
        try:
            with ctx.store.write() as conn:
                return recharge_batch.post(ctx, conn, prepare(conn, items), now=now)
        except Exception as exc:
            # A concurrent request with the same reference committed first (the retry finds it), a
            # lost deadlock or serialization race (PostgreSQL), or a limit another batch opened at
            # the same time: nothing was written; try again.
            lost = isinstance(exc, recharge_batch.Contended) or db.is_transient(exc)
            if attempt == 3 or not (lost or _is_reference_clash(exc)):
                raise
    raise AssertionError("unreachable")


def _each(
    ctx: Context,
    items: Sequence[Item],
    prepare: Prepare[Item],
    *,
    now: dt.datetime,
    send_reconnects: bool,
) -> list[recharge_batch.Outcome]:
    outcomes = []
    for item in items:
        try:
            outcomes += run_many(ctx, [item], prepare, now=now, send_reconnects=send_reconnects)
        except Exception as failed:  # this item's own failure: the others are not held up by it
            outcomes.append(recharge_batch.Outcome(failed))
    return outcomes


def _one(outcomes: list[recharge_batch.Outcome], events: domain_events.Log | None) -> Receipt:
    """The receipt of a batch of one, or its refusal raised."""
    [outcome] = outcomes
    if isinstance(outcome.result, Exception):
        raise outcome.result
    if events is not None:
        events.extend(outcome.events)
    return outcome.result


def check(ctx: Context, *, service_no: str, amount_paise: int, now: dt.datetime) -> None:
    """Raise the rule a recharge of this amount would break now, before any money is taken (a payment
    intent), with the same codes `recharge_wallet` uses. The recharge itself checks again."""
    number = connection.service_number(service_no)
    if amount_paise <= 0:
        raise money.AmountNotPositive("amount must be greater than zero")
    with ctx.store.read() as conn:
        target = connections.get(conn, number)
    recharge_batch.check_rules(ctx, target, amount_paise, now=now)


def find(ctx: Context, *, channel: str, reference: str) -> Receipt | None:
    """The receipt of the recharge a channel made under its reference, if there is one."""
    r = schema.recharges
    with ctx.store.read() as conn:
        row = conn.execute(
            sa.select(r).where(r.c.channel == recharge.channel(channel).value, r.c.reference == reference)
        ).first()
    return None if row is None else recharge_batch.receipt_from_row(row, replayed=False)


receipt_number = recharge_batch.receipt_number


def _is_reference_clash(exc: Exception) -> bool:
    """The unique (channel, reference) index refused a row: SQLAlchemy's IntegrityError, or the
    driver's own when the row went straight to it (store.bulk)."""
    text = str(getattr(exc, "orig", exc))
    return "uq_recharges_channel_reference" in text or "recharges.channel, recharges.reference" in text


def history(conn: Connection, service_no: str, *, limit: int = 20) -> list[Receipt]:
    r = schema.recharges
    rows = conn.execute(
        sa.select(r).where(r.c.service_no == service_no).order_by(r.c.id.desc()).limit(limit)
    ).all()
    return [recharge_batch.receipt_from_row(row, replayed=False) for row in rows]
