"""The outbox's deliveries: created with their notifications, claimed by dispatchers, settled with
each send's outcome; the dead letters staff look at and send back.

A delivery's life: pending → sending (claimed; `attempts` counts the try) → sent, or → failed (to
be retried at `next_attempt_at`, with backoff) → sending → ..., or → dead (refused by the gateway,
or out of attempts) until staff send it back to pending. A claim is a lease: `next_attempt_at` is
set to its end, so a delivery whose sender died is claimed again once it runs out. Every outcome is
written only if the claim still holds (same status and attempt number), so a sender that lost its
lease cannot overwrite the newer attempt's outcome.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Collection, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import errors, phone
from wattwallet.messaging import preferences, templates
from wattwallet.messaging.channels import base
from wattwallet.messaging.channels import settings as channel_settings
from wattwallet.store import schema

PENDING: Final = "pending"
SENDING: Final = "sending"
SENT: Final = "sent"
FAILED: Final = "failed"
DEAD: Final = "dead"
MAX_LIMIT: Final = 500


class DeliveryNotFound(errors.NotFound):
    code = "delivery_not_found"


class DeliveryNotDead(errors.Conflict):
    """Only a dead delivery can be sent back; the others are still on their way or arrived."""

    code = "delivery_not_dead"


@dataclasses.dataclass(frozen=True)
class Retry:
    """How often and how long: `backoff_seconds[k]` after the (k+1)th failed try, the last repeating."""

    max_attempts: int = 6
    backoff_seconds: tuple[int, ...] = (30, 120, 600, 1800, 3600)
    lease_seconds: int = 300

    @classmethod
    def of(cls, settings: channel_settings.DeliverySettings) -> Retry:
        return cls(
            max_attempts=settings.max_attempts,
            backoff_seconds=settings.retry_backoff_seconds,
            lease_seconds=settings.sending_lease_seconds,
        )

    def after(self, attempt: int, *, now: dt.datetime) -> dt.datetime | None:
        """When to try again after try number `attempt` failed; None: give up."""
        if attempt >= self.max_attempts:
            return None
        wait = self.backoff_seconds[min(attempt, len(self.backoff_seconds)) - 1]
        return now + dt.timedelta(seconds=wait)


@dataclasses.dataclass(frozen=True)
class Delivery:
    id: int
    notification_id: int
    service_no: str
    kind: str
    language: str
    channel: str
    status: str
    attempts: int
    recipient: str  # masked
    next_attempt_at: dt.datetime | None
    segments: int | None
    encoding: str | None
    provider_message_id: str | None
    last_error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    sent_at: dt.datetime | None
    retried_by: str | None


# --- Creation, with the notifications --------------------------------------------------------


def create(conn: Connection, *, notification_ids: Sequence[int], now: dt.datetime) -> None:
    """Deliveries for just-inserted notifications, in the caller's transaction, in one statement.

    SMS: every notification that lists it (mandatory kinds whatever the opt-ins say); app: those
    for the registered holder that list it, unless turned off; WhatsApp: those for the holder that
    go by SMS, when opted in. OTPs are sent directly and get none.
    """
    if not notification_ids:
        return
    ids = list(notification_ids)
    low, high = min(ids), max(ids)
    if conn.dialect.name == "postgresql":
        # The bounds let the planner walk the primary key over just this range, whatever its
        # statistics say (a freshly loaded notifications table otherwise gets a sequential scan).
        conn.execute(_insert("any"), {"now": now, "ids": ids, "low": low, "high": high})
        return
    if high - low + 1 == len(ids):  # reserved under SQLite's write lock: consecutive
        conn.execute(_insert("between"), {"now": now, "low": low, "high": high})
    else:
        conn.execute(_insert("in"), {"now": now, "ids": ids})


@functools.cache
def _insert(ids_form: str) -> sa.Insert:
    """The INSERT ... SELECT, built once per form of the id predicate: every notification insert
    (each recharge, each daily-cycle batch) runs it, and building it cost more than running it."""
    n, p, d = schema.notifications, schema.channel_preferences, schema.deliveries
    # The channel names are our own constants, written into the SQL (no parameter types to infer).
    channel = sa.union_all(
        *(
            sa.select(sa.literal_column(f"'{name}'", sa.String).label("channel"))
            for name in preferences.CHANNELS
        )
    )
    c = channel.subquery("c")
    listed = (sa.literal(",") + n.c.channels + sa.literal(",")).like(
        sa.literal("%,") + c.c.channel + sa.literal(",%")
    )
    sms_listed = (sa.literal(",") + n.c.channels + sa.literal(",")).like("%,sms,%")
    to_holder = n.c.recipient.is_(None)
    on = sa.case(
        (p.c.enabled.is_not(None), p.c.enabled),
        *((c.c.channel == name, sa.literal(default)) for name, default in preferences.DEFAULTS.items()),
        else_=sa.false(),
    )
    wanted = sa.or_(
        sa.and_(c.c.channel == "sms", listed, sa.or_(n.c.kind.in_(sorted(preferences.MANDATORY_KINDS)), on)),
        sa.and_(c.c.channel == "app", listed, to_holder, on),
        sa.and_(c.c.channel == "whatsapp", sms_listed, to_holder, on),
    )
    ids: sa.ColumnElement[bool]
    if ids_form == "any":
        ids = sa.and_(
            n.c.id.between(
                sa.bindparam("low", type_=sa.BigInteger), sa.bindparam("high", type_=sa.BigInteger)
            ),
            n.c.id == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.BigInteger))),
        )
    elif ids_form == "between":
        ids = n.c.id.between(
            sa.bindparam("low", type_=sa.BigInteger), sa.bindparam("high", type_=sa.BigInteger)
        )
    else:
        ids = n.c.id.in_(sa.bindparam("ids", expanding=True))
    now = sa.bindparam("now", type_=d.c.created_at.type)
    select = (
        sa.select(n.c.id, c.c.channel, sa.literal(PENDING), sa.literal(0), now, now, now)
        .select_from(
            n.join(c, sa.true()).outerjoin(
                p, sa.and_(p.c.service_no == n.c.service_no, p.c.channel == c.c.channel)
            )
        )
        .where(ids, n.c.kind.not_in(sorted(preferences.DIRECT_KINDS)), wanted)
    )
    columns = [
        "notification_id",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
        "updated_at",
    ]
    return sa.insert(d).from_select(columns, select)


# --- Claims and outcomes ---------------------------------------------------------------------


def claim(
    ctx: Context, *, channels: Collection[str], now: dt.datetime, limit: int, retry: Retry
) -> list[base.Outgoing]:
    """Take up to `limit` due deliveries on `channels` for this sender, oldest due first. Rows
    another sender holds are skipped (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the write
    lock). A claim whose lease ran out with no outcome counts as a failed try."""
    if not channels or limit <= 0:
        return []
    d, n, c = schema.deliveries, schema.notifications, schema.connections
    query = (
        sa.select(
            d.c.id,
            d.c.channel,
            d.c.status,
            d.c.attempts,
            n.c.service_no,
            n.c.kind,
            n.c.language,
            n.c.text,
            n.c.sms_text,
            n.c.recipient,
            c.c.mobile,
            c.c.consumer_id,
        )
        .select_from(d.join(n, n.c.id == d.c.notification_id).join(c, c.c.service_no == n.c.service_no))
        .where(d.c.next_attempt_at <= now, d.c.channel.in_(sorted(channels)))
        .order_by(d.c.next_attempt_at, d.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=d)
    )
    lease_end = now + dt.timedelta(seconds=retry.lease_seconds)
    claimed: list[base.Outgoing] = []
    updates: list[dict[str, Any]] = []
    with ctx.store.write() as conn:
        for row in conn.execute(query).all():
            lost = row.status == SENDING
            error = f"attempt {row.attempts} had no outcome (its sender stopped?)" if lost else None
            if lost and row.attempts >= retry.max_attempts:
                updates.append(_values(row.id, DEAD, row.attempts, None, now, last_error=error))
                continue
            attempt = row.attempts + 1
            to = str(row.consumer_id) if row.channel == "app" else (row.recipient or row.mobile)
            values = _values(row.id, SENDING, attempt, lease_end, now, address=to)
            # The SMS channel sends the registered SMS; app and WhatsApp the full text.
            text = row.sms_text if row.channel == "sms" and row.sms_text is not None else row.text
            if row.channel == "sms":
                values["b_segments"] = templates.sms_segments(text)
                values["b_encoding"] = templates.sms_encoding(text)
            if error is not None:
                values["b_last_error"] = error
            updates.append(values)
            claimed.append(
                base.Outgoing(
                    delivery_id=row.id,
                    attempt=attempt,
                    channel=row.channel,
                    service_no=row.service_no,
                    consumer_id=row.consumer_id,
                    kind=row.kind,
                    language=row.language,
                    text=text,
                    to=to,
                )
            )
        _apply(conn, updates)
    return claimed


def _values(
    delivery_id: int,
    status: str,
    attempts: int,
    next_attempt_at: dt.datetime | None,
    now: dt.datetime,
    **extra: Any,
) -> dict[str, Any]:
    values = {"b_id": delivery_id, "b_status": status, "b_attempts": attempts}
    values |= {"b_next_attempt_at": next_attempt_at, "b_updated_at": now}
    return values | {f"b_{k}": v for k, v in extra.items()}


def _apply(conn: Connection, updates: list[dict[str, Any]]) -> None:
    """One executemany per set of columns changed."""
    d = schema.deliveries
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for values in updates:
        by_shape.setdefault(tuple(sorted(values)), []).append(values)
    for shape, rows in by_shape.items():
        names = [key.removeprefix("b_") for key in shape if key != "b_id"]
        statement = (
            sa.update(d)
            .where(d.c.id == sa.bindparam("b_id"))
            .values({name: sa.bindparam(f"b_{name}", type_=d.c[name].type) for name in names})
        )
        conn.execute(statement, rows)


def _settle(ctx: Context, message: base.Outgoing, **values: Any) -> bool:
    d = schema.deliveries
    with ctx.store.write() as conn:
        done = conn.execute(
            sa.update(d)
            .where(d.c.id == message.delivery_id, d.c.status == SENDING, d.c.attempts == message.attempt)
            .values(**values)
        )
    return done.rowcount == 1


def settle_sent(ctx: Context, message: base.Outgoing, sent: base.Sent, *, now: dt.datetime) -> bool:
    """Record that the gateway took the message; False if the claim had been lost meanwhile."""
    return _settle(
        ctx,
        message,
        status=SENT,
        next_attempt_at=None,
        provider_message_id=sent.provider_message_id,
        sent_at=now,
        updated_at=now,
    )


def settle_failed(
    ctx: Context, message: base.Outgoing, *, error: str, permanent: bool, now: dt.datetime, retry: Retry
) -> str | None:
    """Record a failed try: failed (retried later) or dead. Answers the new status, or None if
    the claim had been lost meanwhile."""
    again = None if permanent else retry.after(message.attempt, now=now)
    status = FAILED if again is not None else DEAD
    if status == DEAD and not permanent:
        error = f"{error} (gave up after {message.attempt} attempts)"
    kept = _settle(
        ctx,
        message,
        status=status,
        next_attempt_at=again,
        last_error=base.scrub(error),
        updated_at=now,
    )
    return status if kept else None


def release(ctx: Context, message: base.Outgoing, *, now: dt.datetime) -> bool:
    """Give a claimed delivery back unsent (its turn came too late in the lease to start safely)."""
    return _settle(
        ctx,
        message,
        status=FAILED if message.attempt > 1 else PENDING,
        attempts=message.attempt - 1,
        next_attempt_at=now,
        updated_at=now,
    )


# --- Reading and staff actions ---------------------------------------------------------------


def _query() -> sa.Select[Any]:
    d, n, c = schema.deliveries, schema.notifications, schema.connections
    return sa.select(
        d,
        n.c.service_no,
        n.c.kind,
        n.c.language,
        n.c.recipient,
        c.c.mobile,
        c.c.consumer_id,
    ).select_from(d.join(n, n.c.id == d.c.notification_id).join(c, c.c.service_no == n.c.service_no))


def _delivery(row: Any) -> Delivery:
    if row.channel == "app":
        recipient = f"app (consumer {row.consumer_id})"
    else:
        recipient = phone.masked(row.address or row.recipient or row.mobile)
    return Delivery(
        id=row.id,
        notification_id=row.notification_id,
        service_no=row.service_no,
        kind=row.kind,
        language=row.language,
        channel=row.channel,
        status=row.status,
        attempts=row.attempts,
        recipient=recipient,
        next_attempt_at=row.next_attempt_at,
        segments=row.segments,
        encoding=row.encoding,
        provider_message_id=row.provider_message_id,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        sent_at=row.sent_at,
        retried_by=row.retried_by,
    )


def dead_letters(ctx: Context, *, limit: int = 100) -> list[Delivery]:
    """Deliveries given up on, most recent first."""
    d = schema.deliveries
    limit = max(1, min(limit, MAX_LIMIT))
    with ctx.store.read() as conn:
        rows = conn.execute(
            _query().where(d.c.status == DEAD).order_by(d.c.updated_at.desc(), d.c.id.desc()).limit(limit)
        ).all()
    return [_delivery(row) for row in rows]


def of_connection(ctx: Context, *, service_no: str) -> list[Delivery]:
    """Every delivery of a connection's messages, oldest first."""
    d, n = schema.deliveries, schema.notifications
    with ctx.store.read() as conn:
        rows = conn.execute(_query().where(n.c.service_no == service_no).order_by(d.c.id)).all()
    return [_delivery(row) for row in rows]


def send_again(ctx: Context, *, delivery_id: int, by: str, now: dt.datetime) -> Delivery:
    """Put a dead delivery back to pending with a fresh set of attempts; `by` is on record."""
    d = schema.deliveries
    with ctx.store.write() as conn:
        status = conn.execute(
            sa.select(d.c.status).where(d.c.id == delivery_id).with_for_update()
        ).scalar_one_or_none()
        if status is None:
            raise DeliveryNotFound(f"no delivery {delivery_id}", delivery_id=delivery_id)
        if status != DEAD:
            raise DeliveryNotDead(
                f"delivery {delivery_id} is {status}, not dead: only dead deliveries are sent again",
                delivery_id=delivery_id,
                delivery_status=status,  # not `status`: problem documents use that name for the HTTP code
            )
        conn.execute(
            sa.update(d)
            .where(d.c.id == delivery_id)
            .values(status=PENDING, attempts=0, next_attempt_at=now, updated_at=now, retried_by=by)
        )
        row = conn.execute(_query().where(d.c.id == delivery_id)).one()
    return _delivery(row)
