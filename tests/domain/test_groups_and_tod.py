"""LT-II minor/major usage groups and Time-of-Day charges in the rating engine: a month's daily
deductions add up exactly to its monthly bill, the crossing day absorbs the repricing, and more
energy never costs less."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattwallet import tariffs
from wattwallet.domain import rating, tariff, tod

SPDCL = tariffs.book("APSPDCL")
DEC_1 = dt.date(2025, 12, 1)  # inside the FY2025-26 version; three levies run (one a refund)
MAJOR_SLABS = [
    {"upto": 50, "rate": "6.90"},
    {"upto": 100, "rate": "7.65"},
    {"upto": 300, "rate": "9.05"},
    {"upto": 500, "rate": "9.60"},
    {"upto": None, "rate": "10.15"},
]
# A book with a rebate too (the DISCOM books have no off-peak rebate loaded: no source gave one).
TOD_BOOK = tariff.TariffBook.from_data(
    {
        "versions": [
            {
                "effective_from": "2025-01-01",
                "categories": {
                    "C": {
                        "name": "commercial",
                        "groups": [
                            {
                                "name": "minor",
                                "upto_units": 50,
                                "energy_slabs": [{"upto": None, "rate": "5.40"}],
                                "fixed_charge_per_kw_month": "55",
                            },
                            {"name": "major", "energy_slabs": MAJOR_SLABS, "fixed_charge_per_kw_month": "75"},
                        ],
                        "customer_charge_per_month": "12.35",
                        "electricity_duty_per_unit": "1.00",
                        "tod": {
                            "above_load_kw": 0,
                            "peak": {"surcharge": "0.50", "hours": [["06:00", "10:00"], ["18:00", "22:00"]]},
                            "off_peak": {"rebate": "0.333", "hours": [["22:00", "06:00"]]},
                        },
                    }
                },
            }
        ],
        "levies": [{"name": "REFUND", "per_unit": "-0.1328", "valid_from": "2025-01-01"}],
    }
)


def month(first: dt.date) -> list[dt.date]:
    n = calendar.monthrange(first.year, first.month)[1]
    return [first.replace(day=d) for d in range(first.day, n + 1)]


def bill_month(
    book: tariff.TariffBook,
    category: str,
    load_w: int,
    days: list[tuple[dt.date, int, tuple[int, int] | None]],
) -> tuple[list[rating.DayCharge], tuple[int, int]]:
    first = days[0][0]
    mtd, mtd_tod = 0, (0, 0)
    out = []
    for on, wh, tod_wh in days:
        charge = rating.rate_day(
            book,
            category=category,
            load_w=load_w,
            day=on,
            wh=wh,
            mtd_wh_before=mtd,
            month_first_day=first,
            tod_wh=tod_wh,
            mtd_tod_wh_before=mtd_tod,
        )
        out.append(charge)
        mtd += wh
        mtd_tod = (mtd_tod[0] + charge.tod_wh[0], mtd_tod[1] + charge.tod_wh[1])
    return out, mtd_tod


def amounts(charge: rating.DayCharge) -> dict[str, int]:
    return {i.component: i.amount_paise for i in charge.items}


def test_the_day_a_month_crosses_50_units_reprices_the_earlier_units_as_major() -> None:
    days = [(d, 3_000, None) for d in month(DEC_1)]  # 3 units a day: 48 units after 16 days, 51 after 17
    charges, _ = bill_month(SPDCL, "LT-II", 2_000, days)
    day16, day17, day18 = (amounts(c) for c in charges[15:18])
    assert day16["energy:minor"] == 1_620 and "energy:major:repricing" not in day16
    # 48 units already billed at Rs 5.40 are repriced at major's first slab, Rs 6.90: Rs 72.00 ...
    assert day17["energy:major:repricing"] == 48 * (690 - 540)
    # ... and the day's own 3 units are billed in major's slabs: 2 at Rs 6.90, 1 at Rs 7.65.
    assert (day17["energy:major:0-50"], day17["energy:major:50-100"]) == (2 * 690, 765)
    # The fixed charge: the 16 days before at major's Rs 75/kW less minor's Rs 55/kW, for 2 kW.
    assert day17["fixed_charge:repricing"] == 16 * (15_000 // 31) - 16 * (11_000 // 31)
    assert day18["energy:major:50-100"] == 3 * 765 and "fixed_charge:repricing" not in day18
    total = sum(c.total_paise for c in charges)
    assert total == rating.month_bill(
        SPDCL, category="LT-II", load_w=2_000, days=[(d, wh) for d, wh, _ in days]
    )


def test_a_month_that_stays_minor_pays_minors_fixed_charge_and_one_that_crosses_pays_majors() -> None:
    def fixed(units_a_day: int) -> int:
        charges, _ = bill_month(SPDCL, "LT-II", 3_000, [(d, units_a_day, None) for d in month(DEC_1)])
        return sum(v for c in charges for k, v in amounts(c).items() if k.startswith("fixed_charge"))

    assert fixed(1_000) == 3 * 5_500  # 31 units: minor all month, Rs 55/kW
    assert fixed(2_000) == 3 * 7_500  # crosses on day 26: major for the month, Rs 75/kW


def test_more_than_50_units_at_once_moves_straight_to_major() -> None:
    [charge], _ = bill_month(SPDCL, "LT-II", 1_000, [(DEC_1, 60_000, None)])
    got = amounts(charge)
    assert (got["energy:major:0-50"], got["energy:major:50-100"]) == (50 * 690, 10 * 765)
    assert "energy:major:repricing" not in got  # nothing billed before to reprice


def test_tod_surcharge_and_rebate_and_the_no_profile_flag() -> None:
    [charge], _ = bill_month(TOD_BOOK, "C", 2_000, [(DEC_1, 10_000, (4_000, 3_000))])
    got = amounts(charge)
    assert got[tod.PEAK_COMPONENT] == 4 * 50
    assert got[tod.OFF_PEAK_COMPONENT] == -round(3 * 33.3)
    assert charge.tod_wh == (4_000, 3_000)
    [plain], _ = bill_month(TOD_BOOK, "C", 2_000, [(DEC_1, 10_000, None)])
    assert amounts(plain)[tod.NO_PROFILE_COMPONENT] == 0 and plain.tod_wh == (0, 0)
    assert plain.total_paise == charge.total_paise - got[tod.PEAK_COMPONENT] - got[tod.OFF_PEAK_COMPONENT]


def test_tod_energy_cannot_exceed_the_days_energy() -> None:
    with pytest.raises(ValueError, match="ToD energy"):
        bill_month(TOD_BOOK, "C", 2_000, [(DEC_1, 1_000, (800, 300))])


def test_categories_without_tod_ignore_a_profile() -> None:
    [charge], _ = bill_month(SPDCL, "LT-I", 2_000, [(DEC_1, 5_000, (1_000, 0))])
    assert not any(i.component.startswith("tod:") for i in charge.items) and charge.tod_wh == (0, 0)


# --- properties --------------------------------------------------------------------------------


@st.composite
def tod_months(draw: st.DrawFn) -> tuple[tariff.TariffBook, str, int, list[tuple[dt.date, int, Any]]]:
    book, category = draw(st.sampled_from([(SPDCL, "LT-II"), (TOD_BOOK, "C")]))
    m = draw(st.integers(4, 12)) if book is SPDCL else draw(st.integers(1, 12))
    n = calendar.monthrange(2025, m)[1]
    first = dt.date(2025, m, draw(st.sampled_from([1, 1, 2, 15, n])))
    load_w = draw(st.sampled_from([0, 1_000, 2_000, 4_750, 12_345]))
    days = []
    for on in month(first):
        wh = draw(st.integers(0, 6_000) | st.sampled_from([0, 1, 50_000, 49_999]))
        profile = draw(st.none() | st.tuples(st.integers(0, wh), st.integers(0, wh)))
        if profile is not None and sum(profile) > wh:
            profile = (profile[0], wh - profile[0])
        days.append((on, wh, profile))
    return book, category, load_w, days


@settings(max_examples=150, deadline=None)
@given(tod_months())
def test_a_months_days_add_up_to_its_bill_under_groups_and_tod(
    case: tuple[tariff.TariffBook, str, int, list[tuple[dt.date, int, Any]]],
) -> None:
    book, category, load_w, days = case
    charges, month_tod = bill_month(book, category, load_w, days)
    expected = rating.month_bill(
        book, category=category, load_w=load_w, days=[(d, wh) for d, wh, _ in days], tod_wh=month_tod
    )
    assert sum(c.total_paise for c in charges) == expected


@settings(max_examples=200, deadline=None)
@given(
    case=st.sampled_from([(SPDCL, "LT-II"), (TOD_BOOK, "C")]),
    day=st.integers(1, 30),
    mtd=st.integers(0, 120_000),
    wh=st.integers(0, 60_000),
    more=st.integers(0, 60_000),
    peak_share=st.fractions(0, 1),
)
def test_more_energy_never_costs_less_across_the_groups(
    case: tuple[tariff.TariffBook, str], day: int, mtd: int, wh: int, more: int, peak_share: Any
) -> None:
    book, category = case
    on = dt.date(2025, 6, day)

    def charge(units: int) -> rating.DayCharge:
        peak = int(units * peak_share)
        off = (units - peak) // 2
        return rating.rate_day(
            book,
            category=category,
            load_w=2_000,
            day=on,
            wh=units,
            mtd_wh_before=mtd,
            month_first_day=dt.date(2025, 6, 1),
            tod_wh=(peak, off),
        )

    less, bigger = charge(wh), charge(wh + more)
    if more >= 1_000:  # a kWh more costs paise more than any rounding can take back
        assert bigger.total_paise >= less.total_paise
    else:
        # Each item is rounded to the paisa on its own (the bill shows each), so a few Wh more can
        # round an off-peak rebate or a refund levy up before the energy charge: at most a paisa an
        # item (e.g. 31 -> 32 Wh off-peak: rebate -0.48 -> -0.51 paise rounds 0 -> -1, energy stays).
        assert bigger.total_paise >= less.total_paise - len(bigger.items)


@settings(max_examples=100, deadline=None)
@given(units=st.lists(st.integers(0, 120_000), min_size=2, max_size=2).map(sorted))
def test_the_monthly_bill_never_falls_when_units_rise(units: list[int]) -> None:
    def bill(wh: int) -> int:
        return rating.month_bill(SPDCL, category="LT-II", load_w=2_000, days=[(DEC_1, wh)])

    assert bill(units[1]) >= bill(units[0])


# --- the load profile split -----------------------------------------------------------------------

SCHEDULE = TOD_BOOK.category("C", on=DEC_1).tod


def test_slots_are_classed_by_the_ist_minute_they_start_at() -> None:
    assert SCHEDULE is not None
    slots = [0] * 48
    slots[0] = 100  # 00:15-00:45 off-peak (22:00-06:00)
    slots[35] = 10  # 17:45-18:15: starts before the peak, normal
    slots[36] = 1  # 18:15-18:45: peak
    assert SCHEDULE.split(slots_wh=slots, first_slot_minute=15, billed_wh=10_000) == (1, 100)
    assert SCHEDULE.split(slots_wh=slots, first_slot_minute=0, billed_wh=10_000) == (1, 100)  # 18:00 peak


def test_a_profile_above_the_billed_energy_is_scaled_down() -> None:
    assert SCHEDULE is not None
    slots = [100] * 48  # 4,800 Wh; the register says 2,400
    peak, off = SCHEDULE.split(slots_wh=slots, first_slot_minute=0, billed_wh=2_400)
    assert (peak, off) == (800, 800)  # 16 peak and 16 off-peak slots of 100 Wh, halved


def test_a_profile_must_have_48_whole_values() -> None:
    assert SCHEDULE is not None
    with pytest.raises(tod.ProfileInvalid):
        SCHEDULE.split(slots_wh=[1] * 47, first_slot_minute=0, billed_wh=1)
    with pytest.raises(tod.ProfileInvalid):
        SCHEDULE.split(slots_wh=[-1] + [0] * 47, first_slot_minute=0, billed_wh=1)
