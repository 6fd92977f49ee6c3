"""Reconnection complaints (consumer, 1912 helpline, or opened automatically): 4-hour deadline."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import connection, errors, recharge
from wattwallet.domain import events as domain_events
from wattwallet.store import connections, schema

KINDS = ("reconnection",)
SOURCES = ("consumer", "helpline", "auto")


class ComplaintInvalid(errors.InvalidInput):
    code = "complaint_invalid"


class UnknownComplaint(errors.NotFound):
    code = "unknown_complaint"


class ComplaintConflict(errors.ReferenceReused):
    """The complaint reference was used before for another complaint."""


@dataclasses.dataclass(frozen=True)
class Complaint:
    ref: str
    service_no: str
    kind: str
    source: str
    opened_at: dt.datetime
    due_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: str | None
    replayed: bool = False  # answered as it stood: opened, or resolved, before this request

    def overdue(self, *, now: dt.datetime) -> bool:
        """Past its deadline: still open after it, or resolved after it."""
        return (self.resolved_at or now) > self.due_at


def open_complaint(
    ctx: Context,
    conn: Connection,
    *,
    service_no: str,
    kind: str,
    ref: str,
    source: str,
    now: dt.datetime,
    events: domain_events.Log,
) -> Complaint:
    """Open a complaint; the same ref again for the same connection is the same complaint."""
    if kind not in KINDS:
        raise ComplaintInvalid(f"complaint kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if source not in SOURCES:
        raise ComplaintInvalid(f"complaint source must be one of {', '.join(SOURCES)}, got {source!r}")
    ref = recharge.reference(ref, what="complaint reference")
    service_no = connection.service_number(service_no)
    connections.get(conn, service_no)  # raises UnknownConnection
    c = schema.complaints
    earlier = conn.execute(sa.select(c).where(c.c.ref == ref)).first()
    if earlier is not None:
        if earlier.service_no != service_no or earlier.kind != kind:
            raise ComplaintConflict(f"complaint {ref} was already opened for something else")
        return dataclasses.replace(_complaint(earlier), replayed=True)
    due_at = now + dt.timedelta(hours=ctx.policy.complaint_resolution_hours)
    conn.execute(
        sa.insert(c),
        {
            "ref": ref,
            "service_no": service_no,
            "kind": kind,
            "source": source,
            "opened_at": now,
            "due_at": due_at,
        },
    )
    events.append(
        domain_events.ComplaintOpened(
            at=now, connection=service_no, ref=ref, kind=kind, source=source, due=due_at
        )
    )
    return Complaint(ref, service_no, kind, source, now, due_at, None, None)


def resolve_open(
    conn: Connection,
    *,
    service_no: str,
    resolution: str,
    now: dt.datetime,
    events: domain_events.Log,
    by: str | None = None,
    note: str | None = None,
    ref: str | None = None,
) -> list[Complaint]:
    """Resolve the connection's open reconnection complaints (or the one named by `ref`)."""
    c = schema.complaints
    query = sa.select(c).where(c.c.service_no == service_no, c.c.resolved_at.is_(None))
    if ref is not None:
        query = query.where(c.c.ref == ref)
    rows = conn.execute(query.order_by(c.c.id)).all()
    for row in rows:
        conn.execute(
            sa.update(c)
            .where(c.c.id == row.id)
            .values(resolved_at=now, resolution=resolution, resolved_by=by, resolution_note=note)
        )
        events.append(
            domain_events.ComplaintResolved(
                at=now,
                connection=service_no,
                ref=row.ref,
                kind=row.kind,
                source=row.source,
                resolution=resolution,
                within_deadline=now <= row.due_at,
            )
        )
    return [dataclasses.replace(_complaint(row), resolved_at=now, resolution=resolution) for row in rows]


def resolve_by_staff(
    ctx: Context, *, ref: str, by: str, note: str, now: dt.datetime, events: domain_events.Log
) -> Complaint:
    if not note.strip() or len(note) > 2_000:
        raise ComplaintInvalid("a note (up to 2,000 characters) saying what was done is required")
    by = by.strip()
    if not by or len(by) > 64:
        raise ComplaintInvalid("say who resolved it: 1 to 64 characters")
    ref = ref.strip()
    with ctx.store.write() as conn:
        c = schema.complaints
        row = conn.execute(sa.select(c).where(c.c.ref == ref)).first()
        if row is None:
            raise UnknownComplaint(f"no complaint {ref}")
        if row.resolved_at is not None:
            return dataclasses.replace(_complaint(row), replayed=True)
        [done] = resolve_open(
            conn,
            service_no=row.service_no,
            resolution="staff",
            now=now,
            events=events,
            by=by,
            note=note,
            ref=ref,
        )
        return done


def listing(ctx: Context, *, now: dt.datetime, open_only: bool = True) -> list[Complaint]:
    """The helpline's queue, oldest deadline first; `overdue` marks those past 4 hours."""
    c = schema.complaints
    query = sa.select(c).order_by(c.c.due_at)
    if open_only:
        query = query.where(c.c.resolved_at.is_(None))
    with ctx.store.read() as conn:
        return [_complaint(row) for row in conn.execute(query)]


def _complaint(row: Any) -> Complaint:
    return Complaint(
        row.ref,
        row.service_no,
        row.kind,
        row.source,
        row.opened_at,
        row.due_at,
        row.resolved_at,
        row.resolution,
    )
