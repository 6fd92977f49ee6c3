"""A consumer signs in with the customer ID (service number) and an OTP sent to its registered mobile.

One mobile may hold several connections; a session sees every connection whose registered mobile is
the one it signed in with, checked on each request, so a mobile change moves access with it.
Unknown customer IDs get the same answers as known ones (no enumeration).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from wattwallet.consumers import otp, sessions
from wattwallet.context import Context
from wattwallet.domain import connection, errors
from wattwallet.store import connections, schema


class NotYourConnection(errors.NotFound):
    """Someone else's connection looks exactly like one that does not exist."""

    code = "connection_not_found"


def request_sign_in_otp(ctx: Context, *, service_no: object, caller: str, now: dt.datetime) -> None:
    """Queue a sign-in OTP for the registered mobile; the dispatcher sends it after the answer.
    Says nothing of whether the customer ID exists or whether a per-number limit will hold the OTP
    back, and costs the same time either way: nothing here looks the customer ID up. (A malformed
    customer ID is refused: its format is public, so that tells nothing. A caller over its own
    daily cap gets `otp.OtpRateLimited`, which says nothing of any customer ID either.)"""
    number = connection.service_number(service_no)
    with ctx.store.write() as conn:
        otp.request(ctx, conn, purpose=otp.SIGN_IN, service_no=number, caller=caller, now=now)


def sign_in(
    ctx: Context, *, service_no: object, code: object, caller: str, now: dt.datetime, minutes: int
) -> sessions.Issued:
    number = connection.service_number(service_no)

    def start(conn: sa.Connection, verified: otp.Verified) -> sessions.Issued:
        return sessions.issue(
            conn,
            kind=sessions.CONSUMER,
            subject=verified.recipient,
            service_no=number,
            minutes=minutes,
            now=now,
        )

    return otp.verify_then(
        ctx, purpose=otp.SIGN_IN, service_no=number, code=code, caller=caller, now=now, then=start
    )


def check_owner(ctx: Context, session: sessions.Session, service_no: object) -> str:
    """The service number, if this session's mobile holds it; `NotYourConnection` otherwise."""
    try:
        number = connection.service_number(service_no)
    except errors.InvalidInput:
        raise NotYourConnection("no such connection among yours") from None
    c = schema.connections
    with ctx.store.read() as conn:
        mobile = conn.execute(sa.select(c.c.mobile).where(c.c.service_no == number)).scalar_one_or_none()
    if mobile is None or mobile != session.subject:
        raise NotYourConnection("no such connection among yours")
    return number


def _connection_or_none(conn: sa.Connection, service_no: str) -> connections.ConnectionRow | None:
    try:
        return connections.get(conn, service_no)
    except connections.UnknownConnection:
        return None
