"""What staff are told about attacks on sign-in: a row each, listed newest first at
`GET /staff/security-alerts`. Raised today when a connection's wrong OTPs of the day are used up
(its OTP sign-in is then refused for up to 24 hours, and the owner may call the helpline)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.store import schema

MAX_LIMIT = 500


@dataclasses.dataclass(frozen=True)
class Alert:
    id: int
    kind: str
    service_no: str | None
    caller: str | None  # the address whose guess used up the cap
    detail: str
    raised_at: dt.datetime


def raise_alert(
    conn: Connection, *, kind: str, service_no: str | None, caller: str | None, detail: str, now: dt.datetime
) -> None:
    """Record an alert in the caller's transaction."""
    conn.execute(
        sa.insert(schema.security_alerts).values(
            kind=kind, service_no=service_no, caller=caller, detail=detail, raised_at=now
        )
    )


def recent(ctx: Context, *, limit: int = 100) -> list[Alert]:
    """The newest alerts first."""
    a = schema.security_alerts
    limit = max(1, min(limit, MAX_LIMIT))
    with ctx.store.read() as conn:
        rows = conn.execute(sa.select(a).order_by(a.c.raised_at.desc(), a.c.id.desc()).limit(limit)).all()
    return [Alert(r.id, r.kind, r.service_no, r.caller, r.detail, r.raised_at) for r in rows]
