"""Posting a recharge: idempotent by (channel, reference), dues first, the wallet locked."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import clock, connection, errors, money, recharge
from wattwallet.ledger import accounts, postings
from wattwallet.services import balance, connections, lifecycle, notifications
from wattwallet.store import db, schema


class PaidInFuture(errors.InvalidInput):
    code = "paid_at_in_future"


# Called inside the recharge's transaction, under the wallet lock, once the request is known to be
# new and allowed and before any money moves: a channel's own limit (an agent's daily total) is
# checked and counted there, so concurrent requests cannot overshoot it and a repeat never counts.
Guard = Callable[[Connection, int], None]


@dataclasses.dataclass(frozen=True)
class Receipt:
    receipt_no: str
    service_no: str
    channel: recharge.Channel
    reference: str
    amount: int
    to_dues: int
    to_wallet: int
    balance: int  # wallet balance right after this recharge
    dues_remaining: int
    first_recharge: bool
    paid_at: dt.datetime
    recorded_at: dt.datetime
    replayed: bool  # True when this answers a repeat of an earlier request
    reconnect_command: str | None = None  # the reconnect this recharge set off, if any


def recharge_wallet(
    ctx: Context,
    *,
    service_no: str,
    channel: str,
    reference: str,
    amount_paise: int,
    now: dt.datetime,
    paid_at: dt.datetime | None = None,
    events: list[dict[str, Any]] | None = None,
    guard: Guard | None = None,
) -> Receipt:
    """Credit a recharge, or answer a repeat with the first result. Raises the rule it breaks.

    What follows from it (the receipt message, alerts re-armed, a due disconnection cleared) is
    appended to `events` once the transaction has committed. `guard(conn, amount)`, if given, may
    refuse a new recharge by raising; whatever it wrote commits or rolls back with the recharge."""
    request = _request(service_no, channel, reference, amount_paise, now=now, paid_at=paid_at)
    return _run(ctx, lambda _conn: (request, guard), now=now, events=events)


@dataclasses.dataclass(frozen=True)
class Payer:
    """Who pays and under which reference, as found inside the recharge's own transaction."""

    channel: str
    reference: str
    guard: Guard | None = None


def recharge_as(
    ctx: Context,
    *,
    payer: Callable[[Connection], Payer],
    service_no: str,
    amount_paise: int,
    now: dt.datetime,
    paid_at: dt.datetime | None = None,
    events: list[dict[str, Any]] | None = None,
) -> Receipt:
    """`recharge_wallet` for a caller identified in the same transaction (an agent by its key):
    `payer(conn)` runs first, so a refused caller gets its refusal before any check of the request,
    and the lookup costs no transaction of its own."""

    def prepare(conn: Connection) -> tuple[_Request, Guard | None]:
        found = payer(conn)
        request = _request(service_no, found.channel, found.reference, amount_paise, now=now, paid_at=paid_at)
        return request, found.guard

    return _run(ctx, prepare, now=now, events=events)


def _request(
    service_no: str,
    channel: str,
    reference: str,
    amount: int,
    *,
    now: dt.datetime,
    paid_at: dt.datetime | None,
) -> _Request:
    request = _Request(
        service_no=connection.service_number(service_no),
        channel=recharge.channel(channel),
        reference=recharge.reference(reference),
        amount=amount,
        paid_at=paid_at or now,
    )
    if request.amount <= 0:
        raise money.AmountNotPositive("amount must be greater than zero")
    if request.paid_at > now:
        raise PaidInFuture("the payment time is later than now")
    return request


def _run(
    ctx: Context,
    prepare: Callable[[Connection], tuple[_Request, Guard | None]],
    *,
    now: dt.datetime,
    events: list[dict[str, Any]] | None,
) -> Receipt:
    for attempt in (1, 2, 3):
        follow: list[dict[str, Any]] = []
        try:
            with ctx.store.write() as conn:
                request, guard = prepare(conn)
                receipt = _recharge(ctx, conn, request, now=now, events=follow, guard=guard)
            if receipt.reconnect_command:
                # Paid up: the reconnect goes at once, at any hour (its confirmation comes later).
                lifecycle.dispatch(ctx, now=now, events=follow, only=receipt.reconnect_command)
            if events is not None:
                events.extend(follow)
            return receipt
        except sa.exc.IntegrityError as exc:
            # A concurrent request with the same reference committed first: answer as a repeat.
            if attempt == 3 or not _is_reference_clash(exc):
                raise
        except sa.exc.DBAPIError as exc:
            # Lost a deadlock or serialization race (PostgreSQL): nothing was written; try again.
            if attempt == 3 or not db.is_transient(exc):
                raise
    raise AssertionError("unreachable")


@dataclasses.dataclass(frozen=True)
class _Request:
    service_no: str
    channel: recharge.Channel
    reference: str
    amount: int
    paid_at: dt.datetime


def _recharge(
    ctx: Context,
    conn: Connection,
    request: _Request,
    *,
    now: dt.datetime,
    events: list[dict[str, Any]],
    guard: Guard | None,
) -> Receipt:
    try:
        book = postings.lock(conn, service_no=request.service_no)
    except postings.UnknownWallet:
        # A repeat naming another (unknown) connection is a conflict with the first, not a 404.
        earlier = _find(conn, request.channel, request.reference)
        if earlier is not None:
            return _repeat(earlier, request)
        raise
    # Look the reference up under the lock only (one query, not one before and one after): a repeat
    # that queued behind its own first attempt must get that attempt's receipt, not be judged
    # afresh against the state the first attempt left behind.
    earlier = _find(conn, request.channel, request.reference)
    if earlier is not None:
        return _repeat(earlier, request)
    target = connections.get(conn, request.service_no)
    is_first = _check_rules(ctx, target, request.amount, now=now)
    if guard is not None:
        guard(conn, request.amount)
    split = recharge.split(amount_paise=request.amount, dues_paise=book.dues, rules=ctx.policy)
    lines = [postings.Line(accounts.clearing(request.channel), request.amount)]
    if split.to_dues:
        lines.append(postings.Line(accounts.dues(request.service_no), -split.to_dues))
    if split.to_wallet:
        lines.append(postings.Line(accounts.wallet(request.service_no), -split.to_wallet))
    posting_id = postings.post(
        conn,
        book,
        kind="recharge",
        lines=lines,
        occurred_at=request.paid_at,
        recorded_at=now,
        reference=f"{request.channel.value}:{request.reference}",
        memo="first recharge" if is_first else "recharge",
    )
    recharge_id = conn.execute(
        _INSERT,
        {
            "channel": request.channel.value,
            "reference": request.reference,
            "service_no": request.service_no,
            "amount": request.amount,
            "to_dues": split.to_dues,
            "to_wallet": split.to_wallet,
            "balance_after": book.wallet,
            "dues_after": book.dues,
            "first_recharge": is_first,
            "paid_at": request.paid_at,
            "recorded_at": now,
            "posting_id": posting_id,
        },
    ).scalar_one()
    if is_first:
        connections.mark_first_recharge_done(conn, request.service_no, now=now)
    language = target.language.value
    figures = {
        "amount": request.amount,
        "to_dues": split.to_dues,
        "balance": book.wallet,
        "ref": request.reference,
    }
    balance.notify(
        conn,
        [notifications.Message(request.service_no, language, "recharge_success", figures)],
        now=now,
        events=events,
    )
    balance.after_change(
        ctx,
        conn,
        service_no=request.service_no,
        language=language,
        balance=book.wallet,
        now=now,
        events=events,
    )
    reconnect = lifecycle.after_recharge(
        ctx, conn, target=target, wallet=book.wallet, paid_at=request.paid_at, now=now, events=events
    )
    return Receipt(
        receipt_no=receipt_number(recharge_id),
        service_no=request.service_no,
        channel=request.channel,
        reference=request.reference,
        amount=request.amount,
        to_dues=split.to_dues,
        to_wallet=split.to_wallet,
        balance=book.wallet,
        dues_remaining=book.dues,
        first_recharge=is_first,
        paid_at=request.paid_at,
        recorded_at=now,
        replayed=False,
        reconnect_command=reconnect,
    )


def _check_rules(ctx: Context, target: connections.ConnectionRow, amount: int, *, now: dt.datetime) -> bool:
    """Raise the recharge rule `amount` breaks on `target`; else say whether it is the first recharge."""
    is_first = not target.first_recharge_done
    mandatory = 0
    if is_first and target.mode is connection.BillingMode.PREPAID:
        mandatory = ctx.tariffs.mandatory_charges(
            category=target.category, load_kw=target.load_kw, on=clock.ist_date(now)
        ).total_paise
    recharge.check_allowed(
        amount_paise=amount,
        is_first=is_first,
        mandatory_charges_paise=mandatory,
        state=target.state,
        mode=target.mode,
        rules=ctx.policy,
    )
    return is_first


def check(ctx: Context, *, service_no: str, amount_paise: int, now: dt.datetime) -> None:
    """Raise the rule a recharge of this amount would break now, before any money is taken (a payment
    intent), with the same codes `recharge_wallet` uses. The recharge itself checks again."""
    number = connection.service_number(service_no)
    if amount_paise <= 0:
        raise money.AmountNotPositive("amount must be greater than zero")
    with ctx.store.read() as conn:
        target = connections.get(conn, number)
    _check_rules(ctx, target, amount_paise, now=now)


def find(ctx: Context, *, channel: str, reference: str) -> Receipt | None:
    """The receipt of the recharge a channel made under its reference, if there is one."""
    with ctx.store.read() as conn:
        row = _find(conn, recharge.channel(channel), reference)
    return None if row is None else _receipt_from_row(row, replayed=False)


def receipt_number(recharge_id: int) -> str:
    return f"WW{recharge_id:010d}"


# Built once: building a statement costs about as much Python as running it.
_INSERT = sa.insert(schema.recharges).returning(schema.recharges.c.id)
_FIND = sa.select(schema.recharges).where(
    schema.recharges.c.channel == sa.bindparam("channel"),
    schema.recharges.c.reference == sa.bindparam("reference"),
)


def _find(conn: Connection, channel: recharge.Channel, reference: str) -> sa.Row[tuple[object, ...]] | None:
    return conn.execute(_FIND, {"channel": channel.value, "reference": reference}).first()


def _repeat(earlier: sa.Row[tuple[object, ...]], request: _Request) -> Receipt:
    if earlier.service_no != request.service_no or earlier.amount != request.amount:
        raise recharge.DuplicateConflict(
            f"reference {request.reference} on {request.channel.value} was already used for a different "
            "recharge (another amount or connection)",
            reference=request.reference,
        )
    return _receipt_from_row(earlier, replayed=True)


def _receipt_from_row(row: sa.Row[tuple[object, ...]], *, replayed: bool) -> Receipt:
    m = row._mapping
    return Receipt(
        receipt_no=receipt_number(m["id"]),
        service_no=m["service_no"],
        channel=recharge.Channel(m["channel"]),
        reference=m["reference"],
        amount=m["amount"],
        to_dues=m["to_dues"],
        to_wallet=m["to_wallet"],
        balance=m["balance_after"],
        dues_remaining=m["dues_after"],
        first_recharge=m["first_recharge"],
        paid_at=m["paid_at"],
        recorded_at=m["recorded_at"],
        replayed=replayed,
    )


def _is_reference_clash(exc: sa.exc.IntegrityError) -> bool:
    text = str(exc.orig)
    return "uq_recharges_channel_reference" in text or "recharges.channel, recharges.reference" in text


def history(conn: Connection, service_no: str, *, limit: int = 20) -> list[Receipt]:
    r = schema.recharges
    rows = conn.execute(
        sa.select(r).where(r.c.service_no == service_no).order_by(r.c.id.desc()).limit(limit)
    ).all()
    return [_receipt_from_row(row, replayed=False) for row in rows]
