"""Time-of-Day in the daily cycle, on both databases: the half-hourly profile the head end sent
prices the day's peak energy; a day without a profile is billed at the normal rate and says so."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import sqlalchemy as sa

from wattwallet import tariffs
from wattwallet.consumers import registration
from wattwallet.context import Context
from wattwallet.domain import clock, tod
from wattwallet.domain import readings as reading_rules
from wattwallet.ledger import verify
from wattwallet.lifecycle import daily_cycle, ingest, readings
from wattwallet.store import schema

INSTALLED = dt.datetime(2025, 6, 2, 9, 0, tzinfo=clock.IST)


def add_shop(ctx: Context, *, load_kw: str) -> str:
    new = registration.parse(
        ctx,
        service_no="2234567890001",
        consumer_name="Sri Sai Kirana",
        category="LT-II",
        load_kw=load_kw,
        mode="prepaid",
        mobile="+919876543210",
        language="te",
        meter_serial="SM-TOD-1",
        today=INSTALLED.date(),
    )
    registration.add(ctx, new, now=INSTALLED)
    return new.service_no


def items_of(ctx: Context, service_no: str) -> dict[dt.date, dict[str, int]]:
    d = schema.daily_deductions
    with ctx.store.read() as conn:
        rows = conn.execute(sa.select(d.c.day, d.c["items"]).where(d.c.service_no == service_no)).all()
    return {day: dict(json.loads(items)) for day, items in rows}


def test_peak_energy_from_the_profile_and_a_day_without_one(ctx: Context) -> None:
    ctx = dataclasses.replace(ctx, tariffs=tariffs.book("APSPDCL"))  # LT-II above 10 kW has ToD
    service_no = add_shop(ctx, load_kw="12")
    # The reading at 00:15 on 3 June ends 2 June: its 48 half-hours start at 00:15, so 18:15 ... 21:45
    # (8 slots) fall in the 18:00-22:00 peak: 8 x 500 Wh = 4 units at 50 paise = Rs 2.00.
    first = dt.datetime(2025, 6, 3, 0, 15, tzinfo=clock.IST)
    message = ingest.Message("m-1", reading_rules.Reading("SM-TOD-1", first, 24_000), profile_wh=(500,) * 48)
    [stored] = ingest.ingest(ctx, [message], now=first)
    assert stored.status == ingest.STORED
    # The next day's reading comes without a profile (a register reading alone).
    second = dt.datetime(2025, 6, 4, 0, 15, tzinfo=clock.IST)
    readings.record(ctx, [reading_rules.Reading("SM-TOD-1", second, 48_000)], now=second)

    daily_cycle.run(ctx, now=dt.datetime(2025, 6, 4, 6, 0, tzinfo=clock.IST))

    days = items_of(ctx, service_no)
    assert days[dt.date(2025, 6, 2)][tod.PEAK_COMPONENT] == 200
    assert tod.NO_PROFILE_COMPONENT not in days[dt.date(2025, 6, 2)]
    assert days[dt.date(2025, 6, 3)][tod.NO_PROFILE_COMPONENT] == 0  # billed at the normal rate
    assert tod.PEAK_COMPONENT not in days[dt.date(2025, 6, 3)]
    s = schema.prepaid_state
    with ctx.store.read() as conn:
        state = conn.execute(sa.select(s).where(s.c.service_no == service_no)).one()
        result = verify.verify(conn)
    assert (state.mtd_peak_wh, state.mtd_off_peak_wh) == (4_000, 0)
    assert result.ok, result.discrepancies


def test_no_tod_at_or_below_the_load_threshold(ctx: Context) -> None:
    ctx = dataclasses.replace(ctx, tariffs=tariffs.book("APSPDCL"))
    service_no = add_shop(ctx, load_kw="10")  # ToD is for connections above 10 kW
    at = dt.datetime(2025, 6, 3, 0, 15, tzinfo=clock.IST)
    ingest.ingest(
        ctx,
        [ingest.Message("m-1", reading_rules.Reading("SM-TOD-1", at, 24_000), profile_wh=(500,) * 48)],
        now=at,
    )
    daily_cycle.run(ctx, now=dt.datetime(2025, 6, 3, 6, 0, tzinfo=clock.IST))
    [items] = items_of(ctx, service_no).values()
    assert not any(component.startswith("tod:") for component in items)
