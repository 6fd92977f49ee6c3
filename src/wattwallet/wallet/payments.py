"""Portal and app recharges through the payment gateway: an intent first, then the gateway's webhook.

The intent checks the recharge rules before the consumer pays, so a bad amount is refused before any
money is taken. The webhook is believed only with a valid, fresh HMAC signature. Every event id is
taken once (a replay gets the stored outcome) and the recharge is idempotent by (intent channel,
intent id), so any number of deliveries of any number of events for one intent credit it once.
Money the gateway took but a rule then refuses (the connection was terminated meanwhile, or the first
recharge was made by another channel so ₹550 is no longer a valid amount), or took in another amount
than the intent's, is never dropped: the intent is marked with the reason and a refund due, and the
refund goes into the staff's queue (`services.refunds`) with a message to the consumer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import hmac
import json
import logging
import math
import re
import secrets
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import clock, connection, errors, money, recharge
from wattwallet.store import schema
from wattwallet.wallet import recharges, refunds

log = logging.getLogger(__name__)

ONLINE_CHANNELS = (recharge.Channel.PORTAL, recharge.Channel.APP)
INTENT_PREFIX = "pi_"
SUCCEEDED_EVENT = "payment.succeeded"
FAILED_EVENT = "payment.failed"


class IntentStatus(enum.StrEnum):
    """payment_intents.status, checked by the database (an intent past its expiry is answered
    "expired" but keeps "created")."""

    CREATED = "created"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


CREATED, SUCCEEDED, FAILED = IntentStatus.CREATED, IntentStatus.SUCCEEDED, IntentStatus.FAILED

# What an event did (kept with the event, answered again to a replay of it).
CREDITED = "credited"  # the wallet has the money (now or by an earlier event)
REFUSED = "refused"  # paid, but a recharge rule refused it: the intent failed, a refund is due
PAYMENT_FAILED = "payment_failed"  # the gateway says the payment failed: nothing was taken
IGNORED = "ignored"  # nothing to do (a failure reported after the intent was credited)
AMOUNT_MISMATCH = "amount_mismatch"  # paid another amount than the intent's: left for staff
# A later event names another payment time than the first confirmation: the first is kept.
PAID_AT_DISAGREES = "paid_at_disagrees"

_SIGNATURE_PART = re.compile(r"^\s*([a-z0-9]+)=([^\s,]+)\s*$")
_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class ChannelNotOnline(errors.InvalidInput):
    code = "channel_not_online"


class IntentsRateLimited(errors.RateLimited):
    """One consumer started more payment intents in the window than the setting allows."""

    code = "payment_intents_rate_limited"


class IntentNotFound(errors.NotFound):
    code = "payment_intent_not_found"


class WebhookNotConfigured(errors.Unavailable):
    code = "webhook_not_configured"


class SignatureInvalid(errors.Unauthenticated):
    code = "webhook_signature_invalid"


class TimestampStale(errors.Unauthenticated):
    code = "webhook_timestamp_stale"


class EventInvalid(errors.InvalidInput):
    code = "webhook_event_invalid"


class AmountMismatch(errors.RuleViolation):
    """The gateway reports another amount than the intent's: nothing credited, staff look into it."""

    code = "amount_mismatch"


@dataclasses.dataclass(frozen=True)
class Problem:
    """Why an intent did not end in a credit, as its latest event recorded it."""

    code: str
    detail: str
    refund_due: bool


@dataclasses.dataclass(frozen=True)
class Intent:
    id: str
    service_no: str
    channel: recharge.Channel
    amount: int
    status: str  # created | succeeded | failed
    created_at: dt.datetime
    expires_at: dt.datetime
    gateway_payment_id: str | None
    paid_at: dt.datetime | None
    receipt_no: str | None
    updated_at: dt.datetime
    problem: Problem | None = None

    def expired(self, now: dt.datetime) -> bool:
        return self.status == CREATED and now >= self.expires_at


@dataclasses.dataclass(frozen=True)
class Event:
    """A webhook event, already past its signature check and parsed."""

    event_id: str
    type: str
    intent_id: str
    amount: int
    paid_at: dt.datetime | None
    gateway_payment_id: str | None


@dataclasses.dataclass(frozen=True)
class Outcome:
    event_id: str
    intent_id: str
    result: str
    intent_status: str | None
    receipt_no: str | None = None
    code: str | None = None
    detail: str | None = None
    refund_due: bool = False
    replayed: bool = False  # this event id was taken before; this is its stored outcome

    def as_json(self) -> str:
        return json.dumps({k: v for k, v in dataclasses.asdict(self).items() if k != "replayed"})


# --- intents ---------------------------------------------------------------------------------------


def online_channel(raw: object) -> recharge.Channel:
    chosen = recharge.channel(raw)
    if chosen not in ONLINE_CHANNELS:
        names = ", ".join(c.value for c in ONLINE_CHANNELS)
        raise ChannelNotOnline(f"payment intents are for online channels ({names}), got {raw!r}")
    return chosen


@dataclasses.dataclass(frozen=True)
class IntentLimit:
    """At most `count` intents per `window_minutes` for the connections of one mobile (a consumer)."""

    holder: str
    count: int
    window_minutes: int


# What an intent checks before the consumer pays, and what a paid intent credits: a recharge by
# default; the interfaces pass billing's, which pays a postpaid bill instead (DOMAIN.md §8).
Check = Callable[..., None]  # (ctx, *, service_no, amount_paise, now)
Credit = Callable[..., "str | None"]  # (ctx, *, service_no, channel, reference, amount_paise, now, paid_at)


def recharge_credit(
    ctx: Context,
    *,
    service_no: str,
    channel: str,
    reference: str,
    amount_paise: int,
    now: dt.datetime,
    paid_at: dt.datetime,
) -> str | None:
    """Credit a paid intent as a recharge; its receipt number."""
    receipt = recharges.recharge_wallet(
        ctx,
        service_no=service_no,
        channel=channel,
        reference=reference,
        amount_paise=amount_paise,
        now=now,
        paid_at=paid_at,
    )
    return receipt.receipt_no


def create_intent(
    ctx: Context,
    *,
    service_no: str,
    amount_paise: int,
    channel: str,
    now: dt.datetime,
    minutes: int,
    limit: IntentLimit | None = None,
    check: Check = recharges.check,
) -> Intent:
    """An intent to pay `amount_paise` online, refused now with the recharge rule's own code if the
    recharge would be refused when paid (first-recharge minimum, multiples of ₹100, terminated,
    postpaid). It can be paid for `minutes`. With a `limit`, `IntentsRateLimited` once the consumer
    has started as many intents in its window (counted across all their connections, under a lock
    on them, so parallel requests cannot slip past it)."""
    chosen = online_channel(channel)
    number = connection.service_number(service_no)
    check(ctx, service_no=number, amount_paise=amount_paise, now=now)
    intent = Intent(
        id=INTENT_PREFIX + secrets.token_urlsafe(18),
        service_no=number,
        channel=chosen,
        amount=amount_paise,
        status=CREATED,
        created_at=now,
        expires_at=now + dt.timedelta(minutes=minutes),
        gateway_payment_id=None,
        paid_at=None,
        receipt_no=None,
        updated_at=now,
    )
    values = dataclasses.asdict(intent)
    del values["problem"]
    values["channel"] = chosen.value
    with ctx.store.write() as conn:
        if limit is not None:
            _check_limit(conn, limit, now=now)
        conn.execute(sa.insert(schema.payment_intents).values(**values))
    return intent


def _check_limit(conn: Connection, limit: IntentLimit, *, now: dt.datetime) -> None:
    p, c = schema.payment_intents, schema.connections
    if conn.dialect.name != "sqlite":  # SQLite's BEGIN IMMEDIATE already holds the write lock
        conn.execute(sa.select(c.c.service_no).where(c.c.mobile == limit.holder).with_for_update()).all()
    window = dt.timedelta(minutes=limit.window_minutes)
    count, oldest = conn.execute(
        sa.select(sa.func.count(), sa.func.min(p.c.created_at))
        .select_from(p.join(c, c.c.service_no == p.c.service_no))
        .where(c.c.mobile == limit.holder, p.c.created_at > now - window)
    ).one()
    if count >= limit.count:
        wait = max(1, math.ceil((oldest + window - now).total_seconds()))
        raise IntentsRateLimited(
            f"at most {limit.count} online recharges may be started per {limit.window_minutes} minutes; "
            f"try again in {wait} seconds",
            retry_after_seconds=wait,
        )


def get_intent(ctx: Context, *, intent_id: str) -> Intent:
    """The intent and, unless it was credited, the problem its latest event recorded."""
    with ctx.store.read() as conn:
        row = _intent_row(conn, intent_id)
        if row is None:
            raise IntentNotFound("no such payment intent among yours")
        intent = _intent(row)
        if intent.status == SUCCEEDED:
            return intent
        e = schema.gateway_events
        outcomes = conn.execute(
            sa.select(e.c.outcome).where(e.c.intent_id == intent.id).order_by(e.c.received_at.desc())
        ).scalars()
        for text in outcomes:
            found = json.loads(text)
            if found["result"] in (REFUSED, PAYMENT_FAILED, AMOUNT_MISMATCH):
                problem = Problem(found["code"], found["detail"], bool(found["refund_due"]))
                return dataclasses.replace(intent, problem=problem)
    return intent


# --- the webhook -----------------------------------------------------------------------------------


def verify_signature(
    *, secret: str | None, header: str | None, body: bytes, now: dt.datetime, tolerance_seconds: int
) -> None:
    """Believe the body only if `header` ("t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + '.' +
    body)>", several v1 allowed while the gateway rotates its secret) signs exactly these bytes, and
    its time is within `tolerance_seconds` of now (an old, captured delivery is not replayable)."""
    if not secret:
        raise WebhookNotConfigured("the payment gateway's webhook secret is not configured")
    invalid = SignatureInvalid("the X-Gateway-Signature header is missing, malformed or does not match")
    timestamp, candidates = _parse_signature(header or "")
    if timestamp is None or not candidates:
        raise invalid
    signed = timestamp.encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    matched = False
    for candidate in candidates:
        # Every candidate is compared, in constant time, so the answer's timing tells nothing.
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise invalid
    if abs(now.timestamp() - int(timestamp)) > tolerance_seconds:
        raise TimestampStale(
            f"the signature's timestamp is more than {tolerance_seconds} seconds away from our clock"
        )


def _parse_signature(header: str) -> tuple[str | None, list[str]]:
    if len(header) > 1024:
        return None, []
    timestamp: str | None = None
    candidates: list[str] = []
    for part in header.split(","):
        found = _SIGNATURE_PART.match(part)
        if not found:
            return None, []
        name, value = found.groups()
        if name == "t":
            if timestamp is not None or not value.isdigit() or len(value) > 12:
                return None, []
            timestamp = value
        elif name == "v1" and _HEX_DIGEST.match(value):
            candidates.append(value)
    return timestamp, candidates


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """The header value the gateway sends for `body` (its side of verify_signature; tests, benches)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def take_event(ctx: Context, *, event: Event, now: dt.datetime, credit: Credit = recharge_credit) -> Outcome:
    """Apply a verified event once; a repeat of its event id gets the stored outcome, changing nothing.

    Raises `AmountMismatch` (recorded, and raised again to its repeats) when the amount is not the
    intent's. Not recorded, so that the gateway's retry is taken afresh: an unknown intent, a payment
    time in the future. A payment confirmed after its intent expired is still credited: the payer's
    money was taken, and the recharge rules are checked again now."""
    return _raise_or_return(_take(ctx, event, now=now, credit=credit))


def _take(ctx: Context, event: Event, *, now: dt.datetime, credit: Credit) -> Outcome:
    with ctx.store.read() as conn:
        stored = _stored(conn, event.event_id)
        row = None if stored else _intent_row(conn, event.intent_id)
    if stored is not None:
        return stored
    if row is None:
        raise IntentNotFound(f"no payment intent {event.intent_id!r}")
    intent = _intent(row)
    if event.type not in (SUCCEEDED_EVENT, FAILED_EVENT):
        raise EventInvalid(f"unknown event type {event.type!r}")
    if event.amount != intent.amount:
        taken = event.type == SUCCEEDED_EVENT
        detail = (
            f"the gateway reports {money.inr(event.amount)} against an intent of "
            f"{money.inr(intent.amount)}: nothing was credited; "
            + ("the payment is to be refunded" if taken else "staff will look into it")
        )
        outcome = Outcome(
            event.event_id,
            intent.id,
            AMOUNT_MISMATCH,
            intent.status,
            code=AmountMismatch.code,
            detail=detail,
            refund_due=taken,
        )
        return _record(ctx, event, outcome, now=now)
    if event.type == FAILED_EVENT:
        outcome = Outcome(
            event.event_id,
            intent.id,
            PAYMENT_FAILED,
            FAILED,
            code="payment_failed",
            detail="the payment gateway reports that the payment failed; nothing was taken",
        )
        return _record(ctx, event, outcome, now=now)
    if event.paid_at is None:
        raise EventInvalid("a payment.succeeded event needs paid_at")
    try:
        # The 15-minute reflection (and a reconnect's deadline) count from when the payer paid.
        receipt_no = credit(
            ctx,
            service_no=intent.service_no,
            channel=intent.channel.value,
            reference=intent.id,
            amount_paise=intent.amount,
            now=now,
            paid_at=event.paid_at,
        )
    except (errors.RuleViolation, errors.Conflict) as exc:
        outcome = Outcome(
            event.event_id,
            intent.id,
            REFUSED,
            FAILED,
            code=exc.code,
            detail=f"paid but not credited: {exc.message}; the payment is to be refunded",
            refund_due=True,
        )
        return _record(ctx, event, outcome, now=now)
    outcome = Outcome(event.event_id, intent.id, CREDITED, SUCCEEDED, receipt_no=receipt_no)
    return _record(ctx, event, outcome, now=now)


def _record(ctx: Context, event: Event, outcome: Outcome, *, now: dt.datetime) -> Outcome:
    """Store the event and move the intent on, in one transaction. A concurrent delivery of the same
    event id that committed first wins; its outcome is answered."""
    try:
        with ctx.store.write() as conn:
            row = _intent_row(conn, event.intent_id, lock=True)
            assert row is not None  # intents are never deleted
            stored = _stored(conn, event.event_id)
            if stored is not None:
                return stored
            outcome = _apply(conn, row, event, outcome, now=now)
            if outcome.refund_due and outcome.result in (REFUSED, AMOUNT_MISMATCH):
                # Money taken and not credited: into the staff's refund queue, the consumer told.
                refunds.record(
                    conn,
                    intent_id=row.id,
                    service_no=row.service_no,
                    amount=event.amount,
                    code=outcome.code or outcome.result,
                    detail=outcome.detail or "",
                    event_id=event.event_id,
                    gateway_payment_id=event.gateway_payment_id,
                    now=now,
                )
            conn.execute(
                sa.insert(schema.gateway_events).values(
                    event_id=event.event_id,
                    intent_id=event.intent_id,
                    type=event.type,
                    received_at=now,
                    outcome=outcome.as_json(),
                )
            )
            return outcome
    except sa.exc.IntegrityError:
        with ctx.store.read() as conn:
            stored = _stored(conn, event.event_id)
        if stored is None:
            raise
        return stored


def _apply(conn: Connection, row: Any, event: Event, outcome: Outcome, *, now: dt.datetime) -> Outcome:
    """The intent's new state. A credit always wins; nothing moves a credited intent back. The first
    confirmed payment time stays: a later event that names another is recorded as disagreeing (its
    stored outcome says both), and changes nothing."""
    values: dict[str, Any] = {}
    if outcome.result == CREDITED:
        values = {"status": SUCCEEDED, "receipt_no": outcome.receipt_no, "paid_at": event.paid_at}
    elif row.status == SUCCEEDED and outcome.result in (REFUSED, PAYMENT_FAILED):
        outcome = dataclasses.replace(
            outcome,
            result=IGNORED,
            code=None,
            detail="the intent was already credited",
            refund_due=False,
            receipt_no=row.receipt_no,
        )
    elif outcome.result == REFUSED:
        values = {"status": FAILED, "paid_at": event.paid_at}
    elif outcome.result == PAYMENT_FAILED:
        values = {"status": FAILED}
    if row.paid_at is not None and "paid_at" in values:
        del values["paid_at"]
        if event.paid_at is not None and event.paid_at != row.paid_at:
            first, claimed = clock.ist_iso(row.paid_at), clock.ist_iso(event.paid_at)
            log.warning(
                "payment intent %s: event %s says paid at %s, first confirmed %s; kept the first",
                row.id,
                event.event_id,
                claimed,
                first,
            )
            outcome = dataclasses.replace(
                outcome,
                code=outcome.code or PAID_AT_DISAGREES,
                detail=f"{outcome.detail + '; ' if outcome.detail else ''}this event says paid at {claimed}, "
                f"the first confirmation {first}: the first is kept",
            )
    if values:
        if event.gateway_payment_id:
            values["gateway_payment_id"] = event.gateway_payment_id
        p = schema.payment_intents
        conn.execute(sa.update(p).where(p.c.id == row.id).values(updated_at=now, **values))
    return dataclasses.replace(outcome, intent_status=values.get("status", row.status))


def _raise_or_return(outcome: Outcome) -> Outcome:
    if outcome.result == AMOUNT_MISMATCH:
        raise AmountMismatch(
            outcome.detail or "amount mismatch",
            event_id=outcome.event_id,
            intent_id=outcome.intent_id,
            refund_due=outcome.refund_due,
        )
    return outcome


def _stored(conn: Connection, event_id: str) -> Outcome | None:
    e = schema.gateway_events
    text = conn.execute(sa.select(e.c.outcome).where(e.c.event_id == event_id)).scalar_one_or_none()
    if text is None:
        return None
    return Outcome(**json.loads(text), replayed=True)


def _intent_row(conn: Connection, intent_id: str, *, lock: bool = False) -> Any:
    p = schema.payment_intents
    query = sa.select(p).where(p.c.id == intent_id)
    if lock and conn.dialect.name != "sqlite":  # SQLite's BEGIN IMMEDIATE already holds the write lock
        query = query.with_for_update()
    return conn.execute(query).first()


def _intent(row: Any) -> Intent:
    return Intent(
        id=row.id,
        service_no=row.service_no,
        channel=recharge.Channel(row.channel),
        amount=row.amount,
        status=row.status,
        created_at=row.created_at,
        expires_at=row.expires_at,
        gateway_payment_id=row.gateway_payment_id,
        paid_at=row.paid_at,
        receipt_no=row.receipt_no,
        updated_at=row.updated_at,
    )
