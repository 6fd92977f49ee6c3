"""A consumer's choice of channels (SMS, WhatsApp, app push) per connection, and the messages no
choice can stop.

Mandatory kinds always go by SMS to the number they are for, whatever is chosen: the OTPs (§7),
the balance alerts and emergency credit that come before a disconnection (§3), the disconnection
notices, the short-bill notices (§4: money is taken from the wallet on day 15), termination, the
mobile-change notices that tell the old number of a change (§7), and the notice that a payment
taken could not be credited and is to be refunded (`refund_due`), the e-bills, and the notices of a
billing-mode switch (§8: the balance moves to the other side). Only receipts and the
reconnection notices (`OPTIONAL_KINDS`) would follow an SMS opt-out; because that leaves SMS
carrying all but four kinds, and because the registered mobile is where the rules send notices,
SMS is not a switch the consumer can turn off at all (`ChannelMandatory`). WhatsApp needs an
opt-in (Meta's rule for business messages); the app is on until turned off.

OTPs never go through the outbox: their code must not be stored, so `notify.sms` sends them
directly, and their (masked) notification rows get no deliveries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import connection, errors
from wattwallet.messaging import templates
from wattwallet.store import connections, schema

CHANNELS: Final = ("sms", "whatsapp", "app")
DEFAULTS: Final[Mapping[str, bool]] = {"sms": True, "whatsapp": False, "app": True}
SWITCHABLE: Final = frozenset({"whatsapp", "app"})

DIRECT_KINDS: Final = frozenset({"otp_sign_in", "otp_mobile_change"})  # sent at once, never stored
MANDATORY_KINDS: Final = frozenset(
    {
        "otp_sign_in",
        "otp_mobile_change",
        "low_balance_3_days",
        "low_balance_2_days",
        "zero_balance",
        "emergency_credit",
        "disconnection_scheduled",
        "disconnected",
        "short_bill_raised",
        "short_bill_reminder",
        "short_bill_deducted",
        "bill_ready",  # the monthly e-bill replaces the paper bill (§6): not something to opt out of
        "postpaid_bill_ready",  # the same, with a due date (§8)
        "mode_switch_scheduled",  # how the consumer's money is held is changing (§8)
        "mode_changed",
        "termination",
        "mobile_changed",
        "refund_due",
    }
)
OPTIONAL_KINDS: Final = frozenset(templates.KINDS) - MANDATORY_KINDS


class ChannelMandatory(errors.RuleViolation):
    code = "channel_mandatory"


class ChannelUnknown(errors.InvalidInput):
    code = "channel_unknown"


@dataclasses.dataclass(frozen=True)
class Choices:
    service_no: str
    enabled: Mapping[str, bool]  # every channel, defaults filled in


def _read(conn: Connection, service_no: str) -> Choices:
    p = schema.channel_preferences
    rows = conn.execute(sa.select(p.c.channel, p.c.enabled).where(p.c.service_no == service_no)).all()
    chosen = {row.channel: bool(row.enabled) for row in rows}
    return Choices(service_no=service_no, enabled={c: chosen.get(c, DEFAULTS[c]) for c in CHANNELS})


def get(ctx: Context, *, service_no: str) -> Choices:
    number = connection.service_number(service_no)
    with ctx.store.read() as conn:
        connections.get(conn, number)
        return _read(conn, number)


def choose(ctx: Context, *, service_no: str, changes: Mapping[str, bool], now: dt.datetime) -> Choices:
    """Turn channels on or off; messages recorded from now on follow the new choice. Refuses the
    whole change (nothing written) if any part of it is refused."""
    number = connection.service_number(service_no)
    for channel, enabled in changes.items():
        if channel not in CHANNELS:
            raise ChannelUnknown(f"no channel {channel!r}; channels: {', '.join(CHANNELS)}", channel=channel)
        if not enabled and channel not in SWITCHABLE:
            raise ChannelMandatory(
                "SMS to the registered mobile cannot be turned off: OTPs, balance alerts, "
                "disconnection, short-bill and mobile-change notices always go by SMS",
                channel=channel,
            )
    with ctx.store.write() as conn:
        connections.get(conn, number)
        for channel, enabled in changes.items():
            _upsert(conn, service_no=number, channel=channel, enabled=enabled, now=now)
        return _read(conn, number)


def _upsert(conn: Connection, *, service_no: str, channel: str, enabled: bool, now: dt.datetime) -> None:
    p = schema.channel_preferences
    values = {"service_no": service_no, "channel": channel, "enabled": enabled, "updated_at": now}
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(p).values(**values)
        conn.execute(
            pg.on_conflict_do_update(
                index_elements=[p.c.service_no, p.c.channel],
                set_={"enabled": pg.excluded.enabled, "updated_at": pg.excluded.updated_at},
            )
        )
        return
    lite = sqlite.insert(p).values(**values)
    conn.execute(
        lite.on_conflict_do_update(
            index_elements=[p.c.service_no, p.c.channel],
            set_={"enabled": lite.excluded.enabled, "updated_at": lite.excluded.updated_at},
        )
    )
