import calendar
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattwallet import tariffs
from wattwallet.domain import money, rating, tariff

BOOK = tariffs.book("sample")
JUNE_1 = dt.date(2025, 6, 1)
FPPCA = "levy:FPPCA-2025-26"

LT1_SLABS = [
    {"upto": 30, "rate": "1.90"},
    {"upto": 75, "rate": "3.00"},
    {"upto": 125, "rate": "4.50"},
    {"upto": 225, "rate": "6.00"},
    {"upto": 400, "rate": "8.75"},
    {"upto": None, "rate": "9.75"},
]


def lt1(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "Domestic",
        "energy_slabs": LT1_SLABS,
        "fixed_charge_per_kw_month": "10.00",
        "electricity_duty_per_unit": "0.06",
    }
    return spec | overrides


def book(
    *versions: tuple[str, dict[str, Any]], levies: list[dict[str, Any]] | None = None
) -> tariff.TariffBook:
    return tariff.TariffBook.from_data(
        {
            "versions": [{"effective_from": start, "categories": cats} for start, cats in versions],
            "levies": levies or [],
        }
    )


def rate(
    on: dt.date,
    wh: int,
    *,
    mtd: int = 0,
    load_w: int = 2000,
    first: dt.date | None = None,
    category: str = "LT-I",
    tariff_book: tariff.TariffBook = BOOK,
) -> rating.DayCharge:
    return rating.rate_day(
        tariff_book,
        category=category,
        load_w=load_w,
        day=on,
        wh=wh,
        mtd_wh_before=mtd,
        month_first_day=first or on.replace(day=1),
    )


def items(charge: rating.DayCharge) -> list[tuple[str, int]]:
    return [(i.component, i.amount_paise) for i in charge.items]


def amount(charge: rating.DayCharge, component: str) -> int:
    return sum(i.amount_paise for i in charge.items if i.component == component)


def month_days(first: dt.date) -> list[dt.date]:
    n = calendar.monthrange(first.year, first.month)[1]
    return [first.replace(day=d) for d in range(first.day, n + 1)]


def component_over_month(first: dt.date, component: str, **kwargs: Any) -> list[int]:
    return [amount(rate(d, 0, first=first, **kwargs), component) for d in month_days(first)]


# --- worked examples ------------------------------------------------------------------------------


def test_worked_example_a_2kw_house_on_its_first_units_of_june() -> None:
    charge = rate(dt.date(2025, 6, 2), 6_400, mtd=0, first=JUNE_1)
    assert items(charge) == [
        ("energy:0-30", 1_216),  # 6.4 × ₹1.90
        ("electricity_duty", 38),  # 6.4 × ₹0.06 = ₹0.384
        (FPPCA, 256),  # 6.4 × ₹0.40
        ("fixed_charge", 66),  # ₹10 × 2 kW / 30 = 66.67 paise, floored
    ]
    assert charge.total_paise == 1_576
    assert charge.day == dt.date(2025, 6, 2)
    assert charge.wh == 6_400


def test_a_day_crossing_a_slab_is_itemised_into_both_slabs() -> None:
    charge = rate(dt.date(2025, 6, 10), 6_400, mtd=28_000)
    assert items(charge)[:2] == [("energy:0-30", 380), ("energy:30-75", 1_320)]  # 2 × 1.90, 4.4 × 3.00
    energy = BOOK.category("LT-I", on=JUNE_1).energy_charge
    assert money.round_paise(energy(Decimal("34.4"))) - money.round_paise(energy(Decimal(28))) == 380 + 1_320


def test_a_day_crossing_several_slabs_names_every_slab_up_to_the_open_one() -> None:
    charge = rate(dt.date(2025, 6, 10), 400_000, mtd=20_000)
    assert [c for c, _ in items(charge) if c.startswith("energy:")] == [
        "energy:0-30",
        "energy:30-75",
        "energy:75-125",
        "energy:125-225",
        "energy:225-400",
        "energy:400+",
    ]
    assert amount(charge, "energy:0-30") == 10 * 190
    assert amount(charge, "energy:400+") == 20 * 975


def test_the_rounding_difference_of_a_slab_crossing_goes_to_the_highest_slab() -> None:
    # 1.4 paise a unit: slab 0-1 alone is 1.4 → 1, slab 1-2 alone 1.4 → 1, but the day is 2.8 → 3.
    slabs = [{"upto": 1, "rate": "0.014"}, {"upto": 2, "rate": "0.014"}, {"upto": None, "rate": "0.014"}]
    fine = book(("2025-04-01", {"X": {"name": "x", "energy_slabs": slabs}}))
    charge = rate(dt.date(2025, 6, 5), 2_000, tariff_book=fine, category="X")
    assert items(charge) == [("energy:0-1", 1), ("energy:1-2", 2)]


def test_slab_names_use_units_without_trailing_zeros() -> None:
    slabs = [{"upto": "0.5", "rate": "1"}, {"upto": 30.0, "rate": "2"}, {"upto": None, "rate": "3"}]
    odd = book(("2025-04-01", {"X": {"name": "x", "energy_slabs": slabs}}))
    charge = rate(dt.date(2025, 6, 5), 31_000, tariff_book=odd, category="X")
    assert items(charge) == [("energy:0-0.5", 50), ("energy:0.5-30", 5_900), ("energy:30+", 300)]


def test_energy_uses_the_month_to_date_position() -> None:
    # 130 kWh already this month: the day's 5 kWh fall in the 126-225 slab at ₹6.00.
    charge = rate(dt.date(2025, 6, 20), 5_000, mtd=130_000)
    assert items(charge)[0] == ("energy:125-225", 3_000)


def test_duty_and_levies_round_cumulatively_so_the_paise_are_not_lost() -> None:
    # 0.4 kWh a day: duty is 2.4 paise a day, never rounded away: 2, 3, 2, 3, 2 (cumulative).
    duty = [amount(rate(dt.date(2025, 6, 1 + i), 400, mtd=400 * i), "electricity_duty") for i in range(5)]
    assert duty == [2, 3, 2, 3, 2]
    assert sum(duty) == money.round_paise(Decimal("0.06") * 100 * 2)


def test_a_day_without_consumption_still_pays_its_share_of_the_fixed_charge() -> None:
    assert items(rate(dt.date(2025, 6, 3), 0, mtd=5_000)) == [("fixed_charge", 66)]


def test_no_load_and_no_consumption_costs_nothing() -> None:
    charge = rate(dt.date(2025, 6, 3), 0, load_w=0)
    assert charge.items == ()
    assert charge.total_paise == 0


def test_lt2_demand_charge_is_deducted_pro_rata() -> None:
    charge = rate(dt.date(2025, 6, 3), 0, load_w=10_000, category="LT-II")
    assert items(charge) == [("demand_charge", 2_500)]  # ₹75 × 10 kW / 30


def test_rating_twice_gives_the_same_answer() -> None:
    assert rate(dt.date(2025, 6, 9), 7_777, mtd=99_999) == rate(dt.date(2025, 6, 9), 7_777, mtd=99_999)


# --- monthly charges, pro rata ----------------------------------------------------------------------


def test_june_last_day_takes_the_remainder_so_the_fixed_charge_sums_exactly() -> None:
    fixed = component_over_month(JUNE_1, "fixed_charge")
    assert len(fixed) == 30
    assert fixed[:29] == [66] * 29
    assert fixed[29] == 2_000 - 29 * 66 == 86
    assert sum(fixed) == 2_000


@pytest.mark.parametrize(
    ("first", "days", "daily", "last"),
    [
        (dt.date(2026, 2, 1), 28, 71, 2_000 - 27 * 71),  # 71.43
        (dt.date(2028, 2, 1), 29, 68, 2_000 - 28 * 68),  # leap year: 68.97
        (dt.date(2025, 7, 1), 31, 64, 2_000 - 30 * 64),  # 64.52
        (dt.date(2025, 8, 1), 31, 64, 2_000 - 30 * 64),
    ],
)
def test_february_and_31_day_months_divide_by_their_own_days(
    first: dt.date, days: int, daily: int, last: int
) -> None:
    fixed = component_over_month(first, "fixed_charge")
    assert len(fixed) == days
    assert fixed[:-1] == [daily] * (days - 1)
    assert fixed[-1] == last
    assert sum(fixed) == 2_000


def test_a_connection_starting_mid_month_pays_for_its_days_only() -> None:
    first = dt.date(2025, 6, 21)
    fixed = component_over_month(first, "fixed_charge")
    assert len(fixed) == 10
    assert fixed[:9] == [66] * 9
    assert sum(fixed) == money.round_paise(Decimal(2_000) * 10 / 30) == 667
    assert fixed[9] == 667 - 9 * 66


def test_a_connection_starting_on_the_last_day_pays_one_day() -> None:
    first = dt.date(2025, 6, 30)
    assert component_over_month(first, "fixed_charge") == [67]  # round(2000 / 30)


def test_the_minimum_charge_is_not_deducted_daily() -> None:
    with_minimum = book(("2025-04-01", {"LT-I": lt1(minimum_charge_per_month="50.00")}))
    charges = [
        rate(d, 1_000, mtd=1_000 * i, tariff_book=with_minimum) for i, d in enumerate(month_days(JUNE_1))
    ]
    assert all("minimum" not in item.component for c in charges for item in c.items)
    assert sum(amount(c, "fixed_charge") for c in charges) == 2_000


def test_a_customer_charge_is_deducted_pro_rata() -> None:
    with_customer = book(("2025-04-01", {"LT-I": lt1(customer_charge_per_month="25.00")}))
    customer = component_over_month(JUNE_1, "customer_charge", tariff_book=with_customer)
    assert customer[:29] == [83] * 29
    assert sum(customer) == 2_500


# --- tariff versions and levies ----------------------------------------------------------------------

V2_SLABS = [{"upto": 30, "rate": "2.00"}, {"upto": 75, "rate": "3.50"}, {"upto": None, "rate": "5.00"}]
TWO_VERSIONS = book(
    ("2025-04-01", {"LT-I": lt1()}),
    ("2025-06-16", {"LT-I": lt1(energy_slabs=V2_SLABS, fixed_charge_per_kw_month="12.00")}),
)


def test_a_new_tariff_mid_month_applies_from_its_date_and_keeps_the_slab_position() -> None:
    before = rate(dt.date(2025, 6, 15), 4_000, mtd=24_000, tariff_book=TWO_VERSIONS)
    assert items(before)[:1] == [("energy:0-30", 760)]  # 4 × 1.90, old tariff
    after = rate(dt.date(2025, 6, 16), 4_000, mtd=28_000, tariff_book=TWO_VERSIONS)
    # 28 kWh already this month: 2 kWh at the new ₹2.00, 2 kWh at the new ₹3.50
    assert items(after)[:2] == [("energy:0-30", 400), ("energy:30-75", 700)]
    assert amount(after, "fixed_charge") == 80  # ₹24 / 30


def test_a_new_tariff_mid_month_splits_the_monthly_charges_by_days() -> None:
    fixed = component_over_month(JUNE_1, "fixed_charge", tariff_book=TWO_VERSIONS)
    assert fixed[:15] == [66] * 15
    assert fixed[15:29] == [80] * 14
    assert sum(fixed) == money.round_paise(Decimal(2_000) * 15 / 30 + Decimal(2_400) * 15 / 30) == 2_200


def test_month_bill_refuses_a_month_with_two_tariff_versions() -> None:
    days = [(d, 1_000) for d in month_days(JUNE_1)]
    with pytest.raises(ValueError, match="one tariff version"):
        rating.month_bill(TWO_VERSIONS, category="LT-I", load_w=2_000, days=days)


WINDOWED = book(
    ("2025-04-01", {"LT-I": lt1()}),
    levies=[
        {
            "name": "TRUEUP",
            "kind": "true_up",
            "per_unit": "0.10",
            "valid_from": "2025-06-10",
            "valid_to": "2025-06-20",
        },
        {
            "name": "METER",
            "kind": "other",
            "per_month": "10.00",
            "valid_from": "2025-06-11",
            "valid_to": None,
        },
        {
            "name": "OLD",
            "kind": "other",
            "per_month": "10.00",
            "valid_from": "2025-01-01",
            "valid_to": "2025-06-20",
        },
    ],
)


def test_a_per_unit_levy_applies_only_inside_its_window() -> None:
    assert amount(rate(dt.date(2025, 6, 9), 5_000, mtd=50_000, tariff_book=WINDOWED), "levy:TRUEUP") == 0
    assert amount(rate(dt.date(2025, 6, 10), 5_000, mtd=50_000, tariff_book=WINDOWED), "levy:TRUEUP") == 50
    assert amount(rate(dt.date(2025, 6, 19), 5_000, mtd=50_000, tariff_book=WINDOWED), "levy:TRUEUP") == 50
    assert amount(rate(dt.date(2025, 6, 20), 5_000, mtd=50_000, tariff_book=WINDOWED), "levy:TRUEUP") == 0


def test_a_monthly_levy_starting_mid_month_is_charged_for_its_days() -> None:
    meter = component_over_month(JUNE_1, "levy:METER", tariff_book=WINDOWED)
    assert meter[:10] == [0] * 10
    assert meter[10:29] == [33] * 19
    assert sum(meter) == money.round_paise(Decimal(1_000) * 20 / 30) == 667


def test_a_monthly_levy_ending_mid_month_settles_its_remainder_on_the_months_last_day() -> None:
    old = component_over_month(JUNE_1, "levy:OLD", tariff_book=WINDOWED)
    assert old[:19] == [33] * 19
    assert old[19:29] == [0] * 10
    assert sum(old) == money.round_paise(Decimal(1_000) * 19 / 30) == 633
    assert old[29] == 633 - 19 * 33


def test_a_levy_with_both_rates_is_one_item() -> None:
    both = book(
        ("2025-04-01", {"LT-I": lt1()}),
        levies=[{"name": "TU", "per_unit": "0.10", "per_month": "3.00", "valid_from": "2025-04-01"}],
    )
    charge = rate(dt.date(2025, 6, 2), 1_000, tariff_book=both)
    assert [c for c, _ in items(charge)] == ["energy:0-30", "electricity_duty", "levy:TU", "fixed_charge"]
    assert amount(charge, "levy:TU") == 10 + 10


REFUND = book(
    ("2025-04-01", {"LT-I": lt1()}),
    levies=[
        {"name": "REFUND", "kind": "true_up", "per_unit": "-0.05", "valid_from": "2025-04-01"},
        {"name": "CREDIT", "kind": "other", "per_month": "-10.00", "valid_from": "2025-04-01"},
    ],
)


def test_a_negative_per_unit_levy_is_a_refund_rounded_half_away_from_zero() -> None:
    assert amount(rate(dt.date(2025, 6, 2), 6_400, tariff_book=REFUND), "levy:REFUND") == -32
    first = rate(dt.date(2025, 6, 2), 300, tariff_book=REFUND)  # -1.5 paise
    assert amount(first, "levy:REFUND") == money.round_paise(Decimal("-1.5")) == -2
    second = rate(dt.date(2025, 6, 3), 300, mtd=300, tariff_book=REFUND)  # -3.0 in all
    assert amount(second, "levy:REFUND") == -1


def test_a_negative_monthly_levy_is_refunded_pro_rata_and_sums_exactly() -> None:
    credit = component_over_month(JUNE_1, "levy:CREDIT", tariff_book=REFUND)
    assert credit[:29] == [-34] * 29  # floor(-33.33)
    assert sum(credit) == -1_000


# --- refusals and caching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "first"),
    [
        (dt.date(2025, 6, 5), dt.date(2025, 6, 6)),
        (dt.date(2025, 7, 1), JUNE_1),
        (dt.date(2025, 5, 31), JUNE_1),
    ],
)
def test_the_day_must_be_in_the_month_billed_from_its_first_day(on: dt.date, first: dt.date) -> None:
    with pytest.raises(ValueError, match="not in the month"):
        rate(on, 1_000, first=first)


def test_negative_energy_is_refused() -> None:
    with pytest.raises(ValueError):
        rate(dt.date(2025, 6, 5), -1)
    with pytest.raises(ValueError):
        rate(dt.date(2025, 6, 5), 1, mtd=-1)


def test_unknown_category_and_days_before_any_tariff_are_refused() -> None:
    with pytest.raises(tariff.UnknownCategory):
        rate(dt.date(2025, 6, 5), 1_000, category="HT-9")
    with pytest.raises(tariff.NoTariffInForce):
        rate(dt.date(2025, 3, 31), 1_000)


def test_a_tariff_starting_mid_month_rates_its_days_and_refuses_the_days_before() -> None:
    late = book(("2025-06-10", {"LT-I": lt1()}))
    with pytest.raises(tariff.NoTariffInForce):
        rate(dt.date(2025, 6, 9), 1_000, tariff_book=late)
    fixed = component_over_month(dt.date(2025, 6, 10), "fixed_charge", tariff_book=late)
    assert sum(fixed) == money.round_paise(Decimal(2_000) * 21 / 30)


def test_two_books_are_never_confused() -> None:
    cheap = book(("2025-04-01", {"LT-I": lt1(fixed_charge_per_kw_month="1.00")}))
    dear = book(("2025-04-01", {"LT-I": lt1(fixed_charge_per_kw_month="100.00")}))
    assert amount(rate(dt.date(2025, 6, 5), 0, tariff_book=cheap), "fixed_charge") == 6
    assert amount(rate(dt.date(2025, 6, 5), 0, tariff_book=dear), "fixed_charge") == 666


def test_month_bill_refuses_days_of_two_months() -> None:
    with pytest.raises(ValueError, match="single calendar month"):
        rating.month_bill(BOOK, category="LT-I", load_w=2_000, days=[(JUNE_1, 1), (dt.date(2025, 7, 1), 1)])


def test_month_bill_of_nothing_is_nothing() -> None:
    assert rating.month_bill(BOOK, category="LT-I", load_w=2_000, days=[]) == 0


def test_month_bill_of_the_worked_example() -> None:
    # 30 days × 5 kWh = 150 kWh: 30×1.90 + 45×3.00 + 50×4.50 + 25×6.00 = ₹567; duty ₹9; FPPCA ₹60; fixed ₹20
    days = [(d, 5_000) for d in month_days(JUNE_1)]
    assert rating.month_bill(BOOK, category="LT-I", load_w=2_000, days=days) == 56_700 + 900 + 6_000 + 2_000


# --- spread ---------------------------------------------------------------------------------------------


def test_spread_puts_the_remainder_on_the_last_day() -> None:
    assert rating.spread(first_day=dt.date(2025, 6, 29), last_day=dt.date(2025, 7, 2), wh=10_003) == [
        (dt.date(2025, 6, 29), 2_500),
        (dt.date(2025, 6, 30), 2_500),
        (dt.date(2025, 7, 1), 2_500),
        (dt.date(2025, 7, 2), 2_503),
    ]


def test_spread_refuses_a_backwards_gap() -> None:
    with pytest.raises(ValueError):
        rating.spread(first_day=dt.date(2025, 6, 2), last_day=dt.date(2025, 6, 1), wh=1)


@given(
    first=st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 12, 31)),
    length=st.integers(min_value=0, max_value=70),
    wh=st.integers(min_value=0, max_value=10**7),
)
def test_spread_sums_to_the_gap_and_covers_each_day_once(first: dt.date, length: int, wh: int) -> None:
    last = first + dt.timedelta(days=length)
    parts = rating.spread(first_day=first, last_day=last, wh=wh)
    assert sum(w for _, w in parts) == wh
    assert [d for d, _ in parts] == [first + dt.timedelta(days=i) for i in range(length + 1)]
    assert all(w >= 0 for _, w in parts)
    assert max(w for _, w in parts) - min(w for _, w in parts) <= length  # even, remainder < days


# --- properties -----------------------------------------------------------------------------------------

# A book with every kind of charge, fractional rates and slab bounds, constant over 2025.
RICH = book(
    (
        "2025-01-01",
        {
            "R": {
                "name": "rich",
                "energy_slabs": [
                    {"upto": "12.5", "rate": "1.905"},
                    {"upto": 50, "rate": "3.333"},
                    {"upto": "100.001", "rate": "4.5"},
                    {"upto": None, "rate": "7.77"},
                ],
                "fixed_charge_per_kw_month": "10.35",
                "demand_charge_per_kw_month": "7.77",
                "customer_charge_per_month": "12.345",
                "minimum_charge_per_month": "40",
                "electricity_duty_per_unit": "0.065",
            }
        },
    ),
    levies=[
        {"name": "FPPCA", "per_unit": "0.333", "valid_from": "2025-01-01"},
        {"name": "REFUND", "per_unit": "-0.047", "per_month": "-3.01", "valid_from": "2025-01-01"},
        {"name": "RENT", "per_month": "7.99", "valid_from": "2025-01-01"},
    ],
)
CASES = [(BOOK, "LT-I"), (BOOK, "LT-II"), (RICH, "R")]


@st.composite
def billed_months(draw: st.DrawFn) -> tuple[tariff.TariffBook, str, int, list[tuple[dt.date, int]]]:
    tariff_book, category = draw(st.sampled_from(CASES))
    year, month = (
        (2025, draw(st.integers(4, 12))) if tariff_book is BOOK else (2025, draw(st.integers(1, 12)))
    )
    n = calendar.monthrange(year, month)[1]
    first = dt.date(year, month, draw(st.sampled_from([1, 1, 1, 2, 15, n])))
    load_w = draw(st.sampled_from([0, 333, 1_000, 2_000, 4_750, 12_345]))
    wh = st.integers(0, 80_000) | st.sampled_from([0, 1, 999, 30_000])
    days = [(d, draw(wh)) for d in month_days(first)]
    return tariff_book, category, load_w, days


@settings(max_examples=150, deadline=None)
@given(billed_months())
def test_a_months_daily_deductions_add_up_to_its_bill(
    case: tuple[tariff.TariffBook, str, int, list[tuple[dt.date, int]]],
) -> None:
    tariff_book, category, load_w, days = case
    first = days[0][0]
    mtd = 0
    total = 0
    for on, wh in days:
        charge = rating.rate_day(
            tariff_book,
            category=category,
            load_w=load_w,
            day=on,
            wh=wh,
            mtd_wh_before=mtd,
            month_first_day=first,
        )
        total += charge.total_paise
        mtd += wh
    assert total == rating.month_bill(tariff_book, category=category, load_w=load_w, days=days)


@settings(max_examples=200, deadline=None)
@given(
    case=st.sampled_from(CASES[:2]),
    day=st.integers(1, 30),
    mtd=st.integers(0, 1_000_000),
    wh=st.integers(0, 100_000),
    more=st.integers(0, 100_000),
)
def test_more_energy_never_costs_less(
    case: tuple[tariff.TariffBook, str], day: int, mtd: int, wh: int, more: int
) -> None:
    tariff_book, category = case
    on = dt.date(2025, 6, day)
    low = rate(on, wh, mtd=mtd, category=category, tariff_book=tariff_book)
    high = rate(on, wh + more, mtd=mtd, category=category, tariff_book=tariff_book)
    assert high.total_paise >= low.total_paise


@settings(max_examples=300, deadline=None)
@given(
    case=st.sampled_from(CASES),
    day=st.integers(1, 30),
    first=st.integers(1, 30),
    mtd=st.integers(0, 1_000_000),
    wh=st.integers(0, 600_000),
    load_w=st.integers(0, 50_000),
)
def test_items_add_up_to_the_rules(
    case: tuple[tariff.TariffBook, str], day: int, first: int, mtd: int, wh: int, load_w: int
) -> None:
    tariff_book, category = case
    on, first_day = dt.date(2025, 6, day), dt.date(2025, 6, min(first, day))
    charge = rate(on, wh, mtd=mtd, load_w=load_w, first=first_day, category=category, tariff_book=tariff_book)
    components = [i.component for i in charge.items]
    assert len(set(components)) == len(components)
    assert all(i.amount_paise != 0 for i in charge.items)
    assert charge.total_paise == sum(i.amount_paise for i in charge.items)

    # energy: exactly round(E(after)) − round(E(before)) of the Decimal tariff, slabs in ascending order
    cat = tariff_book.category(category, on=on)
    before, after = Decimal(mtd) / 1000, Decimal(mtd + wh) / 1000
    energy = [i for i in charge.items if i.component.startswith("energy:")]
    expected = money.round_paise(cat.energy_charge(after)) - money.round_paise(cat.energy_charge(before))
    assert sum(i.amount_paise for i in energy) == expected
    assert components[: len(energy)] == [i.component for i in energy]
    slab_names = rating._energy_table(cat.slabs).names
    assert [slab_names.index(i.component) for i in energy] == sorted(
        slab_names.index(i.component) for i in energy
    )

    # duty and per-unit levies: the same cumulative rounding
    def cumulative(rate_paise: Decimal) -> int:
        return money.round_paise(rate_paise * after) - money.round_paise(rate_paise * before)

    assert amount(charge, "electricity_duty") == cumulative(cat.duty_per_unit_paise)
    for levy in tariff_book.levies_on(category=category, on=on):
        if not levy.per_month_paise:
            assert amount(charge, f"levy:{levy.name}") == cumulative(levy.per_unit_paise)
