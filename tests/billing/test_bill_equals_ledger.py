"""A month's bill is the ledger's month: components add up to the total to the paisa, the total is
the ledger's deductions, opening + recharged - to dues - deducted + adjustments = closing, and a
second run writes nothing. On SQLite and PostgreSQL (the `ctx` fixture runs each test on both)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.billing.conftest import (
    JUNE,
    RUN_AT,
    Plan,
    Simulate,
    simulate_june,
    wallet_before,
    wallet_lines_in_june,
)
from tests.conftest import AddConnection, table_counts
from wattwallet.billing import _statement
from wattwallet.billing import service as bills
from wattwallet.context import Context
from wattwallet.domain import clock
from wattwallet.domain import readings as reading_rules
from wattwallet.lifecycle import daily_cycle, readings
from wattwallet.store import schema


def check_against_ledger(ctx: Context, service_no: str, *, run_at: dt.datetime | None = RUN_AT) -> bills.Bill:
    bill = bills.show(ctx, service_no=service_no, month=JUNE)
    c = bill.content
    ledger = wallet_lines_in_june(ctx, service_no)
    deducted = sum(ledger.get(kind, 0) for kind in _statement.DEDUCTION_KINDS)
    assert _statement.components_total(c) == c["deducted"] == deducted
    assert c["deducted"] == bill.amount
    june_first = dt.datetime.combine(JUNE.first, dt.time(), tzinfo=clock.IST)
    assert c["opening_balance"] == wallet_before(ctx, service_no, june_first)
    assert c["recharged"] - c["to_dues"] == -ledger.get("recharge", 0)
    assert (
        c["opening_balance"] + c["recharged"] - c["to_dues"] - c["deducted"] + c["adjusted"]
        == c["closing_balance"]
    )
    if run_at is not None:  # nothing of July had touched the wallet by the run (July 1's cycle bills June 30)
        assert c["closing_balance"] == wallet_before(ctx, service_no, run_at)
    assert bill.intact()
    return bill


def test_a_plain_month(ctx: Context, june: Simulate) -> None:
    service_no = june()
    report = bills.run_month(ctx, month=JUNE, now=RUN_AT)
    assert (report.created, report.unchanged) == (1, 0)
    bill = check_against_ledger(ctx, service_no)
    c = bill.content
    assert c["units_wh"] == 29 * 5_000 - 5_000 + 5_000  # June 2..30 read from June 3..July 1
    assert c["days_billed"] == 29 and c["catch_up_days"] == 0
    assert c["registers"]["closing"] == {"date": "2025-07-01", "wh": 29 * 5_000}
    assert c["recharged"] == 100_000
    assert bill.bill_no == f"BL2506-{service_no}" and bill.revision == 1
    assert [x["component"] for x in c["components"]][:2] == ["energy:0-30", "energy:30-75"]


def test_a_second_run_writes_nothing(ctx: Context, june: Simulate) -> None:
    june()
    bills.run_month(ctx, month=JUNE, now=RUN_AT)
    before = table_counts(ctx.store)
    report = bills.run_month(ctx, month=JUNE, now=RUN_AT + dt.timedelta(days=3))
    assert (report.created, report.revised, report.unchanged) == (0, 0, 1)
    assert table_counts(ctx.store) == before


def test_bills_cannot_be_changed_or_removed(ctx: Context, june: Simulate) -> None:
    june()
    bills.run_month(ctx, month=JUNE, now=RUN_AT)
    for statement in (sa.update(schema.bills).values(language="te"), sa.delete(schema.bills)):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), ctx.store.write() as conn:
            conn.execute(statement)


def test_a_late_reading_makes_the_bill_stale_and_revise_issues_a_correction(
    ctx: Context, add_connection: AddConnection
) -> None:
    service_no = add_connection()
    # The last reading of June is on the 27th (it ends the 26th): June 27-30 are billed late, on July 3.
    simulate_june(ctx, service_no, Plan(daily_kwh={n: 4 for n in range(3, 28)}, read_july_first=False))
    first = bills.run_month(ctx, month=JUNE, now=RUN_AT)
    assert first.created == 1
    with ctx.store.read() as conn:
        meter = conn.execute(
            sa.select(schema.meters.c.serial).where(schema.meters.c.service_no == service_no)
        ).scalar_one()
    late = dt.datetime(2025, 7, 3, 0, 15, tzinfo=clock.IST)
    readings.record(ctx, [reading_rules.parse(meter_serial=meter, read_at=late, kwh=25 * 4 + 30)], now=late)
    daily_cycle.run(ctx, now=late.replace(hour=6))
    again = bills.run_month(ctx, month=JUNE, now=late.replace(hour=8))
    assert (again.created, again.stale, again.revised) == (0, 1, 0)
    revised = bills.run_month(ctx, month=JUNE, now=late.replace(hour=9), revise=True)
    assert revised.revised == 1
    listed = bills.listing(ctx, service_no=service_no)
    assert [b.revision for b in listed] == [2, 1]
    new, old = listed
    assert new.replaces_id == old.id and new.bill_no == f"BL2506-{service_no}-R2"
    assert new.content["catch_up_days"] == 4 and old.content["catch_up_days"] == 0
    assert new.units_wh > old.units_wh
    assert bills.show(ctx, service_no=service_no, month=JUNE, revision=1).content == old.content
    check_against_ledger(ctx, service_no, run_at=None)  # July 3's catch-up also billed July 1-2


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kwh=st.dictionaries(st.integers(3, 31), st.integers(0, 40), min_size=0, max_size=29),
    top_ups=st.dictionaries(st.integers(3, 30), st.integers(1, 20).map(lambda n: n * 100), max_size=4),
    dues_raised=st.dictionaries(st.integers(3, 30), st.integers(1, 50_000), max_size=2),
    short_bill=st.none() | st.tuples(st.integers(3, 14), st.integers(1, 90_000)),
    category=st.sampled_from(["LT-I", "LT-II"]),
)
def test_any_month_of_readings_recharges_dues_and_short_bills(
    ctx: Context,
    add_connection: AddConnection,
    kwh: dict[int, int],
    top_ups: dict[int, int],
    dues_raised: dict[int, int],
    short_bill: tuple[int, int] | None,
    category: str,
) -> None:
    service_no = add_connection(category=category, load_kw="3")
    plan = Plan(daily_kwh=kwh, recharges=top_ups, dues=dues_raised, short_bill=short_bill)
    simulate_june(ctx, service_no, plan, first_recharge_rupees=2500)
    bills.run_one(ctx, service_no=service_no, month=JUNE, now=RUN_AT)
    bill = check_against_ledger(ctx, service_no)
    if short_bill and short_bill[0] + 15 <= 30:
        assert any(x["component"] == _statement.SHORT_BILL_COMPONENT for x in bill.content["components"])
    elif short_bill:
        assert [s["ref"] for s in bill.content["open_short_bills"]] == [f"SB-{service_no}"]
    before = table_counts(ctx.store)
    assert bills.run_one(ctx, service_no=service_no, month=JUNE, now=RUN_AT).unchanged == 1
    assert table_counts(ctx.store) == before


def test_a_connection_whose_readings_the_cycle_has_not_billed_waits(
    ctx: Context, add_connection: AddConnection
) -> None:
    service_no = add_connection()
    simulate_june(ctx, service_no, Plan(daily_kwh={n: 4 for n in range(3, 31)}, read_july_first=False))
    with ctx.store.read() as conn:
        meter = conn.execute(
            sa.select(schema.meters.c.serial).where(schema.meters.c.service_no == service_no)
        ).scalar_one()
    # The reading that ends June is in, but the job runs before the cycle has billed it.
    midnight = dt.datetime(2025, 7, 1, 0, 15, tzinfo=clock.IST)
    readings.record(ctx, [reading_rules.parse(meter_serial=meter, read_at=midnight, kwh=200)], now=midnight)
    with pytest.raises(bills.CycleNotFinished):
        bills.run_scheduled(ctx, now=RUN_AT, events=[])
    assert bills.listing(ctx, service_no=service_no) == []
    daily_cycle.run(ctx, now=RUN_AT)
    events: list[Any] = []
    bills.run_scheduled(ctx, now=RUN_AT + dt.timedelta(minutes=5), events=events)
    [line] = [event.line() for event in events]
    assert line["type"] == "bill" and line["month"] == "2025-06" and line["connection"] == service_no
    check_against_ledger(ctx, service_no, run_at=None)
