"""The schedule's walk (scenario replay, `jobs run`, the demo): a monthly bill run that has to wait
for the cycle does not stop it.

Bug found by the fault simulation (seed 100 of `bench/simulate.py --first 100 --connections 20
--days 30`): a reading of 31 May that came in after the 06:00 cycle of 1 June left one connection
waiting when the 07:00 bill run came; `run_scheduled` raised CycleNotFinished (as it must: a worker
retries the occurrence), and `schedule.run_until` let it out, ending the whole walk (a replay died,
and every job after it, the 09:00 notices, the disconnection window, never ran).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from wattwallet.consumers import registration
from wattwallet.context import Context
from wattwallet.domain import clock
from wattwallet.domain import readings as reading_rules
from wattwallet.jobs import schedule
from wattwallet.lifecycle import readings
from wattwallet.store import schema


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=clock.IST)


def _read(ctx: Context, serial: str, day: dt.date, kwh: int, *, at: dt.datetime) -> None:
    reading = reading_rules.parse(
        meter_serial=serial, read_at=_midnight(day + dt.timedelta(days=1)), kwh=Decimal(kwh)
    )
    [outcome] = readings.record(ctx, [reading], now=at)
    assert outcome.status == "stored", outcome


def test_a_bill_run_waiting_for_the_cycle_does_not_stop_the_walk(ctx: Context) -> None:
    start = dt.date(2025, 5, 26)
    serials = {}
    for n in (1, 2):
        new = registration.parse(
            ctx, service_no=f"123456789000{n}", consumer_name=f"Consumer {n}", category="LT-I", load_kw="2",
            mode="prepaid", mobile="+919876543210", language="en", meter_serial=f"SM00000{n}",
            first_recharge_done=True, opening_balance_paise=500_000, today=start,
        )  # fmt: skip
        registration.add(ctx, new, now=_midnight(start))
        serials[new.service_no] = new.meter_serial
    late, punctual = serials
    clock_at = _midnight(start)
    for offset in range(6):  # 26 to 31 May, each read at the midnight that ends it
        day = start + dt.timedelta(days=offset)
        midnight = _midnight(day + dt.timedelta(days=1))
        schedule.run_until(ctx, after=clock_at, until=midnight)
        clock_at = midnight
        for service_no, serial in serials.items():
            if service_no == late and day == dt.date(2025, 5, 31):
                continue
            _read(ctx, serial, day, 10 * (offset + 1), at=midnight + dt.timedelta(minutes=5))
    first_cycle = dt.datetime(2025, 6, 1, 6, 30, tzinfo=clock.IST)
    schedule.run_until(ctx, after=clock_at, until=first_cycle)
    _read(ctx, serials[late], dt.date(2025, 5, 31), 60, at=first_cycle)  # after the 06:00 cycle

    happened: schedule.Events = []
    schedule.run_until(
        ctx, after=first_cycle, until=dt.datetime(2025, 6, 2, 8, 0, tzinfo=clock.IST), events=happened
    )

    b = schema.bills
    with ctx.store.read() as conn:
        made = set(conn.execute(sa.select(b.c.service_no).where(b.c.month == dt.date(2025, 5, 1))).scalars())
    assert made == {late, punctual}  # the punctual one on the 1st, the late one after the 2nd's cycle
    assert {event.TYPE for event in happened} >= {"deduction"}  # the walk went on to the 2nd's cycle
