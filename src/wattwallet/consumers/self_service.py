"""What a signed-in consumer may change on a connection of their own, in the app or on the website:
the registered mobile (DOMAIN.md §7, confirmed by an OTP sent to the new number) and reconnection
complaints (§5, 4-hour deadline).

`holder` is the mobile the consumer signed in with. Each write checks again, under a lock on the
connection's row, that it still holds the connection: a mobile change that committed meanwhile (at
the helpline, or in another session) takes the connection out of reach at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.consumers import access as consumer_access
from wattwallet.consumers import account as account_views
from wattwallet.consumers import mobile_change as mobile
from wattwallet.consumers import otp
from wattwallet.context import Context
from wattwallet.domain import clock, connection, errors, phone
from wattwallet.domain import events as domain_events
from wattwallet.lifecycle import complaints
from wattwallet.store import schema

NOTE_MAX = 500


class ComplaintNotAllowed(errors.RuleViolation):
    code = "complaint_not_allowed"


class NoteInvalid(errors.InvalidInput):
    code = "complaint_note_invalid"


@dataclasses.dataclass(frozen=True)
class Opened:
    complaint: complaints.Complaint
    new: bool  # False: the connection's open complaint of this kind, given back


def request_mobile_change(
    ctx: Context,
    *,
    holder: str,
    service_no: str,
    new_mobile: object,
    via: str,
    caller: str,
    now: dt.datetime,
) -> otp.Requested:
    """Queue an OTP to the new number, in the consumer's language (the dispatcher sends it): proves
    the consumer receives texts there before anything changes."""
    if via not in mobile.SELF_SERVICE:
        raise mobile.ChannelInvalid(f"a self-service change comes through {' or '.join(mobile.SELF_SERVICE)}")
    new = phone.normalize_mobile(new_mobile)
    number = connection.service_number(service_no)
    with ctx.store.write() as conn:
        _held(conn, holder=holder, service_no=number)
        if new == holder:
            raise mobile.MobileUnchanged("the new number is the registered number already")
        return otp.request(
            ctx,
            conn,
            purpose=otp.MOBILE_CHANGE,
            service_no=number,
            recipient=new,
            caller=caller,
            now=now,
            via=via,
        )


def confirm_mobile_change(
    ctx: Context,
    *,
    holder: str,
    service_no: str,
    code: object,
    caller: str,
    now: dt.datetime,
    events: domain_events.Log | None = None,
) -> mobile.MobileChange:
    """Check the OTP and make the change in one transaction: the OTP is used up only if the change
    is made, and a change is never made without it. Both numbers are told."""
    events = [] if events is None else events  # a caller that needs no replay lines passes none
    number = connection.service_number(service_no)
    follow: domain_events.Log = []

    def change(conn: Connection, verified: otp.Verified) -> mobile.MobileChange:
        _held(conn, holder=holder, service_no=number)
        return mobile.apply(
            conn,
            service_no=number,
            new_mobile=verified.recipient,
            via=verified.via or "",
            now=now,
            events=follow,
        )

    done = otp.verify_then(
        ctx, purpose=otp.MOBILE_CHANGE, service_no=number, code=code, caller=caller, now=now, then=change
    )
    events.extend(follow)
    return done


def open_complaint(
    ctx: Context,
    *,
    holder: str,
    service_no: str,
    kind: str,
    note: str | None,
    now: dt.datetime,
    events: domain_events.Log | None = None,
) -> Opened:
    """Open a consumer complaint with its deadline. While one of the same kind is open, asking
    again gives that one back: a second tap neither duplicates it nor moves its deadline."""
    events = [] if events is None else events  # a caller that needs no replay lines passes none
    text = note.strip() if isinstance(note, str) else ""
    if len(text) > NOTE_MAX:
        raise NoteInvalid(f"a note is at most {NOTE_MAX} characters")
    number = connection.service_number(service_no)
    follow: domain_events.Log = []
    c = schema.complaints
    with ctx.store.write() as conn:
        _held(conn, holder=holder, service_no=number)
        state = conn.execute(
            sa.select(schema.connections.c.state).where(schema.connections.c.service_no == number)
        ).scalar_one()
        if state == connection.State.TERMINATED.value:
            raise ComplaintNotAllowed("the connection is terminated: there is no supply to restore")
        earlier = conn.execute(
            sa.select(c)
            .where(c.c.service_no == number, c.c.kind == kind, c.c.resolved_at.is_(None))
            .order_by(c.c.id)
            .limit(1)
        ).first()
        if earlier is not None:
            return Opened(account_views.as_complaint(earlier), new=False)
        ref = f"C{clock.ist_date(now):%y%m%d}-{secrets.token_hex(4).upper()}"
        opened = complaints.open_complaint(
            ctx, conn, service_no=number, kind=kind, ref=ref, source="consumer", now=now, events=follow
        )
        if text:
            conn.execute(sa.update(c).where(c.c.ref == ref).values(note=text))
    events.extend(follow)
    return Opened(opened, new=True)


def _held(conn: Connection, *, holder: str, service_no: str) -> str:
    """Lock the connection's row and check `holder` still holds it; its language if so."""
    c = schema.connections
    row = conn.execute(
        sa.select(c.c.mobile, c.c.language).where(c.c.service_no == service_no).with_for_update()
    ).first()
    if row is None or row.mobile != holder:
        raise consumer_access.NotYourConnection("no such connection among yours")
    language: str = row.language
    return language
