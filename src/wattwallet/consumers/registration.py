"""Registering service connections with their meter, wallet and any opening money, and the consumer's
choice of language."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import alerts, clock, connection, errors, phone
from wattwallet.domain import events as domain_events
from wattwallet.ledger import accounts, postings
from wattwallet.store import connections, schema


class ConnectionExists(errors.Conflict):
    code = "connection_exists"


class MeterInUse(errors.Conflict):
    code = "meter_in_use"


class ConsumerNameInvalid(errors.InvalidInput):
    code = "consumer_name_invalid"


class RegisterInvalid(errors.InvalidInput):
    code = "register_invalid"


@dataclasses.dataclass(frozen=True)
class NewConnection:
    """A connection as the DISCOM registers it; every field already validated by `parse`."""

    service_no: str
    consumer_name: str
    category: str
    load_kw: Decimal
    mode: connection.BillingMode
    mobile: str
    language: connection.Language
    meter_serial: str
    register_wh: int = 0
    arrears_paise: int = 0
    # For connections already in service when they join WattWallet: no first-recharge rule,
    # and the wallet opens with the balance brought over (which may be negative).
    first_recharge_done: bool = False
    opening_balance_paise: int = 0


def parse(
    ctx: Context,
    *,
    service_no: object,
    consumer_name: object,
    category: object,
    load_kw: object,
    mode: object,
    mobile: object,
    language: object,
    meter_serial: object,
    register_kwh: object = 0,
    arrears_paise: int = 0,
    first_recharge_done: bool = False,
    opening_balance_paise: int = 0,
    today: dt.date,
) -> NewConnection:
    name = consumer_name.strip() if isinstance(consumer_name, str) else ""
    if not name or len(name) > 120:
        raise ConsumerNameInvalid(f"consumer name must be 1 to 120 characters, got {consumer_name!r}")
    category_key = str(category).strip()
    ctx.tariffs.category(category_key, on=today)  # raises UnknownCategory
    if opening_balance_paise and not first_recharge_done:
        raise errors.InvalidInput(
            "an opening balance needs first_recharge_done (a connection already in service)"
        )
    if arrears_paise < 0:
        raise errors.InvalidInput("arrears cannot be negative")
    return NewConnection(
        service_no=connection.service_number(service_no),
        consumer_name=name,
        category=category_key,
        load_kw=connection.load_kw(load_kw),
        mode=connection.billing_mode(mode),
        mobile=phone.normalize_mobile(mobile),
        language=connection.language(language),
        meter_serial=connection.meter_serial(meter_serial),
        register_wh=_register_wh(register_kwh),
        arrears_paise=arrears_paise,
        first_recharge_done=first_recharge_done,
        opening_balance_paise=opening_balance_paise,
    )


def _register_wh(raw: object) -> int:
    try:
        kwh = Decimal(str(raw))
    except ArithmeticError:
        kwh = Decimal(-1)
    if isinstance(raw, bool) or not kwh.is_finite() or kwh < 0 or kwh >= 10**9:
        raise RegisterInvalid(f"meter register must be a kWh reading of 0 or more, got {raw!r}")
    return int(kwh * 1000)


def add(ctx: Context, new: NewConnection, *, now: dt.datetime) -> None:
    """Register the connection, its meter and its accounts, and post any opening money."""
    with ctx.store.write() as conn:
        if conn.execute(
            sa.select(schema.connections.c.service_no).where(
                schema.connections.c.service_no == new.service_no
            )
        ).first():
            raise ConnectionExists(f"connection {new.service_no} already exists", service_no=new.service_no)
        if conn.execute(
            sa.select(schema.meters.c.serial).where(schema.meters.c.serial == new.meter_serial)
        ).first():
            raise MeterInUse(f"meter {new.meter_serial} is already installed on another connection")
        consumer_id = conn.execute(
            sa.insert(schema.consumers).returning(schema.consumers.c.id),
            {"name": new.consumer_name, "created_at": now},
        ).scalar_one()
        conn.execute(
            sa.insert(schema.connections),
            {
                "service_no": new.service_no,
                "consumer_id": consumer_id,
                "category": new.category,
                "sanctioned_load_w": int(new.load_kw * 1000),
                "billing_mode": new.mode.value,
                "mobile": new.mobile,
                "language": new.language.value,
                "state": connection.State.ACTIVE.value,
                "first_recharge_done": new.first_recharge_done,
                "created_at": now,
                "updated_at": now,
            },
        )
        conn.execute(
            sa.insert(schema.meters),
            {
                "serial": new.meter_serial,
                "service_no": new.service_no,
                "relay": "closed",
                "commissioned_register_wh": new.register_wh,
                "installed_at": now,
            },
        )
        accounts.open_connection_accounts(conn, service_no=new.service_no, now=now)
        _start_billing(ctx, conn, new, now=now)
        _post_opening_money(conn, new, now=now)


def _start_billing(ctx: Context, conn: Connection, new: NewConnection, *, now: dt.datetime) -> None:
    """Billing starts from the register at installation, on the day of installation (IST)."""
    today = clock.ist_date(now)
    load_w = int(new.load_kw * 1000)
    conn.execute(
        sa.insert(schema.prepaid_state),
        {
            "service_no": new.service_no,
            "billed_through": today,
            "billed_register_wh": new.register_wh,
            "last_read_at": now,
            "last_read_date": today,
            "last_register_wh": new.register_wh,
            "month_start": today.replace(day=1),
            "month_first_day": today,
            "mtd_wh": 0,
            "recent_daily_paise": "",
            "adc_paise": alerts.default_adc(category=new.category, load_w=load_w, rules=ctx.policy),
            "alerts_sent": 0,
            "zero_alert_at": None,
            "emergency_credit_paise": 0,
            "disconnect_due_at": None,
            "updated_at": now,
        },
    )


def _post_opening_money(conn: Connection, new: NewConnection, *, now: dt.datetime) -> None:
    book = postings.lock(conn, service_no=new.service_no)
    if new.arrears_paise:
        postings.post(
            conn,
            book,
            kind="dues.arrears",
            lines=[
                postings.Line(accounts.dues(new.service_no), new.arrears_paise),
                postings.Line(accounts.OPENING_ARREARS, -new.arrears_paise),
            ],
            occurred_at=now,
            recorded_at=now,
            memo="arrears brought forward",
        )
    if new.opening_balance_paise:
        postings.post(
            conn,
            book,
            kind="wallet.opening",
            lines=[
                postings.Line(accounts.OPENING_WALLETS, new.opening_balance_paise),
                postings.Line(accounts.wallet(new.service_no), -new.opening_balance_paise),
            ],
            occurred_at=now,
            recorded_at=now,
            memo="wallet balance brought over",
        )


def set_language(
    ctx: Context, *, service_no: str, language: str, now: dt.datetime, events: domain_events.Log | None = None
) -> domain_events.LanguageChanged:
    """The consumer's choice of English or Telugu for bills, alerts and OTPs; any time."""
    chosen = connection.language(language)
    service_no = connection.service_number(service_no)
    with ctx.store.write() as conn:
        before = connections.get(conn, service_no)
        c = schema.connections
        conn.execute(
            sa.update(c).where(c.c.service_no == service_no).values(language=chosen.value, updated_at=now)
        )
    changed = domain_events.LanguageChanged(
        at=now, connection=service_no, before=before.language.value, after=chosen.value
    )
    if events is not None:
        events.append(changed)
    return changed
