"""Registering service connections with their meter, wallet and any opening money, and the consumer's
choice of language."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import alerts, clock, connection, errors, phone
from wattwallet.domain import events as domain_events
from wattwallet.ledger import accounts, postings
from wattwallet.store import bulk, connections, schema


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
    chosen_mode = connection.billing_mode(mode)
    if opening_balance_paise and chosen_mode is connection.BillingMode.POSTPAID:
        raise errors.InvalidInput("a postpaid connection has no wallet balance: record its arrears instead")
    return NewConnection(
        service_no=connection.service_number(service_no),
        consumer_name=name,
        category=category_key,
        load_kw=connection.load_kw(load_kw),
        mode=chosen_mode,
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
        add_many(ctx, conn, [new], now=now)


def add_many(ctx: Context, conn: Connection, news: Sequence[NewConnection], *, now: dt.datetime) -> None:
    """The one writer of new connections (the CLI and API one at a time, the demo population and the
    benchmark fleets by the thousand), in a few statements: the consumers, the connections, their
    meters, wallet and dues accounts, the billing state from the meter's register on the day of
    installation (IST), and any opening money (arrears to dues, a balance brought over to the wallet).
    The caller has checked the numbers are new (`add` does); a clash fails on the unique keys."""
    if not news:
        return
    ids = (
        conn.execute(
            sa.insert(schema.consumers).returning(schema.consumers.c.id, sort_by_parameter_order=True),
            [{"name": new.consumer_name, "created_at": now} for new in news],
        )
        .scalars()
        .all()
    )
    bulk.insert(
        conn,
        schema.connections,
        _CONNECTION_COLUMNS,
        [
            (
                new.service_no,
                consumer_id,
                new.category,
                int(new.load_kw * 1000),
                new.mode.value,
                new.mobile,
                new.language.value,
                connection.State.ACTIVE.value,
                new.first_recharge_done,
                now,
                now,
            )
            for new, consumer_id in zip(news, ids, strict=True)
        ],
    )
    bulk.insert(
        conn,
        schema.meters,
        ("serial", "service_no", "relay", "commissioned_register_wh", "installed_at"),
        [(new.meter_serial, new.service_no, "closed", new.register_wh, now) for new in news],
    )
    accounts.open_connection_accounts(conn, service_nos=[new.service_no for new in news], now=now)
    postpaid = [new.service_no for new in news if new.mode is connection.BillingMode.POSTPAID]
    for start in range(0, len(postpaid), 1000):
        accounts.open_postpaid_accounts(conn, service_nos=postpaid[start : start + 1000], now=now)
    today = clock.ist_date(now)
    bulk.insert(
        conn,
        schema.prepaid_state,
        STATE_COLUMNS,
        [
            (
                new.service_no,
                today,  # billed through: billing starts from the register at installation
                new.register_wh,
                now,
                today,
                new.register_wh,
                today.replace(day=1),
                today,
                0,
                "",
                alerts.default_adc(category=new.category, load_w=int(new.load_kw * 1000), rules=ctx.policy),
                0,
                None,
                0,
                None,
                now,
            )
            for new in news
        ],
    )
    entries = [entry for new in news for entry in _opening_money(new, now=now)]
    if entries:
        books = postings.lock_many(conn, sorted({entry.service_no for entry in entries}), postpaid=True)
        postings.post_many(conn, books, entries, recorded_at=now)
    owed = [new for new in news if new.arrears_paise and new.mode is connection.BillingMode.POSTPAID]
    if owed:
        # What a postpaid consumer owes is kept item by item (billing/_items.py: the oldest is paid first).
        bulk.insert(
            conn,
            schema.postpaid_items,
            ("service_no", "kind", "label", "amount", "paid", "created_at"),
            [
                (new.service_no, "arrears", "arrears brought forward", new.arrears_paise, 0, now)
                for new in owed
            ],
        )


def _opening_money(new: NewConnection, *, now: dt.datetime) -> list[postings.Entry]:
    entries = []
    if new.arrears_paise:
        # A prepaid connection recovers arrears from recharges (dues); a postpaid one on its bill.
        owed = (
            accounts.receivable(new.service_no)
            if new.mode is connection.BillingMode.POSTPAID
            else accounts.dues(new.service_no)
        )
        entries.append(
            postings.Entry(
                new.service_no,
                "dues.arrears",
                [
                    postings.Line(owed, new.arrears_paise),
                    postings.Line(accounts.OPENING_ARREARS, -new.arrears_paise),
                ],
                now,
                None,
                "arrears brought forward",
            )
        )
    if new.opening_balance_paise:
        entries.append(
            postings.Entry(
                new.service_no,
                "wallet.opening",
                [
                    postings.Line(accounts.OPENING_WALLETS, new.opening_balance_paise),
                    postings.Line(accounts.wallet(new.service_no), -new.opening_balance_paise),
                ],
                now,
                None,
                "wallet balance brought over",
            )
        )
    return entries


_CONNECTION_COLUMNS = (
    "service_no",
    "consumer_id",
    "category",
    "sanctioned_load_w",
    "billing_mode",
    "mobile",
    "language",
    "state",
    "first_recharge_done",
    "created_at",
    "updated_at",
)
STATE_COLUMNS = (  # prepaid_state as registration writes it; the benchmark fleet reuses it
    "service_no",
    "billed_through",
    "billed_register_wh",
    "last_read_at",
    "last_read_date",
    "last_register_wh",
    "month_start",
    "month_first_day",
    "mtd_wh",
    "recent_daily_paise",
    "adc_paise",
    "alerts_sent",
    "zero_alert_at",
    "emergency_credit_paise",
    "disconnect_due_at",
    "updated_at",
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
