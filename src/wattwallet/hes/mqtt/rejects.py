"""What the HES sent that WattWallet could not take, kept with the reason so nothing is lost silently.

A message is rejected when it is malformed, names a meter or command we do not know, or is a
reading that the register rules refuse (backwards, in the future, conflicting). Staff see them here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.store import bulk, schema

PAYLOAD_LIMIT = 2_000  # characters of the payload kept: enough to see what was wrong


@dataclasses.dataclass(frozen=True, slots=True)
class Reject:
    topic: str
    kind: str  # reading | ack | relay | other
    reason: str  # a machine-readable code (docs/hes-mqtt.md lists them)
    detail: str
    payload: str
    msg_id: str | None = None
    meter_serial: str | None = None


def text_of(payload: bytes) -> str:
    """The payload as text for the record (undecodable bytes shown, not fatal), cut to the limit."""
    return payload[: PAYLOAD_LIMIT * 4].decode("utf-8", errors="backslashreplace")[:PAYLOAD_LIMIT]


def add(conn: Connection, rejects: Sequence[Reject], *, now: dt.datetime) -> None:
    bulk.insert(
        conn,
        schema.hes_rejects,
        ("received_at", "topic", "kind", "msg_id", "meter_serial", "reason", "detail", "payload"),
        [
            (
                now,
                r.topic[:200],
                r.kind,
                r.msg_id[:64] if r.msg_id else None,
                r.meter_serial[:32] if r.meter_serial else None,
                r.reason[:40],
                r.detail,
                r.payload[:PAYLOAD_LIMIT],
            )
            for r in rejects
        ],
    )


def recent(ctx: Context, *, limit: int = 100, reason: str | None = None) -> list[dict[str, Any]]:
    """The newest rejects first, for staff."""
    h = schema.hes_rejects
    query = sa.select(h).order_by(h.c.received_at.desc(), h.c.id.desc()).limit(limit)
    if reason is not None:
        query = query.where(h.c.reason == reason)
    with ctx.store.read() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
