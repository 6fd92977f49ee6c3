"""One-time passwords (DOMAIN.md §7): 6 digits, 5 minutes, stored hashed, a few tries, rate limited.

An OTP is bound to a purpose (sign-in, mobile change) and a connection, and goes to one number:
the registered mobile for sign-in, the new number for a mobile change.

Asking for one (`request`) only queues the request, in the same few statements whether or not the
customer ID exists, so neither the answer nor its time tells a stranger anything; the only limit
checked there is the caller's own (`otp_max_requests_per_caller`). The dispatcher's OTP courier
(`deliver_due`) then, after the answer, looks the connection up, applies the per-number limits
(a progressive back-off per number and caller, a daily ceiling per number), creates the OTP and
hands its text, rendered in the consumer's language, to `ctx.sms`. The code exists in clear only in
the courier's memory between those two steps: the database holds its salted HMAC, and what is
recorded among the notifications shows it masked. A stalled SMS gateway therefore slows no answer.

Checking (`verify_then`) counts every failure by connection and by caller: past
`otp_max_wrong_per_connection` in a day the connection's OTPs are refused whatever the code (and
staff are alerted once), past `otp_max_wrong_per_caller` the caller is answered 429. Numbers come
from `Policy.otp_*`; "a day" is the last 24 hours.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import enum
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.consumers import security_alerts
from wattwallet.context import Context
from wattwallet.domain import connection, errors, phone
from wattwallet.messaging import outbox as notifications
from wattwallet.messaging import sms, templates
from wattwallet.store import connections, schema

log = logging.getLogger("wattwallet.otp")

SIGN_IN = "sign_in"
MOBILE_CHANGE = "mobile_change"
T = TypeVar("T")
_TEMPLATE = {SIGN_IN: "otp_sign_in", MOBILE_CHANGE: "otp_mobile_change"}
DAY = dt.timedelta(days=1)
FAILURE_KIND = "otp"
GUESSES_USED_UP = "otp_guesses_used_up"


class RequestStatus(enum.StrEnum):
    """otp_requests.status, checked by the database."""

    PENDING = "pending"  # queued, not yet handled by the courier
    SENT = "sent"
    FAILED = "failed"  # the gateway refused the text
    UNKNOWN = "unknown"  # no such connection (answered the same way, nothing sent)
    HELD_BACK = "held_back"  # a limit said no
    STALE = "stale"  # waited too long in the queue to be of use


PENDING, SENT, FAILED = RequestStatus.PENDING, RequestStatus.SENT, RequestStatus.FAILED
UNKNOWN, HELD_BACK, STALE = RequestStatus.UNKNOWN, RequestStatus.HELD_BACK, RequestStatus.STALE


class OtpRejected(errors.Unauthenticated):
    """Wrong, expired, used or exhausted: one answer for all, so a guesser learns nothing."""

    code = "otp_invalid"


class OtpRateLimited(errors.RateLimited):
    """The caller has asked for too many OTPs today (whatever the customer IDs: this says nothing
    about any of them)."""

    code = "otp_rate_limited"


class OtpGuessesLimited(errors.RateLimited):
    """The caller has given too many wrong OTPs today (whatever the customer IDs)."""

    code = "otp_guesses_rate_limited"


@dataclasses.dataclass(frozen=True)
class Requested:
    recipient: str | None  # masked; None for sign-in (the answer must not depend on the connection)
    expires_at: dt.datetime  # at the latest: the OTP is valid for `otp_valid_minutes` from its send


@dataclasses.dataclass(frozen=True)
class Verified:
    otp_id: int
    service_no: str
    recipient: str
    via: str | None


@dataclasses.dataclass
class Delivered:
    """What one `deliver_due` did with the requests it took."""

    sent: int = 0
    failed: int = 0  # the gateway did not take the text
    unknown: int = 0  # no such connection (or terminated, for sign-in)
    held_back: int = 0  # a per-number limit
    stale: int = 0  # asked for longer ago than an OTP lives: not worth a text now

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.unknown + self.held_back + self.stale


def _hash(salt: str, code: str) -> str:
    return hmac.new(bytes.fromhex(salt), code.encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def caller_key(caller: str) -> str:
    """How a caller is stored: its address, cut to the column."""
    return (caller or "unknown")[:64]


# --- Asking for an OTP: queued, the same work for every customer ID --------------------------------


def request(
    ctx: Context,
    conn: Connection,
    *,
    purpose: str,
    service_no: str,
    caller: str,
    now: dt.datetime,
    recipient: str | None = None,
    via: str | None = None,
) -> Requested:
    """Queue an OTP inside the caller's write transaction; the courier sends it once that has
    committed. Raises `OtpRateLimited` when this caller has asked `otp_max_requests_per_caller`
    times in the last day. Nothing else is looked at: the same two statements run whether or not
    `service_no` names a connection."""
    rules = ctx.policy
    r = schema.otp_requests
    who = caller_key(caller)
    asked = conn.execute(
        sa.select(sa.func.count()).select_from(r).where(r.c.caller == who, r.c.requested_at > now - DAY)
    ).scalar_one()
    if asked >= rules.otp_max_requests_per_caller:
        raise OtpRateLimited(
            f"at most {rules.otp_max_requests_per_caller} OTP requests a day from one address; "
            "try again later",
            retry_after_seconds=3600,
        )
    conn.execute(
        sa.insert(r).values(
            purpose=purpose,
            service_no=service_no[:32],
            recipient=recipient,
            via=via,
            caller=who,
            requested_at=now,
            status=PENDING,
        )
    )
    expires_at = now + dt.timedelta(minutes=rules.otp_valid_minutes)
    return Requested(recipient=phone.masked(recipient) if recipient else None, expires_at=expires_at)


# --- The courier: issue and send, after the answer --------------------------------------------------


def pending(ctx: Context) -> bool:
    """Whether any request waits (a cheap read the courier polls with)."""
    r = schema.otp_requests
    with ctx.store.read() as conn:
        found = conn.execute(sa.select(r.c.id).where(r.c.status == PENDING).limit(1)).first()
    return found is not None


def deliver_due(ctx: Context, *, now: dt.datetime, limit: int = 50) -> Delivered:
    """Take up to `limit` queued requests, oldest first: create each OTP that the limits allow and
    hand its text to `ctx.sms` once the transaction that created it has committed (no lock is held
    during the gateway's call). Several couriers may run: a request is taken by one only
    (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the write lock). A text the gateway does not take
    is not retried: the consumer asks again (a late OTP is of no use). Texts go out up to 8 at once."""
    r = schema.otp_requests
    done = Delivered()
    texts: list[tuple[int, sms.Sms]] = []
    with ctx.store.write() as conn:
        rows = conn.execute(
            sa.select(r)
            .where(r.c.status == PENDING)
            .order_by(r.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            status, recipient, issued = _handle(ctx, conn, row, now=now)
            otp_id = issued[0] if issued is not None else None
            conn.execute(
                sa.update(r)
                .where(r.c.id == row.id)
                .values(status=status, recipient=recipient, handled_at=now, otp_id=otp_id)
            )
            if issued is not None:
                texts.append((row.id, issued[1]))
            setattr(done, status, getattr(done, status) + 1)
    if texts:
        # A few at once: one slow or stalled send must not hold up everyone else's OTP.
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(texts))) as pool:
            outcomes = list(pool.map(lambda item: _send(ctx, *item), texts))
        done.sent -= outcomes.count(False)
        done.failed += outcomes.count(False)
    return done


def _send(ctx: Context, request_id: int, text: sms.Sms) -> bool:
    try:
        ctx.sms.send(text)
        return True
    except Exception as exc:
        # Not the error itself: a gateway may echo the text, and this text holds a live code.
        log.warning("OTP %s to %s not sent: %s", text.kind, phone.masked(text.to), type(exc).__name__)
    with ctx.store.write() as conn:
        conn.execute(
            sa.update(schema.otp_requests).where(schema.otp_requests.c.id == request_id).values(status=FAILED)
        )
    return False


def _handle(
    ctx: Context, conn: Connection, row: Any, *, now: dt.datetime
) -> tuple[str, str | None, tuple[int, sms.Sms] | None]:
    rules = ctx.policy
    if row.requested_at <= now - dt.timedelta(minutes=rules.otp_valid_minutes):
        return STALE, row.recipient, None
    try:
        target = connections.get(conn, connection.service_number(row.service_no))
    except (connections.UnknownConnection, errors.InvalidInput):
        return UNKNOWN, row.recipient, None
    if row.purpose == SIGN_IN and target.state is connection.State.TERMINATED:
        return UNKNOWN, row.recipient, None
    recipient: str = target.mobile if row.purpose == SIGN_IN else row.recipient
    if _held_back(ctx, conn, recipient=recipient, caller=row.caller, now=now):
        return HELD_BACK, recipient, None
    issued = _issue(
        ctx,
        conn,
        purpose=row.purpose,
        service_no=target.service_no,
        recipient=recipient,
        language=target.language.value,
        via=row.via,
        now=now,
    )
    return SENT, recipient, issued


def _held_back(ctx: Context, conn: Connection, *, recipient: str, caller: str, now: dt.datetime) -> bool:
    """The per-number limits. Per (number, caller): a back-off that grows with each OTP of the
    day not used to sign in (or confirm), and at most `otp_max_sends_per_number_and_caller` of
    them; per number, whoever asks: `otp_max_sends_per_number` a day. A stranger's OTPs are never
    used, so one caller runs out long before the number does, and the owner asking from their own
    phone is still served; the owner's own OTPs, once used, do not slow the next one down."""
    rules = ctx.policy
    r, o = schema.otp_requests, schema.otps
    recent = sa.and_(r.c.recipient == recipient, r.c.status == SENT, r.c.handled_at > now - DAY)
    mine = conn.execute(
        sa.select(sa.func.count(), sa.func.max(r.c.handled_at))
        .select_from(r.outerjoin(o, o.c.id == r.c.otp_id))
        .where(recent, r.c.caller == caller, o.c.used_at.is_(None))
    ).one()
    count, last = int(mine[0]), mine[1]
    if count >= rules.otp_max_sends_per_number_and_caller:
        return True
    if last is not None:
        waits = rules.otp_backoff_seconds
        if now < last + dt.timedelta(seconds=waits[min(count, len(waits)) - 1]):
            return True
    everyone = conn.execute(sa.select(sa.func.count()).select_from(r).where(recent)).scalar_one()
    return bool(everyone >= rules.otp_max_sends_per_number)


def _issue(
    ctx: Context,
    conn: Connection,
    *,
    purpose: str,
    service_no: str,
    recipient: str,
    language: str,
    via: str | None,
    now: dt.datetime,
) -> tuple[int, sms.Sms]:
    rules = ctx.policy
    code = new_code()
    salt = secrets.token_hex(16)
    otp_id: int = conn.execute(
        sa.insert(schema.otps)
        .values(
            purpose=purpose,
            service_no=service_no,
            recipient=recipient,
            via=via,
            salt=salt,
            code_hash=_hash(salt, code),
            tries=0,
            created_at=now,
            expires_at=now + dt.timedelta(minutes=rules.otp_valid_minutes),
        )
        .returning(schema.otps.c.id)
    ).scalar_one()
    kind = _TEMPLATE[purpose]
    figures = {"otp": code}
    rendered = templates.render(kind, language, service_no=service_no, **figures)
    masked = templates.render(kind, language, service_no=service_no, **{**figures, "otp": "XXXXXX"})
    message = notifications.Message(service_no, language, kind, figures, ("sms",), recipient)
    notifications.store(conn, [(message, masked)], now=now)
    text = sms.Sms(
        to=recipient,
        text=rendered.sms_text,
        sender=rendered.sender,
        dlt_template_id=rendered.dlt_template_id,
        kind=kind,
    )
    return otp_id, text


def purge(ctx: Context, *, now: dt.datetime) -> None:
    """Forget handled requests and failures older than two days (every limit looks back one)."""
    before = now - 2 * DAY
    r, f = schema.otp_requests, schema.auth_failures
    with ctx.store.write() as conn:
        conn.execute(sa.delete(r).where(r.c.requested_at < before, r.c.status != PENDING))
        conn.execute(sa.delete(f).where(f.c.at < before))


# --- Checking a code ---------------------------------------------------------------------------------


def verify_then(
    ctx: Context,
    *,
    purpose: str,
    service_no: str,
    code: object,
    caller: str,
    now: dt.datetime,
    then: Callable[[Connection, Verified], T],
) -> T:
    """Check `code` against the newest unused OTP of this purpose and connection; when it matches,
    use it up and run `then` in the same transaction. Any failure counts against the connection
    and the caller (committed even though the call fails) and raises `OtpRejected`, as does an
    expired, used or exhausted OTP, or any code once the connection's wrong guesses of the day are
    used up. A caller past its own daily cap gets `OtpGuessesLimited`."""
    rules = ctx.policy
    rejected = OtpRejected("the OTP is wrong, expired or used up; ask for a new one")
    f = schema.auth_failures
    who = caller_key(caller)
    since = now - DAY
    with ctx.store.write() as conn:
        by_caller = conn.execute(
            sa.select(sa.func.count()).where(f.c.kind == FAILURE_KIND, f.c.caller == who, f.c.at > since)
        ).scalar_one()
        if by_caller >= rules.otp_max_wrong_per_caller:
            raise OtpGuessesLimited(
                f"at most {rules.otp_max_wrong_per_caller} wrong OTPs a day from one address; "
                "try again later",
                retry_after_seconds=3600,
            )
        by_connection = conn.execute(
            sa.select(sa.func.count()).where(
                f.c.kind == FAILURE_KIND, f.c.subject == service_no, f.c.at > since
            )
        ).scalar_one()
        verified = None
        if by_connection < rules.otp_max_wrong_per_connection:
            verified = _check(ctx, conn, purpose=purpose, service_no=service_no, code=code, now=now)
        if verified is not None:
            return then(conn, verified)
        conn.execute(sa.insert(f).values(kind=FAILURE_KIND, subject=service_no, caller=who, at=now))
        if by_connection + 1 == rules.otp_max_wrong_per_connection:
            _alert_guesses_used_up(conn, service_no=service_no, caller=who, now=now)
    raise rejected


def _alert_guesses_used_up(conn: Connection, *, service_no: str, caller: str, now: dt.datetime) -> None:
    c = schema.connections
    if conn.execute(sa.select(c.c.service_no).where(c.c.service_no == service_no)).first() is None:
        return
    security_alerts.raise_alert(
        conn,
        kind=GUESSES_USED_UP,
        service_no=service_no,
        caller=caller,
        detail=(
            "the connection's wrong OTPs of the day are used up: its OTP sign-in and mobile change "
            "are refused for up to 24 hours; the consumer may need the helpline"
        ),
        now=now,
    )


def _check(
    ctx: Context, conn: Connection, *, purpose: str, service_no: str, code: object, now: dt.datetime
) -> Verified | None:
    o = schema.otps
    row = conn.execute(
        sa.select(o)
        .where(o.c.purpose == purpose, o.c.service_no == service_no, o.c.used_at.is_(None))
        .order_by(o.c.created_at.desc(), o.c.id.desc())
        .limit(1)
        .with_for_update()
    ).first()
    if row is None or row.expires_at <= now or row.tries >= ctx.policy.otp_max_tries:
        return None
    given = code if isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit() else "x"
    if not hmac.compare_digest(_hash(row.salt, given), row.code_hash):
        conn.execute(sa.update(o).where(o.c.id == row.id).values(tries=o.c.tries + 1))
        return None
    conn.execute(sa.update(o).where(o.c.id == row.id).values(used_at=now))
    return Verified(otp_id=row.id, service_no=row.service_no, recipient=row.recipient, via=row.via)
