"""The consumption model and virtual meters: what a home or shop draws, and the register it turns."""

from __future__ import annotations

import datetime as dt
import statistics

from hypothesis import given
from hypothesis import strategies as st

from wattwallet.domain import clock
from wattwallet.simulation import consumption, meters

AC_HOME = consumption.Profile(kind="home", size="large", daily_wh=9_000, ac_w=2_000, load_w=5_000)
FAN_HOME = consumption.Profile(kind="home", size="small", daily_wh=3_000, ac_w=0, load_w=1_000)
SHOP = consumption.Profile(kind="shop", size="medium", daily_wh=14_000, ac_w=1_500, load_w=5_000)


def day_total(profile: consumption.Profile, day: dt.date, seed: int = 1, key: str = "SM-1") -> int:
    return sum(consumption.half_hours(profile, day, rng=consumption.rng_for(seed=seed, key=key, day=day)))


def weekdays(year: int, month: int) -> list[dt.date]:
    first = dt.date(year, month, 1)
    days = [first + dt.timedelta(days=i) for i in range(28)]
    return [d for d in days if d.weekday() < 5]


@given(
    kind=st.sampled_from(["home", "shop"]),
    daily_wh=st.integers(0, 60_000),
    ac_w=st.integers(0, 5_000),
    load_w=st.integers(500, 20_000),
    day=st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31)),
    seed=st.integers(0, 10**6),
)
def test_every_half_hour_is_a_whole_non_negative_wh_within_the_sanctioned_load(
    kind: str, daily_wh: int, ac_w: int, load_w: int, day: dt.date, seed: int
) -> None:
    profile = consumption.Profile(kind=kind, size="medium", daily_wh=daily_wh, ac_w=ac_w, load_w=load_w)
    values = consumption.half_hours(profile, day, rng=consumption.rng_for(seed=seed, key="M", day=day))
    assert len(values) == consumption.SLOTS
    assert all(type(v) is int and 0 <= v <= load_w // 2 for v in values)


def test_summer_peaks_in_may_with_the_air_conditioners_and_the_cool_months_draw_less() -> None:
    may = statistics.mean(day_total(AC_HOME, d) for d in weekdays(2025, 5))
    january = statistics.mean(day_total(AC_HOME, d) for d in weekdays(2025, 1))
    assert may > 1.5 * january
    # Without an AC the summer still shows (fans, cooling water), but less.
    fan_may = statistics.mean(day_total(FAN_HOME, d) for d in weekdays(2025, 5))
    fan_january = statistics.mean(day_total(FAN_HOME, d) for d in weekdays(2025, 1))
    assert 1.2 < fan_may / fan_january < may / january


def test_a_home_peaks_in_the_evening_and_a_shop_closes_on_sunday() -> None:
    day = dt.date(2025, 3, 5)  # a Wednesday in March: little AC at night
    values = consumption.half_hours(FAN_HOME, day, rng=consumption.rng_for(seed=1, key="SM-1", day=day))
    evening, afternoon = sum(values[38:42]), sum(values[24:28])  # 19:00-21:00 vs 12:00-14:00
    assert evening > 1.5 * afternoon
    sunday, monday = dt.date(2025, 5, 11), dt.date(2025, 5, 12)
    assert day_total(SHOP, sunday) < 0.5 * day_total(SHOP, monday)


def test_the_same_seed_gives_the_same_day_and_another_seed_another() -> None:
    day = dt.date(2025, 5, 6)
    first = consumption.half_hours(AC_HOME, day, rng=consumption.rng_for(seed=7, key="SM-9", day=day))
    again = consumption.half_hours(AC_HOME, day, rng=consumption.rng_for(seed=7, key="SM-9", day=day))
    other = consumption.half_hours(AC_HOME, day, rng=consumption.rng_for(seed=8, key="SM-9", day=day))
    assert first == again
    assert first != other


def test_an_open_relay_draws_nothing_and_the_register_stands_still() -> None:
    meter = meters.VirtualMeter("SM-1", AC_HOME, register_wh=1_000_000, relay=meters.OPEN)
    reading = meter.read_day(dt.date(2025, 5, 6), seed=1)
    assert reading.profile_wh == (0,) * 48
    assert reading.register_wh == 1_000_000
    assert reading.read_at == dt.datetime(2025, 5, 7, tzinfo=clock.IST)


def test_the_register_only_moves_forward_by_exactly_the_days_profile() -> None:
    meter = meters.VirtualMeter("SM-2", SHOP, register_wh=5_000)
    registers = [meter.register_wh]
    for offset in range(40):
        day = dt.date(2025, 4, 1) + dt.timedelta(days=offset)
        meter.relay = meters.OPEN if offset % 7 == 3 else meters.CLOSED
        reading = meter.read_day(day, seed=3)
        assert reading.register_wh - registers[-1] == sum(reading.profile_wh)
        registers.append(reading.register_wh)
    assert registers == sorted(registers)
    assert registers[-1] > registers[0]


def test_supply_stops_in_the_half_hour_the_relay_opens_and_resumes_when_it_closes() -> None:
    day = dt.date(2025, 5, 8)
    at = lambda h, m: dt.datetime.combine(day, dt.time(h, m), tzinfo=clock.IST)  # noqa: E731
    mask = meters.supply_mask(
        day, closed_at_start=True, changes=[(at(18, 5), meters.CLOSED), (at(10, 2), meters.OPEN)]
    )
    assert mask == (True,) * 20 + (False,) * 16 + (True,) * 12  # open 10:02, closed 18:05
    reading = meters.VirtualMeter("SM-3", AC_HOME).read_day(day, seed=1, supplied=mask)
    assert all(v == 0 for v in reading.profile_wh[20:36])
    assert sum(reading.profile_wh[36:]) > 0


def test_a_reading_message_is_what_the_protocol_asks_for() -> None:
    meter = meters.VirtualMeter("SM-AP-000123", FAN_HOME, register_wh=1_254_300)
    body = meter.read_day(dt.date(2025, 6, 3), seed=1).payload()
    assert body["msg_id"] == "SIM-SM-AP-000123-20250603"
    assert body["meter"] == "SM-AP-000123"
    assert body["read_at"] == "2025-06-04T00:00:00+05:30"
    assert body["register_wh"] == 1_254_300 + sum(body["profile_wh"])
    assert len(body["profile_wh"]) == 48
