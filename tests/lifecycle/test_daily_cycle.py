"""The daily cycle on both databases: what it bills, that a re-run changes nothing, and that a
run killed mid-way (a real SIGKILL) and restarted ends exactly where an uninterrupted run ends."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import AddConnection, table_counts
from wattwallet import config, context, tariffs
from wattwallet.context import Context
from wattwallet.domain import clock, policy, rating
from wattwallet.domain import readings as reading_rules
from wattwallet.jobs import schedule
from wattwallet.ledger import postings, verify
from wattwallet.lifecycle import daily_cycle, readings
from wattwallet.simulation import fleet
from wattwallet.store import db, migrate, schema
from wattwallet.wallet import recharges
from wattwallet.wallet import views as wallets

TODAY = dt.date(2025, 7, 1)
RUN_AT = dt.datetime.combine(TODAY, dt.time(6), tzinfo=clock.IST)


def outcome(store: db.Store) -> dict[str, Any]:
    """Everything the cycle decides, per connection, in a comparable form."""
    a, d, s = schema.ledger_accounts, schema.daily_deductions, schema.prepaid_state
    with store.read() as conn:
        wallets = conn.execute(sa.select(a.c.code, a.c.balance).where(a.c.kind == "wallet"))
        balances = {code: balance for code, balance in wallets}
        deductions = sorted(
            tuple(row)
            for row in conn.execute(sa.select(d.c.service_no, d.c.day, d.c.wh, d.c.amount, d.c["items"]))
        )
        states = sorted(
            tuple(row)
            for row in conn.execute(
                sa.select(
                    s.c.service_no,
                    s.c.billed_through,
                    s.c.mtd_wh,
                    s.c.adc_paise,
                    s.c.alerts_sent,
                    s.c.emergency_credit_paise,
                    s.c.disconnect_due_at.is_not(None),
                )
            )
        )
        alerts = conn.execute(sa.select(sa.func.count()).select_from(schema.alerts)).scalar_one()
        notes = conn.execute(sa.select(sa.func.count()).select_from(schema.notifications)).scalar_one()
    return {
        "balances": balances,
        "deductions": deductions,
        "states": states,
        "alerts": alerts,
        "notes": notes,
    }


def test_the_cycle_bills_one_day_for_each_connection(ctx: Context) -> None:
    spec = fleet.Spec(connections=300, today=TODAY)
    fleet.build(ctx, spec)
    report = daily_cycle.run(ctx, now=RUN_AT, batch_size=64)
    assert (report.connections, report.days, report.batches) == (300, 300, 5)
    d = schema.daily_deductions
    with ctx.store.read() as conn:
        rows = conn.execute(sa.select(d).order_by(d.c.service_no)).all()
        state = conn.execute(
            sa.select(schema.prepaid_state).order_by(schema.prepaid_state.c.service_no)
        ).all()
        result = verify.verify(conn)
    assert result.ok, result.discrepancies
    assert {row.day for row in rows} == {dt.date(2025, 6, 30)}
    # Each deduction is what the rating engine says for that connection's day and month position.
    for row, before in zip(rows, state, strict=True):
        expected = rating.rate_day(
            ctx.tariffs,
            category="LT-I",
            load_w=2_000,
            day=row.day,
            wh=row.wh,
            mtd_wh_before=before.mtd_wh - row.wh,
            month_first_day=dt.date(2025, 6, 1),
        )
        assert row.amount == expected.total_paise
        assert json.loads(row.items) == [[i.component, i.amount_paise] for i in expected.items]
    assert report.deducted_paise == sum(row.amount for row in rows)


def test_running_the_cycle_again_changes_nothing(ctx: Context) -> None:
    fleet.build(ctx, fleet.Spec(connections=200, today=TODAY))
    first = daily_cycle.run(ctx, now=RUN_AT)
    before, counts = outcome(ctx.store), table_counts(ctx.store)
    again = daily_cycle.run(ctx, now=RUN_AT + dt.timedelta(minutes=5))
    assert first.connections == 200 and again.connections == 0
    assert outcome(ctx.store) == before and table_counts(ctx.store) == counts


def test_nothing_is_billed_from_a_reading_dated_in_the_future(ctx: Context) -> None:
    fleet.build(ctx, fleet.Spec(connections=20, today=TODAY))
    yesterday = RUN_AT - dt.timedelta(days=1)
    assert daily_cycle.run(ctx, now=yesterday).connections == 0


KILLED_RUN = textwrap.dedent(
    """
    import datetime as dt, sys
    from wattwallet import tariffs
    from wattwallet.context import Context
    from wattwallet.domain import clock, policy
    from wattwallet.lifecycle import daily_cycle
    from wattwallet.jobs import schedule
    from wattwallet.store import db

    store = db.Store.from_url(sys.argv[1])
    ctx = Context(store=store, tariffs=tariffs.book("sample"), policy=policy.Policy())
    now = dt.datetime(2025, 7, 1, 6, tzinfo=clock.IST)

    def progress(batches: int) -> None:
        print(f"batch {batches}", flush=True)
        if batches >= 3:
            sys.stdin.readline()  # wait here, mid-run, for the kill

    daily_cycle.run(ctx, now=now, batch_size=40, on_batch=progress)
    print("finished", flush=True)
    """
)


def test_a_killed_run_restarted_ends_where_an_uninterrupted_run_ends(
    ctx: Context, store_url: str, tmp_path: Path
) -> None:
    spec = fleet.Spec(connections=400, today=TODAY)
    fleet.build(ctx, spec)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, store_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    seen = [child.stdout.readline().strip() for _ in range(3)]
    assert seen == ["batch 1", "batch 2", "batch 3"]
    os.kill(child.pid, signal.SIGKILL)  # killed between batches 3 and 4, as a crash would
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    d = schema.daily_deductions
    with ctx.store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(d)).scalar_one() == 120  # 3 batches of 40

    resumed = daily_cycle.run(ctx, now=RUN_AT + dt.timedelta(minutes=2), batch_size=40)
    assert resumed.connections == 280

    # The same fleet, billed in one uninterrupted run on a fresh store.
    control = db.Store.from_url(f"sqlite:///{tmp_path / 'control.db'}")
    migrate.upgrade(control.engine)
    control_ctx = Context(store=control, tariffs=tariffs.book("sample"), policy=policy.Policy())
    fleet.build(control_ctx, spec)
    daily_cycle.run(control_ctx, now=RUN_AT)
    assert outcome(ctx.store) == outcome(control)
    with ctx.store.read() as conn:
        result = verify.verify(conn)
    assert result.ok, result.discrepancies
    control.dispose()


def billed_by_one_process(spec: fleet.Spec, folder: Path) -> dict[str, Any]:
    """The outcome of the same fleet billed by one process, in a store of its own."""
    control = db.Store.from_url(f"sqlite:///{folder / 'control.db'}")
    migrate.upgrade(control.engine)
    control_ctx = Context(store=control, tariffs=tariffs.book("sample"), policy=policy.Policy())
    fleet.build(control_ctx, spec)
    daily_cycle.run(control_ctx, now=RUN_AT)
    billed = outcome(control)
    control.dispose()
    return billed


def test_two_worker_processes_bill_exactly_what_one_process_bills(ctx: Context, tmp_path: Path) -> None:
    spec = fleet.Spec(connections=300, today=TODAY)
    fleet.build(ctx, spec)
    report = daily_cycle.run(ctx, now=RUN_AT, batch_size=50, workers=2)
    assert report.connections == 300 and report.batches >= 6
    assert outcome(ctx.store) == billed_by_one_process(spec, tmp_path)


def test_the_scheduled_cycle_shares_its_work_over_the_configured_processes(
    ctx: Context, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`WATTWALLET_CYCLE_WORKERS` reaches the 06:00 job, which bills as the single process would."""
    spec = fleet.Spec(connections=120, today=TODAY)
    fleet.build(ctx, spec)
    shared, split = [], daily_cycle._run_in_processes

    def spy(*args: Any, **kwargs: Any) -> daily_cycle.Report:
        shared.append(kwargs["workers"])
        return split(*args, **kwargs)

    monkeypatch.setattr(daily_cycle, "_run_in_processes", spy)
    settings = config.Settings(database_url=store_url, cycle_workers=2, tariff_file=tariffs.FILES["sample"])
    opened = context.open_context(settings, now=RUN_AT)
    schedule.run(opened, schedule.DAILY_CYCLE, now=RUN_AT, events=[])
    assert shared == [2]
    opened.store.dispose()
    assert outcome(ctx.store) == billed_by_one_process(spec, tmp_path)


def test_a_recharge_between_rating_and_writing_is_seen_before_alerting(
    ctx: Context, add_connection: AddConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recharge that commits while the cycle is at work must be seen before the batch is written:
    the money is applied to the locked wallet, and the alerts are decided from the wallet as it
    then stands (₹600, not ₹100). On SQLite the cycle rates from a plain read and rates again when
    it finds the wallet moved; this test fails without that re-check."""
    sn = add_connection(
        meter_serial="SM-GAP", load_kw="5", first_recharge_done=True, opening_balance_paise=10_000
    )
    readings.record(
        ctx,
        [reading_rules.Reading("SM-GAP", dt.datetime(2025, 6, 3, 0, 10, tzinfo=clock.IST), 30_000)],
        now=dt.datetime(2025, 6, 3, 0, 10, tzinfo=clock.IST),
    )
    original = postings.lock_range
    done: list[bool] = []

    def pay() -> None:
        if not done:
            done.append(True)
            recharges.recharge_wallet(
                ctx,
                service_no=sn,
                channel="app",
                reference="R2",
                amount_paise=50_000,
                now=dt.datetime(2025, 6, 3, 6, tzinfo=clock.IST),
            )

    def read_then_recharge(conn: Any, **kwargs: Any) -> dict[str, postings.Book]:
        if kwargs.get("lock", True):
            pay()  # PostgreSQL rates under its lock: the payment lands just before it
        books = original(conn, **kwargs)
        if not kwargs.get("lock", True):
            pay()  # SQLite rates from a plain read: the payment lands after it, before the write
        return books

    monkeypatch.setattr(postings, "lock_range", read_then_recharge)
    report = daily_cycle.run(ctx, now=dt.datetime(2025, 6, 3, 6, tzinfo=clock.IST))
    assert done and report.connections == 1
    # From ₹100 the day's ₹72 would have sent the 3- and 2-day alerts (ADC ₹50 for 5 kW); from ₹600, none.
    assert report.alerts == {} and report.notifications == 0
    assert (
        wallets.view(ctx, service_no=sn, now=dt.datetime(2025, 6, 3, 7, tzinfo=clock.IST)).balance
        == 60_000 - report.deducted_paise
    )
    with ctx.store.read() as conn:
        result = verify.verify(conn)
    assert result.ok, result.discrepancies
