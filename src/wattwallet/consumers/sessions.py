"""Bearer tokens for signed-in consumers and staff. A token is 256 random bits shown once; only its
SHA-256 is stored, so a copy of the database signs no one in."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.store import schema

CONSUMER = "consumer"
STAFF = "staff"


@dataclasses.dataclass(frozen=True)
class Session:
    kind: str
    subject: str  # consumer: the mobile signed in with; staff: the username
    service_no: str | None
    role: str | None
    expires_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class Issued:
    token: str
    session: Session


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    conn: Connection,
    *,
    kind: str,
    subject: str,
    minutes: int,
    now: dt.datetime,
    service_no: str | None = None,
    role: str | None = None,
) -> Issued:
    token = secrets.token_urlsafe(32)
    expires_at = now + dt.timedelta(minutes=minutes)
    conn.execute(
        sa.insert(schema.api_sessions).values(
            token_hash=_digest(token),
            kind=kind,
            subject=subject,
            service_no=service_no,
            role=role,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return Issued(token, Session(kind, subject, service_no, role, expires_at))


def resolve(ctx: Context, token: str, *, now: dt.datetime) -> Session | None:
    """The live session a token names, or None (unknown, expired or signed out)."""
    if not token or len(token) > 200:
        return None
    s = schema.api_sessions
    with ctx.store.read() as conn:
        row = conn.execute(sa.select(s).where(s.c.token_hash == _digest(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    return Session(row.kind, row.subject, row.service_no, row.role, row.expires_at)


def revoke(ctx: Context, token: str, *, now: dt.datetime) -> None:
    s = schema.api_sessions
    with ctx.store.write() as conn:
        conn.execute(
            sa.update(s)
            .where(s.c.token_hash == _digest(token), s.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
