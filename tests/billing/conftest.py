"""A month of history through the real engine: readings, the 06:00 cycle, the 09:00 short-bill
notices, recharges, dues and short bills, then the bill job on the 1st at 07:00."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from tests.api.conftest import api, cheap_password_hashing  # noqa: F401 (the API tests' fixtures)
from tests.conftest import NOW, AddConnection
from wattwallet.billing import service as bills
from wattwallet.context import Context
from wattwallet.domain import clock
from wattwallet.domain import readings as reading_rules
from wattwallet.ledger import accounts
from wattwallet.lifecycle import daily_cycle, readings, short_bills
from wattwallet.store import schema
from wattwallet.wallet import dues, recharges

JUNE = bills.Month(dt.date(2025, 6, 1))
RUN_AT = dt.datetime(2025, 7, 1, 7, 0, tzinfo=clock.IST)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=clock.IST)


@dataclasses.dataclass
class Plan:
    """What happens to one connection over June (day numbers are days of June)."""

    daily_kwh: dict[int, int] = dataclasses.field(default_factory=dict)  # day -> kWh read that morning
    recharges: dict[int, int] = dataclasses.field(default_factory=dict)  # day -> rupees
    dues: dict[int, int] = dataclasses.field(default_factory=dict)  # day -> paise
    short_bill: tuple[int, int] | None = None  # (day raised, paise)
    read_july_first: bool = True  # the midnight reading that ends June


Simulate = Callable[..., str]


def simulate_june(ctx: Context, service_no: str, plan: Plan, *, first_recharge_rupees: int = 1000) -> None:
    """June 2 to July 1 07:00 for one connection (registered on June 2), then the month's bills."""
    events: list[dict[str, Any]] = []
    recharges.recharge_wallet(
        ctx,
        events=events,
        service_no=service_no,
        channel="portal",
        reference=f"FIRST-{service_no}",
        amount_paise=first_recharge_rupees * 100,
        paid_at=None,
        now=NOW + dt.timedelta(minutes=5),
    )
    with ctx.store.read() as conn:
        meter = conn.execute(
            sa.select(schema.meters.c.serial).where(schema.meters.c.service_no == service_no)
        ).scalar_one()
    register = 0
    for number in range(3, 32):  # readings on June 3 .. July 1 (July 1's ends June 30)
        day = dt.date(2025, 6, number) if number <= 30 else dt.date(2025, 7, 1)
        if number in plan.daily_kwh or (number == 31 and plan.read_july_first):
            register += plan.daily_kwh.get(number, 0)
            reading = reading_rules.parse(meter_serial=meter, read_at=at(day, 0, 15), kwh=register)
            readings.record(ctx, [reading], now=at(day, 0, 16))
        daily_cycle.run(ctx, now=at(day, 6))
        if number <= 30:
            short_bills.run_notices(ctx, now=at(day, 9), events=events)
            if number in plan.recharges:
                recharges.recharge_wallet(
                    ctx,
                    events=events,
                    service_no=service_no,
                    channel="app",
                    reference=f"APP-{service_no}-{number}",
                    amount_paise=plan.recharges[number] * 100,
                    paid_at=None,
                    now=at(day, 12),
                )
            if number in plan.dues:
                dues.add(
                    ctx,
                    service_no=service_no,
                    kind="technical_adjustment",
                    amount_paise=plan.dues[number],
                    reason="meter replacement",
                    reference=f"ADJ-{service_no}-{number}",
                    now=at(day, 13),
                )
            if plan.short_bill and plan.short_bill[0] == number:
                short_bills.raise_bill(
                    ctx,
                    service_no=service_no,
                    amount_paise=plan.short_bill[1],
                    reason="additional load",
                    ref=f"SB-{service_no}",
                    now=at(day, 14),
                    events=events,
                )


def wallet_lines_in_june(ctx: Context, service_no: str) -> dict[str, int]:
    """Straight from the ledger: the wallet lines of June's postings by kind (deductions by the day
    they bill, everything else by when it occurred), for the bill to be checked against."""
    p, line, d = schema.ledger_postings, schema.ledger_lines, schema.daily_deductions
    code = accounts.wallet(service_no)
    with ctx.store.read() as conn:
        rows = conn.execute(
            sa.select(p.c.kind, p.c.occurred_at, p.c.id, line.c.amount)
            .select_from(p.join(line, line.c.posting_id == p.c.id))
            .where(p.c.service_no == service_no, line.c.account_code == code)
        ).all()
        days = dict(
            conn.execute(sa.select(d.c.posting_id, d.c.day).where(d.c.service_no == service_no)).all()
        )
    totals: dict[str, int] = {}
    for kind, occurred_at, posting_id, amount in rows:
        when = days[posting_id] if kind == "deduction" else clock.ist_date(occurred_at)
        if JUNE.first <= when < JUNE.end:
            totals[kind] = totals.get(kind, 0) + amount
    return totals


def wallet_before(ctx: Context, service_no: str, instant: dt.datetime) -> int:
    p, line = schema.ledger_postings, schema.ledger_lines
    with ctx.store.read() as conn:
        total = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(line.c.amount), 0))
            .select_from(p.join(line, line.c.posting_id == p.c.id))
            .where(
                p.c.service_no == service_no,
                line.c.account_code == accounts.wallet(service_no),
                p.c.occurred_at < instant,
            )
        ).scalar_one()
    return -int(total)


@pytest.fixture
def june(ctx: Context, add_connection: AddConnection) -> Simulate:
    def make(plan: Plan | None = None, **overrides: Any) -> str:
        service_no = add_connection(**overrides)
        simulate_june(ctx, service_no, plan or Plan(daily_kwh={n: 5 for n in range(3, 32)}))
        return service_no

    return make
