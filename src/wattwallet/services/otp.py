"""One-time passwords (DOMAIN.md §7): 6 digits, 5 minutes, stored hashed, a few tries, rate limited.

An OTP is bound to a purpose (sign-in, mobile change) and a connection, and goes to one number:
the registered mobile for sign-in, the new number for a mobile change. Its text is rendered from the
notification templates in the consumer's language and handed to `ctx.sms` at once; what is
recorded among the notifications shows the code masked. Numbers come from `Policy.otp_*`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import errors, phone
from wattwallet.notify import sms, templates
from wattwallet.services import notifications
from wattwallet.store import schema

SIGN_IN = "sign_in"
MOBILE_CHANGE = "mobile_change"
T = TypeVar("T")
_TEMPLATE = {SIGN_IN: "otp_sign_in", MOBILE_CHANGE: "otp_mobile_change"}


class OtpRejected(errors.Unauthenticated):
    """Wrong, expired, used or exhausted: one answer for all, so a guesser learns nothing."""

    code = "otp_invalid"


class OtpRateLimited(errors.RateLimited):
    code = "otp_rate_limited"


@dataclasses.dataclass(frozen=True)
class Issued:
    otp_id: int
    recipient: str  # masked
    expires_at: dt.datetime
    text: sms.Sms = dataclasses.field(repr=False)  # holds the code: hand to `send`, never log or store


def send(ctx: Context, issued: Issued) -> None:
    """Hand the OTP text to the SMS sender. Call it after the transaction that issued the OTP has
    committed, so no database lock is held during the gateway's HTTP call."""
    ctx.sms.send(issued.text)


@dataclasses.dataclass(frozen=True)
class Verified:
    otp_id: int
    service_no: str
    recipient: str
    via: str | None


def _hash(salt: str, code: str) -> str:
    return hmac.new(bytes.fromhex(salt), code.encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def issue(
    ctx: Context,
    conn: Connection,
    *,
    purpose: str,
    service_no: str,
    recipient: str,
    language: str,
    now: dt.datetime,
    via: str | None = None,
) -> Issued:
    """Create an OTP inside the caller's write transaction; `send` it once that has committed.
    Raises `OtpRateLimited` when the number or the connection has had `otp_max_sends` in the window."""
    rules = ctx.policy
    since = now - dt.timedelta(minutes=rules.otp_send_window_minutes)
    o = schema.otps
    recent = conn.execute(
        sa.select(sa.func.count())
        .select_from(o)
        .where(o.c.created_at > since, sa.or_(o.c.recipient == recipient, o.c.service_no == service_no))
    ).scalar_one()
    if recent >= rules.otp_max_sends:
        raise OtpRateLimited(
            f"at most {rules.otp_max_sends} OTPs per {rules.otp_send_window_minutes} minutes; "
            "try again later",
            retry_after_seconds=rules.otp_send_window_minutes * 60,
        )
    code = new_code()
    salt = secrets.token_hex(16)
    expires_at = now + dt.timedelta(minutes=rules.otp_valid_minutes)
    otp_id = conn.execute(
        sa.insert(o)
        .values(
            purpose=purpose,
            service_no=service_no,
            recipient=recipient,
            via=via,
            salt=salt,
            code_hash=_hash(salt, code),
            tries=0,
            created_at=now,
            expires_at=expires_at,
        )
        .returning(o.c.id)
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
    return Issued(otp_id=otp_id, recipient=phone.masked(recipient), expires_at=expires_at, text=text)


def verify_then(
    ctx: Context,
    *,
    purpose: str,
    service_no: str,
    code: object,
    now: dt.datetime,
    then: Callable[[Connection, Verified], T],
) -> T:
    """Check `code` against the newest unused OTP of this purpose and connection; when it matches,
    use it up and run `then` in the same transaction. A wrong code counts a try (committed even
    though the call fails) and raises `OtpRejected`, as does an expired, used or exhausted OTP."""
    rejected = OtpRejected("the OTP is wrong, expired or used up; ask for a new one")
    with ctx.store.write() as conn:
        verified = _check(ctx, conn, purpose=purpose, service_no=service_no, code=code, now=now)
        if verified is not None:
            return then(conn, verified)
    raise rejected


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
