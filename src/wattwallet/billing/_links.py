"""Signed, expiring links to exactly one bill: the token in the SMS opens that bill's PDF and nothing
else, without sign-in.

A token is base64url(bill id: 6 bytes, expiry day: 2 bytes, HMAC-SHA256 of both: first 9 bytes), 23
characters, so that it fits a DLT variable (at most 30). The expiry is a UTC day number since
2020-01-01: the link works to the end of that day. A forged, altered or expired token is refused
alike (the caller learns nothing about which).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.store import schema

EPOCH = dt.date(2020, 1, 1)
_ID_BYTES, _DAY_BYTES, _MAC_BYTES = 6, 2, 9
TOKEN_CHARS = 23


def key(conn: Connection, *, configured: str | None, now: dt.datetime) -> bytes:
    """The signing key: the configured one, else the store's own (made once, on first use)."""
    if configured:
        return configured.encode()
    k = schema.bill_link_keys
    found = conn.execute(sa.select(k.c.secret).where(k.c.id == 1)).scalar()
    if found is None:
        insert = sa.insert(k).values(id=1, secret=secrets.token_hex(32), created_at=now)
        try:
            with conn.begin_nested():
                conn.execute(insert)
        except sa.exc.IntegrityError:
            pass  # made by another process meanwhile
        found = conn.execute(sa.select(k.c.secret).where(k.c.id == 1)).scalar_one()
    return bytes.fromhex(found)


def existing_key(conn: Connection, *, configured: str | None) -> bytes | None:
    """The signing key if there is one, without making it (checking a link writes nothing)."""
    if configured:
        return configured.encode()
    found = conn.execute(
        sa.select(schema.bill_link_keys.c.secret).where(schema.bill_link_keys.c.id == 1)
    ).scalar()
    return None if found is None else bytes.fromhex(found)


def sign(secret: bytes, *, bill_id: int, expires_on: dt.date) -> str:
    day = (expires_on - EPOCH).days
    if not 0 <= bill_id < 2 ** (8 * _ID_BYTES) or not 0 <= day < 2 ** (8 * _DAY_BYTES):
        raise ValueError("bill id or expiry out of the token's range")
    body = bill_id.to_bytes(_ID_BYTES, "big") + day.to_bytes(_DAY_BYTES, "big")
    mac = hmac.new(secret, body, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(body + mac).decode().rstrip("=")


def verify(secret: bytes, token: str, *, today: dt.date) -> int | None:
    """The bill id of a valid, unexpired token; None for anything else."""
    if len(token) != TOKEN_CHARS or not token.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _ID_BYTES + _DAY_BYTES + _MAC_BYTES:
        return None
    body, mac = raw[: _ID_BYTES + _DAY_BYTES], raw[_ID_BYTES + _DAY_BYTES :]
    if not hmac.compare_digest(mac, hmac.new(secret, body, hashlib.sha256).digest()[:_MAC_BYTES]):
        return None
    if base64.urlsafe_b64encode(raw).decode().rstrip("=") != token:
        return None  # another spelling of the same bytes
    expires_on = EPOCH + dt.timedelta(days=int.from_bytes(body[_ID_BYTES:], "big"))
    if today > expires_on:
        return None
    return int.from_bytes(body[:_ID_BYTES], "big")
