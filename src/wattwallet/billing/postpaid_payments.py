"""Paying postpaid bills (DOMAIN.md §8): any amount of at least ₹1 from any channel, idempotent by
the channel's reference like a recharge, applied to the oldest bill first; what is paid beyond what
is owed becomes an advance set against the next bill. A prepaid connection is recharged instead."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa

from wattwallet.billing import _charges, _items
from wattwallet.context import Context
from wattwallet.domain import billing_mode, connection, errors, recharge
from wattwallet.domain import events as domain_events
from wattwallet.ledger import accounts, postings
from wattwallet.lifecycle import consequences
from wattwallet.messaging import outbox as notifications
from wattwallet.store import connections, schema
from wattwallet.wallet import payments, recharges

Unpaid = _items.Unpaid  # an item still owed, as the interfaces show it


class PaymentConflict(errors.ReferenceReused):
    """The same channel reference was used for another amount or connection."""


@dataclasses.dataclass(frozen=True)
class Receipt:
    service_no: str
    channel: recharge.Channel
    reference: str
    amount: int
    applied: int  # to bills, oldest first
    to_advance: int  # beyond what was owed
    outstanding: int  # still owed after the payment
    paid_at: dt.datetime
    replayed: bool = False


def pay(
    ctx: Context,
    *,
    service_no: str,
    amount_paise: int,
    channel: str,
    reference: str,
    now: dt.datetime,
    paid_at: dt.datetime | None = None,
    events: domain_events.Log | None = None,
) -> Receipt:
    """Take a payment; the same (channel, reference) again returns the first receipt. Bad input
    (amount below ₹1, a prepaid connection, a reference reused differently): a named error, nothing
    written."""
    events = [] if events is None else events
    service_no = connection.service_number(service_no)
    chosen = recharge.channel(channel)
    ref = recharge.reference(reference, what="payment reference")
    billing_mode.check_payment(amount_paise)
    for attempt in (1, 2):
        try:
            return _pay(ctx, service_no, amount_paise, chosen, ref, now, paid_at or now, events)
        except sa.exc.IntegrityError:
            if attempt == 2:  # a concurrent call with the same reference won: read its result
                raise
    raise AssertionError("unreachable")


def _pay(
    ctx: Context,
    service_no: str,
    amount: int,
    channel: recharge.Channel,
    ref: str,
    now: dt.datetime,
    paid_at: dt.datetime,
    events: domain_events.Log,
) -> Receipt:
    p = schema.postpaid_payments
    with ctx.store.write() as conn:
        before = conn.execute(sa.select(p).where(p.c.channel == channel.value, p.c.reference == ref)).first()
        if before is not None:
            return _replayed(before, service_no=service_no, amount=amount, events=events, now=now)
        target = connections.get(conn, service_no)
        if target.mode is not connection.BillingMode.POSTPAID:
            raise billing_mode.PaymentToPrepaid(
                "this connection is prepaid: recharge its wallet instead of paying a bill"
            )
        accounts.open_postpaid_accounts(conn, service_nos=[service_no], now=now)
        book = postings.lock(conn, service_no=service_no, postpaid=True)
        owed = book.balance(accounts.receivable(service_no))
        applied = _items.settle(
            conn, _items.unpaid(conn, [service_no]).get(service_no, []), min(amount, owed)
        )
        to_advance = amount - applied
        lines = [
            postings.Line(accounts.clearing(channel), amount),
            postings.Line(accounts.receivable(service_no), -applied),
            postings.Line(accounts.advance(service_no), -to_advance),
        ]
        posting_id = postings.post(
            conn,
            book,
            kind="postpaid.payment",
            lines=[line for line in lines if line.amount],
            occurred_at=paid_at,
            recorded_at=now,
            reference=ref,
            memo=f"postpaid payment via {channel.value}",
        )
        outstanding = book.balance(accounts.receivable(service_no))
        conn.execute(
            sa.insert(p).values(
                service_no=service_no,
                channel=channel.value,
                reference=ref,
                amount=amount,
                applied=applied,
                to_advance=to_advance,
                outstanding_after=outstanding,
                paid_at=paid_at,
                created_at=now,
                posting_id=posting_id,
            )
        )
        receipt = Receipt(service_no, channel, ref, amount, applied, to_advance, outstanding, paid_at)
        events.append(_accepted(receipt, now=now))
        message = notifications.Message(
            service_no,
            target.language.value,
            "payment_received",
            {"amount": amount, "outstanding": outstanding, "ref": ref},
        )
        consequences.notify(conn, [message], now=now, events=events)
    return receipt


def _replayed(
    row: Any, *, service_no: str, amount: int, events: domain_events.Log, now: dt.datetime
) -> Receipt:
    if row.service_no != service_no or row.amount != amount:
        raise PaymentConflict(
            f"payment reference {row.reference} was already used for another payment",
            reference=row.reference,
        )
    receipt = Receipt(
        row.service_no,
        recharge.Channel(row.channel),
        row.reference,
        row.amount,
        row.applied,
        row.to_advance,
        row.outstanding_after,
        row.paid_at,
        replayed=True,
    )
    events.append(_accepted(receipt, now=now))
    return receipt


def _accepted(receipt: Receipt, *, now: dt.datetime) -> domain_events.PaymentAccepted:
    return domain_events.PaymentAccepted(
        at=now,
        connection=receipt.service_no,
        ref=receipt.reference,
        channel=receipt.channel.value,
        amount=receipt.amount,
        applied=receipt.applied,
        to_advance=receipt.to_advance,
        outstanding=receipt.outstanding,
        repeat=receipt.replayed,
    )


# --- Online, through the payment gateway (wallet.payments' intents and webhook) ------------------


def check_online(ctx: Context, *, service_no: str, amount_paise: int, now: dt.datetime) -> None:
    """Before the consumer pays online: a postpaid bill's rule (at least ₹1), else a recharge's."""
    if _mode(ctx, service_no) is connection.BillingMode.POSTPAID:
        billing_mode.check_payment(amount_paise)
        return
    recharges.check(ctx, service_no=service_no, amount_paise=amount_paise, now=now)


def credit_online(
    ctx: Context,
    *,
    service_no: str,
    channel: str,
    reference: str,
    amount_paise: int,
    now: dt.datetime,
    paid_at: dt.datetime,
) -> str | None:
    """A paid intent: a postpaid bill payment (no receipt number: the payment reference is the
    intent's) or, for a prepaid connection, a recharge (its receipt number). The mode when the
    payment arrives decides, whatever it was when the intent was made."""
    if _mode(ctx, service_no) is connection.BillingMode.POSTPAID:
        pay(
            ctx,
            service_no=service_no,
            amount_paise=amount_paise,
            channel=channel,
            reference=reference,
            now=now,
            paid_at=paid_at,
        )
        return None
    return payments.recharge_credit(
        ctx,
        service_no=service_no,
        channel=channel,
        reference=reference,
        amount_paise=amount_paise,
        now=now,
        paid_at=paid_at,
    )


def _mode(ctx: Context, service_no: str) -> connection.BillingMode:
    with ctx.store.read() as conn:
        return connections.get(conn, service_no).mode


@dataclasses.dataclass(frozen=True)
class Account:
    """A postpaid connection's account as the consumer and staff see it."""

    service_no: str
    outstanding: int  # billed and not paid
    advance: int
    deposit: int
    unbilled: int  # rated days not billed yet
    unpaid: list[_items.Unpaid]


def account(ctx: Context, *, service_no: str) -> Account:
    service_no = connection.service_number(service_no)
    with ctx.store.read() as conn:
        connections.get(conn, service_no)
        a = schema.ledger_accounts
        balances = dict(
            conn.execute(
                sa.select(a.c.code, a.c.balance).where(a.c.code.in_(accounts.postpaid_codes(service_no)))
            ).all()
        )
        unbilled = _charges.untaken_total(conn, service_no)
        unpaid = _items.unpaid(conn, [service_no]).get(service_no, [])
    return Account(
        service_no,
        int(balances.get(accounts.receivable(service_no), 0)),
        int(balances.get(accounts.advance(service_no), 0)),
        int(balances.get(accounts.deposit(service_no), 0)),
        int(unbilled),
        unpaid,
    )


def overdue(ctx: Context, *, today: dt.date) -> list[_items.Unpaid]:
    """Postpaid bills past their due date and not paid in full (for staff; no automatic
    disconnection of postpaid consumers)."""
    with ctx.store.read() as conn:
        return _items.overdue(conn, today=today)
