"""Changing the registered mobile number (DOMAIN.md §7).

In the app or on the website the consumer confirms the new number with an OTP sent to it (the HTTP
API runs `apply` inside the transaction that checks the OTP); at the 1912 helpline or a service
centre an executive checks the customer ID with the old and the new number and gives the call or
counter reference. Every change is audited, and both numbers are told.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from wattwallet.context import Context
from wattwallet.domain import connection, errors, phone, recharge
from wattwallet.domain import events as domain_events
from wattwallet.lifecycle import consequences as balance
from wattwallet.messaging import outbox as notifications
from wattwallet.store import connections, schema

SELF_SERVICE = ("app", "website")
STAFF = ("helpline", "service_centre")


class ChannelInvalid(errors.InvalidInput):
    code = "mobile_change_channel_invalid"


class OldMobileMismatch(errors.RuleViolation):
    code = "old_mobile_mismatch"


class MobileUnchanged(errors.InvalidInput):
    code = "mobile_unchanged"


class StaffDetailsMissing(errors.InvalidInput):
    code = "staff_details_missing"


@dataclasses.dataclass(frozen=True)
class MobileChange:
    service_no: str
    old: str
    new: str
    via: str
    reference: str | None
    by: str | None
    at: dt.datetime


def change(
    ctx: Context,
    *,
    service_no: str,
    new_mobile: str,
    via: str,
    now: dt.datetime,
    events: domain_events.Log | None = None,
    old_mobile: str | None = None,
    reference: str | None = None,
    by: str | None = None,
) -> MobileChange:
    """Change the registered mobile. Staff channels need the old number (it must match), the call or
    counter reference and who made the change."""
    events = [] if events is None else events  # a caller that needs no replay lines passes none
    follow: domain_events.Log = []
    with ctx.store.write() as conn:
        done = apply(
            conn,
            service_no=service_no,
            new_mobile=new_mobile,
            via=via,
            now=now,
            events=follow,
            old_mobile=old_mobile,
            reference=reference,
            by=by,
        )
    events.extend(follow)
    return done


def apply(
    conn: sa.Connection,
    *,
    service_no: str,
    new_mobile: str,
    via: str,
    now: dt.datetime,
    events: domain_events.Log,
    old_mobile: str | None = None,
    reference: str | None = None,
    by: str | None = None,
) -> MobileChange:
    """`change` inside the caller's write transaction: the app's OTP confirmation runs it in the
    transaction that uses the OTP up, so the OTP is spent only if the change is made. What follows
    goes to `events`; hand them on only once the transaction has committed."""
    if via not in SELF_SERVICE + STAFF:
        raise ChannelInvalid(f"a mobile change comes through {', '.join(SELF_SERVICE + STAFF)}, got {via!r}")
    service_no = connection.service_number(service_no)
    new = phone.normalize_mobile(new_mobile)
    if via in STAFF:
        if old_mobile is None or reference is None or not (by or "").strip() or len(by or "") > 64:
            raise StaffDetailsMissing(
                "a helpline or service-centre change needs the old number, the call or counter reference "
                "and who made it"
            )
        reference = recharge.reference(reference, what="call or counter reference")
    # Lock the connection's row first, so two changes at once (app and helpline) queue up and the
    # second sees the first's number.
    c = schema.connections
    conn.execute(sa.select(c.c.service_no).where(c.c.service_no == service_no).with_for_update())
    target = connections.get(conn, service_no)
    if via in STAFF and phone.normalize_mobile(old_mobile) != target.mobile:
        raise OldMobileMismatch("the old number given does not match the registered number")
    if new == target.mobile:
        raise MobileUnchanged("the new number is the registered number already")
    c = schema.connections
    conn.execute(sa.update(c).where(c.c.service_no == service_no).values(mobile=new, updated_at=now))
    conn.execute(
        sa.insert(schema.mobile_changes),
        {
            "service_no": service_no,
            "old_mobile": target.mobile,
            "new_mobile": new,
            "via": via,
            "reference": reference,
            "changed_by": by,
            "changed_at": now,
        },
    )
    events.append(
        domain_events.MobileChanged(at=now, connection=service_no, via=via, old=target.mobile, new=new)
    )
    figures = {"new_mobile_masked": phone.masked(new), "via": via}
    language = target.language.value
    balance.notify(
        conn,
        [
            notifications.Message(service_no, language, "mobile_changed", figures, ("sms",), target.mobile),
            notifications.Message(service_no, language, "mobile_changed", figures, ("sms",), new),
        ],
        now=now,
        events=events,
    )
    return MobileChange(service_no, target.mobile, new, via, reference, by, now)
