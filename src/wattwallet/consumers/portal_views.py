"""What the consumer portal shows beyond the API's read models (`account_views`): when the meter last
reported, the half-hourly load profile of a day, and how far a recharge has got towards
reconnection (paid -> credited -> reconnect sent -> relay closed, against the 15-minute promise).

Reads only. Callers check ownership first (`consumer_access.check_owner`). Instants are aware UTC.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac

import sqlalchemy as sa

from wattwallet.context import Context
from wattwallet.domain import connection, phone
from wattwallet.store import schema
from wattwallet.wallet import payments

SLOTS_PER_DAY = 48


@dataclasses.dataclass(frozen=True)
class MeterStatus:
    last_read_at: dt.datetime | None
    stale: bool  # no reading for longer than the caller's threshold (or never)


@dataclasses.dataclass(frozen=True)
class Tracker:
    """One online recharge's way to reconnection. Each step is None until it happened."""

    intent_id: str
    paid_at: dt.datetime | None
    credited_at: dt.datetime | None
    receipt_no: str | None
    reconnect_sent_at: dt.datetime | None
    relay_closed_at: dt.datetime | None
    promised_by: dt.datetime | None  # paid_at + the reconnection deadline
    reconnect_status: str | None  # the command's status: pending | sent | confirmed | failed | cancelled


def recipient_hint(ctx: Context, *, service_no: object, key: bytes) -> str:
    """The masked mobile a sign-in OTP goes to, for the page to show. For a customer ID that is not
    registered, a made-up masked number derived from the ID and `key` (stable for as long as the key
    is), so the page looks the same whether or not the ID exists and tells nothing of it."""
    number = connection.service_number(service_no)
    c = schema.connections
    with ctx.store.read() as conn:
        mobile = conn.execute(sa.select(c.c.mobile).where(c.c.service_no == number)).scalar_one_or_none()
    if mobile is not None:
        return phone.masked(str(mobile))
    digest = hmac.new(key, number.encode(), hashlib.sha256).digest()
    last4 = int.from_bytes(digest[:4], "big") % 10_000
    return phone.masked(f"+919{int.from_bytes(digest[4:8], 'big') % 1_000_000_000:09d}")[:-4] + f"{last4:04d}"


def meter_status(
    ctx: Context, *, service_no: str, now: dt.datetime, stale_after: dt.timedelta
) -> MeterStatus:
    s, r = schema.prepaid_state, schema.meter_readings
    with ctx.store.read() as conn:
        last = conn.execute(sa.select(s.c.last_read_at).where(s.c.service_no == service_no)).scalar()
        if last is None:
            last = conn.execute(
                sa.select(sa.func.max(r.c.read_at)).where(r.c.service_no == service_no)
            ).scalar()
    if last is None:
        return MeterStatus(None, stale=True)
    return MeterStatus(last, stale=now - last > stale_after)


def half_hourly(ctx: Context, *, service_no: str, day: dt.date) -> list[int] | None:
    """The day's 48 half-hourly Wh (00:00-00:30 IST first), from the load profile the HES sent with
    the midnight reading that ends the day (read on the next day); None when it sent none."""
    p = schema.meter_load_profiles
    with ctx.store.read() as conn:
        found = conn.execute(
            sa.select(p.c.profile_wh)
            .where(
                p.c.service_no == service_no,
                p.c.read_date == day + dt.timedelta(days=1),
                p.c.profile_wh.is_not(None),
            )
            .order_by(p.c.ends_at)
            .limit(1)
        ).scalar()
    if not found:
        return None
    try:
        values = [int(v) for v in str(found).split(",")]
    except ValueError:
        return None
    return values if len(values) == SLOTS_PER_DAY else None


class TrackerNotFound(payments.IntentNotFound):
    """No such payment among this consumer's: to them, the same as an unknown intent."""


def tracker(ctx: Context, *, service_no: str, intent_id: str) -> Tracker:
    """Where the recharge paid by this intent has got. The reconnect is the connection's reconnect
    command issued for this payment (same payment time), if the recharge called for one."""
    i, rc, h = schema.payment_intents, schema.recharges, schema.hes_commands
    with ctx.store.read() as conn:
        intent = conn.execute(sa.select(i).where(i.c.id == intent_id, i.c.service_no == service_no)).first()
        if intent is None:
            raise TrackerNotFound("no such payment among yours")
        # An intent's recharge is the one by its channel with the intent's id as the reference.
        credited = conn.execute(
            sa.select(rc.c.recorded_at).where(rc.c.channel == intent.channel, rc.c.reference == intent.id)
        ).scalar()
        command = None
        if intent.paid_at is not None:
            command = conn.execute(
                sa.select(h)
                .where(
                    h.c.service_no == service_no,
                    h.c.command == "reconnect",
                    h.c.created_at >= intent.created_at,
                )
                .order_by(h.c.created_at)
                .limit(1)
            ).first()
    paid_at = intent.paid_at
    deadline = dt.timedelta(minutes=ctx.policy.reconnection_minutes)
    return Tracker(
        intent_id=intent.id,
        paid_at=paid_at,
        credited_at=credited,
        receipt_no=intent.receipt_no,
        reconnect_sent_at=command.sent_at if command is not None else None,
        relay_closed_at=command.confirmed_at if command is not None else None,
        promised_by=paid_at + deadline if paid_at is not None else None,
        reconnect_status=command.status if command is not None else None,
    )


def recent_tracker(
    ctx: Context, *, service_no: str, now: dt.datetime, within: dt.timedelta
) -> Tracker | None:
    """The tracker of the newest online recharge paid within `within` that set off a reconnect, for
    the home page to follow; None when there is none."""
    i, h = schema.payment_intents, schema.hes_commands
    with ctx.store.read() as conn:
        found = conn.execute(
            sa.select(i.c.id)
            .where(i.c.service_no == service_no, i.c.paid_at.is_not(None), i.c.paid_at >= now - within)
            .order_by(i.c.paid_at.desc())
            .limit(1)
        ).scalar()
        if found is None:
            return None
        reconnects = conn.execute(
            sa.select(sa.func.count())
            .select_from(h)
            .where(h.c.service_no == service_no, h.c.command == "reconnect", h.c.created_at >= now - within)
        ).scalar_one()
    if not reconnects:
        return None
    return tracker(ctx, service_no=service_no, intent_id=str(found))
