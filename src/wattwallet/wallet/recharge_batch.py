"""Posting recharges inside one transaction, set-based: the wallets locked in one statement, the
references, connections and alert states read in one each, the postings, receipts and messages
written in a few, whether the batch holds one recharge or fifty (retail outlets and kiosks send many
at once; `services.recharge_queue` gathers them).

Each request is judged on its own: a refused one gets its error and the others go on. Requests for
the same connection or the same reference are taken in order: the batch is cut before the second,
so it sees the first's balance, and a repeat of a reference gets the first's receipt. Channel limits
(an agent's daily total) are counted in the order the requests arrived.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import clock, connection, errors, recharge
from wattwallet.domain import events as domain_events
from wattwallet.ledger import accounts, postings
from wattwallet.lifecycle import consequences as balance
from wattwallet.lifecycle import relay as lifecycle
from wattwallet.messaging import outbox as notifications
from wattwallet.messaging import templates
from wattwallet.store import bulk, connections, schema

Events = domain_events.Log


class Contended(Exception):
    """Another transaction took what this batch counted on (rare: two processes opening one agent's
    day at once). Nothing is kept; the batch is posted again and sees the other's work."""


class Tally(Protocol):
    """A channel's running count within one batch: `take` answers each recharge, in the order the
    requests arrived, with None (counted) or the error that refuses it; `finish` writes the counts."""

    def take(self, subject: Any, amount: int) -> errors.WattWalletError | None: ...

    def finish(self) -> None: ...


# Opens a tally for every subject a batch's guards name (in key order), locking what it counts.
Counter = Callable[[Connection, list[Any]], Tally]


@dataclasses.dataclass(frozen=True)
class Guard:
    """A channel's own limit (an agent's daily total), checked and counted inside the recharge's
    transaction, under the wallet locks, once a request is known to be new and allowed and before
    any money moves: concurrent requests cannot overshoot it and a repeat never counts.

    Requests whose guards share a `key` share a limit; `subject` is what the counter needs to know
    of it (an agent and its day). Before anything is counted, each counter is opened once for all
    the batch's subjects, in key order: it locks them all at once, in one order for everyone, so
    two batches never wait on each other's limits in a circle."""

    key: str
    subject: Any
    counter: Counter
    # Who took the money in person: "counter" (a service-centre executive) or "agent" (a retail
    # outlet or kiosk). `recharges.request` refuses those channels without their taker's guard.
    taker: str = ""


def guard_each(key: str, check: Callable[[Connection, int], None], *, taker: str = "") -> Guard:
    """A guard that takes recharges one at a time: `check(conn, amount)` raises to refuse one."""
    return Guard(key, check, _EachTally, taker)


class _EachTally:
    def __init__(self, conn: Connection, _subjects: list[Any]) -> None:
        self.conn = conn

    def take(self, subject: Any, amount: int) -> errors.WattWalletError | None:
        try:
            subject(self.conn, amount)
        except errors.WattWalletError as refused:
            return refused
        return None

    def finish(self) -> None:
        pass


@dataclasses.dataclass(frozen=True)
class Request:
    service_no: str
    channel: recharge.Channel
    reference: str
    amount: int
    paid_at: dt.datetime
    guard: Guard | None = None


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


@dataclasses.dataclass
class Outcome:
    """What became of one request: its receipt or its refusal, and its replay lines."""

    result: Receipt | Exception  # an unexpected failure only when the item was retried on its own
    events: Events = dataclasses.field(default_factory=list)


def post(
    ctx: Context,
    conn: Connection,
    requests: Sequence[Request | errors.WattWalletError],
    *,
    now: dt.datetime,
) -> list[Outcome]:
    """Credit each new request, answer each repeat with its first receipt, refuse the rest; an
    error given in place of a request is passed through. One outcome per item, in order."""
    outcomes = [
        Outcome(item) if isinstance(item, errors.WattWalletError) else Outcome(_PENDING) for item in requests
    ]
    live = [(i, item) for i, item in enumerate(requests) if isinstance(item, Request)]
    if not live:
        return outcomes
    numbers = sorted({r.service_no for _, r in live})
    batch = _Batch(
        ctx,
        conn,
        now=now,
        books=postings.lock_many(conn, numbers),
        # Looked up under the locks only: a repeat that queued behind its own first attempt must get
        # that attempt's receipt, not be judged afresh against the state it left behind.
        earlier=_find_many(conn, [(r.channel, r.reference) for _, r in live]),
        targets=connections.get_many(conn, numbers),
        tallies=_open_tallies(conn, [r.guard for _, r in live if r.guard is not None]),
    )
    for segment in _segments(live):
        batch.post_segment([(r, outcomes[i]) for i, r in segment])
    for tally in batch.tallies.values():
        tally.finish()
    assert all(o.result is not _PENDING for o in outcomes), "every request is answered"
    return outcomes


# A placeholder until the request's segment has run (every live request gets a result there).
_PENDING = errors.WattWalletError("not yet posted")


def _segments(live: list[tuple[int, Request]]) -> list[list[tuple[int, Request]]]:
    """Cut the requests, in their order, into runs that hold no connection and no reference twice:
    a run is posted at once, and the next one sees what it did (the balance, the reference taken)."""
    segments: list[list[tuple[int, Request]]] = [[]]
    seen: set[tuple[str, ...]] = set()
    for i, request in live:
        keys = {("connection", request.service_no), ("reference", request.channel.value, request.reference)}
        if seen & keys:
            segments.append([])
            seen.clear()
        segments[-1].append((i, request))
        seen |= keys
    return segments


def _open_tallies(conn: Connection, guards: list[Guard]) -> dict[Counter, Tally]:
    by_key = {guard.key: guard for guard in guards}
    subjects: dict[Counter, list[Any]] = {}
    for key in sorted(by_key):
        subjects.setdefault(by_key[key].counter, []).append(by_key[key].subject)
    return {counter: counter(conn, listed) for counter, listed in subjects.items()}


@dataclasses.dataclass
class _Batch:
    ctx: Context
    conn: Connection
    now: dt.datetime
    books: dict[str, postings.Book]
    earlier: dict[tuple[str, str], Receipt]
    targets: dict[str, connections.ConnectionRow]
    tallies: dict[Counter, Tally]

    def post_segment(self, segment: list[tuple[Request, Outcome]]) -> None:
        counted = []
        for request, outcome in segment:
            is_first = self._judge(request, outcome)
            if is_first is not None and self._count(request, outcome):
                counted.append((request, outcome, is_first))
        if counted:
            self._credit(counted)

    def _judge(self, request: Request, outcome: Outcome) -> bool | None:
        """None when the request is answered already (a repeat, a refusal); else whether it is the
        connection's first recharge."""
        first = self.earlier.get((request.channel.value, request.reference))
        try:
            if first is not None:
                outcome.result = _repeat(first, request)
                return None
            if request.service_no not in self.books:
                raise postings.UnknownWallet(
                    f"no connection with service number {request.service_no}", service_no=request.service_no
                )
            target = self.targets.get(request.service_no)
            if target is None:
                raise connections.UnknownConnection(
                    f"no connection with service number {request.service_no}", service_no=request.service_no
                )
            return check_rules(self.ctx, target, request.amount, now=self.now)
        except errors.WattWalletError as refused:
            outcome.result = refused
            return None

    def _count(self, request: Request, outcome: Outcome) -> bool:
        """Whether the channel's own limit takes the request (else it gets the refusal)."""
        if request.guard is None:
            return True
        refused = self.tallies[request.guard.counter].take(request.guard.subject, request.amount)
        if refused is not None:
            outcome.result = refused
        return refused is None

    def _credit(self, counted: list[tuple[Request, Outcome, bool]]) -> None:
        now, conn = self.now, self.conn
        entries, splits = [], []
        for request, _, is_first in counted:
            split = recharge.split(
                amount_paise=request.amount,
                dues_paise=self.books[request.service_no].dues,
                rules=self.ctx.policy,
            )
            splits.append(split)
            lines = [postings.Line(accounts.clearing(request.channel), request.amount)]
            if split.to_dues:
                lines.append(postings.Line(accounts.dues(request.service_no), -split.to_dues))
            if split.to_wallet:
                lines.append(postings.Line(accounts.wallet(request.service_no), -split.to_wallet))
            entries.append(
                postings.Entry(
                    request.service_no,
                    "recharge",
                    lines,
                    request.paid_at,
                    reference=f"{request.channel.value}:{request.reference}",
                    memo="first recharge" if is_first else "recharge",
                )
            )
        # A segment holds a connection once: its book after post_many is its state after this recharge.
        posting_ids = postings.post_many(conn, self.books, entries, recorded_at=now)
        ids = bulk.reserve_ids(conn, schema.recharges, len(counted))
        receipts = []
        for (request, _, is_first), split, recharge_id in zip(counted, splits, ids, strict=True):
            book = self.books[request.service_no]
            receipts.append(
                Receipt(
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
                )
            )
        bulk.insert(
            conn,
            schema.recharges,
            _RECHARGE_COLUMNS,
            [
                _recharge_row(i, r, posting_id)
                for i, r, posting_id in zip(ids, receipts, posting_ids, strict=True)
            ],
        )
        for receipt in receipts:
            if receipt.first_recharge:
                connections.mark_first_recharge_done(conn, receipt.service_no, now=now)
                target = self.targets[receipt.service_no]
                self.targets[receipt.service_no] = dataclasses.replace(target, first_recharge_done=True)
            self.earlier[(receipt.channel.value, receipt.reference)] = receipt
        self._follow_up(counted, receipts)

    def _follow_up(self, counted: list[tuple[Request, Outcome, bool]], receipts: list[Receipt]) -> None:
        """The receipt message, alerts re-armed, a pending disconnection called off, a reconnect."""
        now, conn = self.now, self.conn
        outbox = _Outbox(now)
        for (_, outcome, _), receipt in zip(counted, receipts, strict=True):
            figures = {
                "amount": receipt.amount,
                "to_dues": receipt.to_dues,
                "balance": receipt.balance,
                "ref": receipt.reference,
            }
            language = self.targets[receipt.service_no].language.value
            message = notifications.Message(receipt.service_no, language, "recharge_success", figures)
            outbox.add([message], outcome.events)
        changes = [
            balance.Change(r.service_no, self.targets[r.service_no].language.value, r.balance)
            for r in receipts
        ]
        for (_, outcome, _), (_, follow) in zip(
            counted, balance.after_changes(self.ctx, conn, changes, now=now), strict=True
        ):
            outcome.events.extend(follow.events)
            outbox.add(follow.messages, outcome.events)
        outbox.store(conn)  # before what lifecycle says, as the consumer is to read it
        recharged = [
            lifecycle.Recharged(
                self.targets[r.service_no], r.balance, r.dues_remaining, r.paid_at, outcome.events
            )
            for (_, outcome, _), r in zip(counted, receipts, strict=True)
        ]
        reconnects = lifecycle.after_recharges(self.ctx, conn, recharged, now=now)
        for (_, outcome, _), receipt, reconnect in zip(counted, receipts, reconnects, strict=True):
            outcome.result = dataclasses.replace(receipt, reconnect_command=reconnect)


class _Outbox:
    """Messages rendered as they arise (their replay lines in place), stored in one go."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.rendered: list[tuple[notifications.Message, templates.Rendered]] = []

    def add(self, messages: Iterable[notifications.Message], events: Events) -> None:
        for message in messages:
            rendered = message.render()
            self.rendered.append((message, rendered))
            events.append(notifications.event(message, rendered, now=self.now))

    def store(self, conn: Connection) -> None:
        notifications.store(conn, self.rendered, now=self.now)


def check_rules(ctx: Context, target: connections.ConnectionRow, amount: int, *, now: dt.datetime) -> bool:
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


def receipt_number(recharge_id: int) -> str:
    return f"WW{recharge_id:010d}"


_RECHARGE_COLUMNS = (
    "id",
    "channel",
    "reference",
    "service_no",
    "amount",
    "to_dues",
    "to_wallet",
    "balance_after",
    "dues_after",
    "first_recharge",
    "paid_at",
    "recorded_at",
    "posting_id",
)


def _recharge_row(recharge_id: int, r: Receipt, posting_id: int) -> tuple[object, ...]:
    return (
        recharge_id,
        r.channel.value,
        r.reference,
        r.service_no,
        r.amount,
        r.to_dues,
        r.to_wallet,
        r.balance,
        r.dues_remaining,
        r.first_recharge,
        r.paid_at,
        r.recorded_at,
        posting_id,
    )


# Built once: building a statement costs about as much Python as running it. Both columns of the
# unique (channel, reference) index are bounded, so the index serves it; pairs are matched here.
_FIND_MANY = sa.select(schema.recharges).where(
    schema.recharges.c.channel.in_(sa.bindparam("channels", expanding=True)),
    schema.recharges.c.reference.in_(sa.bindparam("references", expanding=True)),
)


def _find_many(
    conn: Connection, keys: Sequence[tuple[recharge.Channel, str]]
) -> dict[tuple[str, str], Receipt]:
    wanted = {(channel.value, reference) for channel, reference in keys}
    rows = conn.execute(
        _FIND_MANY,
        {"channels": sorted({c for c, _ in wanted}), "references": sorted({r for _, r in wanted})},
    )
    found = (receipt_from_row(row, replayed=False) for row in rows)
    return {(r.channel.value, r.reference): r for r in found if (r.channel.value, r.reference) in wanted}


def _repeat(first: Receipt, request: Request) -> Receipt:
    if first.service_no != request.service_no or first.amount != request.amount:
        raise recharge.DuplicateConflict(
            f"reference {request.reference} on {request.channel.value} was already used for a different "
            "recharge (another amount or connection)",
            reference=request.reference,
        )
    return dataclasses.replace(first, replayed=True, reconnect_command=None)


def receipt_from_row(row: sa.Row[tuple[object, ...]], *, replayed: bool) -> Receipt:
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
