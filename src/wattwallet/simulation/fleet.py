"""Synthetic fleets of prepaid connections, written straight into a store in bulk: for the
benchmarks, the tests that need thousands of connections, and demos.

Each connection gets `days` days of billing history as if that many daily cycles had run (readings,
month-to-date units, recent daily totals, the alerts its balance already called for) and the
reading of one new day, so the next daily cycle has exactly one day to bill for each.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal

import sqlalchemy as sa

from wattwallet.consumers import registration
from wattwallet.context import Context
from wattwallet.domain import alerts, clock, connection
from wattwallet.ledger import accounts
from wattwallet.store import bulk, schema

CHUNK = 5_000


@dataclasses.dataclass(frozen=True)
class Spec:
    connections: int
    today: dt.date  # the cycle to come runs on this day and bills the day before
    days: int = 30
    seed: int = 7
    first_service_no: int = 9_000_000_000_000
    daily_wh: tuple[int, int] = (3_000, 12_000)
    opening_paise: tuple[int, int] = (100, 150_000)  # ₹1 to ₹1,500
    adc_paise: int = 4_000
    mode: connection.BillingMode = connection.BillingMode.PREPAID


def service_numbers(spec: Spec) -> list[str]:
    return [str(spec.first_service_no + i) for i in range(spec.connections)]


def build(ctx: Context, spec: Spec) -> None:
    rng = random.Random(spec.seed)
    installed = dt.datetime.combine(
        spec.today - dt.timedelta(days=spec.days + 1), dt.time(9), tzinfo=clock.IST
    )
    with ctx.store.write() as conn:
        accounts.ensure_system_accounts(conn, now=installed)
    numbers = service_numbers(spec)
    for first in range(0, len(numbers), CHUNK):
        with ctx.store.write() as conn:
            _chunk(ctx, conn, numbers[first : first + CHUNK], rng, spec, installed)


def _chunk(
    ctx: Context, conn: sa.Connection, sns: list[str], rng: random.Random, spec: Spec, installed: dt.datetime
) -> None:
    """Register the chunk through the one writer of connections, then give it its history."""
    start = installed.astimezone(clock.IST).date()
    billed_day = spec.today - dt.timedelta(days=1)
    news, readings, states = [], [], []
    for sn in sns:
        daily = [rng.randint(*spec.daily_wh) for _ in range(spec.days + 1)]  # the last one is the new day
        register = 0
        for index, wh in enumerate(daily):
            register += wh
            read_day = start + dt.timedelta(days=index + 1)
            read_at = dt.datetime.combine(read_day, dt.time(0, 15), tzinfo=clock.IST)
            readings.append((f"SM{sn}", sn, read_at, read_day, register, installed))
        opening = rng.randint(*spec.opening_paise) if spec.mode is connection.BillingMode.PREPAID else 0
        news.append(
            registration.NewConnection(
                service_no=sn,
                consumer_name=f"Consumer {sn}",
                category="LT-I",
                load_kw=Decimal(2),
                mode=spec.mode,
                mobile="+919876543210",
                language=connection.Language.TELUGU if int(sn) % 2 else connection.Language.ENGLISH,
                meter_serial=f"SM{sn}",
                first_recharge_done=True,
                opening_balance_paise=opening,
                arrears_paise=0
                if spec.mode is connection.BillingMode.PREPAID
                else rng.randint(*spec.opening_paise),
            )
        )
        sent = alerts.evaluate(
            balance=opening, adc=spec.adc_paise, state=alerts.State(), now=installed, rules=ctx.policy
        ).state
        # Days billed so far are start .. today-2; the month to come is that of today-1.
        month = billed_day.replace(day=1)
        mtd = sum(daily[i] for i in range(spec.days) if start + dt.timedelta(days=i) >= month)
        states.append(
            (
                billed_day,
                register - daily[-1],
                readings[-1][2],
                spec.today,
                register,
                month,
                max(start, month),
                mtd,
                ",".join(str(rng.randint(2_500, 5_500)) for _ in range(spec.days)),
                spec.adc_paise,
                sent.sent,
                sent.zero_alert_at,
                sent.emergency_credit,
                sent.disconnect_due_at,
                sn,
            )
        )
    registration.add_many(ctx, conn, news, now=installed)
    bulk.insert(
        conn,
        schema.meter_readings,
        ("meter_serial", "service_no", "read_at", "read_date", "register_wh", "received_at"),
        readings,
    )
    bulk.update(conn, schema.prepaid_state, "service_no", _HISTORY_COLUMNS, states)


# The billing state as if `days` daily cycles had run: every column registration writes but the key
# and updated_at (no ToD history in a synthetic fleet).
_HISTORY_COLUMNS = registration.STATE_COLUMNS[1:-1]
