"""The rating engine: what one day of consumption costs a connection (DOMAIN.md §2 daily deduction).

Pure and clock-free: every input is an argument. Units are watt-hours (int); money is integer paise,
rounded half away from zero (`money.round_paise`) only where a rule says so.

- Energy is telescopic on the calendar month's units to date: a day costs
  ``round(E(mtd_before + wh)) - round(E(mtd_before))``, so a month's days add up to ``round(E(total))``.
  E is the energy charge of the tariff version in force *that day*; when a new version starts mid-month
  the month-to-date position carries on into its slabs.
- Electricity duty and per-unit levies (FPPCA, true-up; a negative rate is a refund) use the same
  cumulative formula on the month-to-date units.
- Monthly charges (fixed and demand per kW of sanctioned load, customer charge, per-month levies) are
  deducted pro rata by the days of the calendar month: ``floor(monthly / n)`` each day and, on the
  month's last day, whatever makes the month add up to ``round(Σ monthly / n)`` over the days billed.
- The tariff's **minimum charge is not deducted daily**: it is settled (if at all) against the month's
  bill, not pro rata, and is left out here.

The daily cycle calls `rate_day` for every connection, so everything that depends only on the tariff
book, category, sanctioned load and month is compiled once into integer tables and cached.
"""

from __future__ import annotations

import bisect
import calendar
import dataclasses
import datetime as dt
import functools
import itertools
import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from wattwallet.domain import tariff

MONTHLY_COMPONENTS = ("fixed_charge", "demand_charge", "customer_charge")
DUTY_COMPONENT = "electricity_duty"
WH_PER_KWH = 1000


@dataclasses.dataclass(frozen=True)
class DayCharge:
    """What one day costs: the energy attributed to it and the itemised, non-zero charges."""

    day: dt.date
    wh: int
    items: tuple[tariff.ChargeItem, ...]

    @property
    def total_paise(self) -> int:
        return sum(item.amount_paise for item in self.items)


def rate_day(
    book: tariff.TariffBook,
    *,
    category: str,
    load_w: int,
    day: dt.date,
    wh: int,
    mtd_wh_before: int,
    month_first_day: dt.date,
) -> DayCharge:
    """Rate `wh` consumed on `day`, after `mtd_wh_before` already billed this calendar month.

    `month_first_day` is the first day this connection is billed in `day`'s month (the 1st, or the
    day it started) and fixes which days share the month's fixed charges. Items come in a stable
    order: energy by slab (lowest first), electricity duty, per-unit levies, fixed, demand and
    customer charges, then per-month levies (levies in the book's order; a levy with both a
    per-unit and a per-month rate is one item). The minimum charge is never deducted daily.
    """
    if wh < 0 or mtd_wh_before < 0:
        raise ValueError("energy cannot be negative")
    key = (id(book), category, load_w, month_first_day)
    cached = _PLANS.get(key)
    if cached is None or cached[0] is not book:
        cached = (book, _month_plan(book, category, load_w, month_first_day))
        _remember(key, cached)
    plan = cached[1]
    index = day.toordinal() - plan.first_ordinal
    if not 0 <= index < len(plan.days):
        raise ValueError(f"{day} is not in the month billed from {month_first_day}")
    rated = plan.days[index]
    if rated is None:
        book.category(category, on=day)  # raises NoTariffInForce / UnknownCategory
        raise AssertionError("unreachable: a day without a plan has no tariff")  # pragma: no cover

    after = mtd_wh_before + wh
    items = _energy_items(rated.energy, mtd_wh_before, after) if wh else []
    if rated.duty is not None:
        num, den = rated.duty
        amount = _round(num * after, den) - _round(num * mtd_wh_before, den)
        if amount:
            items.append(tariff.ChargeItem(DUTY_COMPONENT, amount))
    for component, num, den in rated.unit_levies:
        amount = _round(num * after, den) - _round(num * mtd_wh_before, den)
        if amount:
            items.append(tariff.ChargeItem(component, amount))
    items.extend(rated.monthly)
    if rated.merge:
        items = _merged(items)
    return DayCharge(day, wh, tuple(items))


def spread(*, first_day: dt.date, last_day: dt.date, wh: int) -> list[tuple[dt.date, int]]:
    """Split a catch-up over missing readings evenly over the calendar days first_day..last_day.

    Whole Wh per day, the remainder on the last day; a gap across a month end thus lands in each
    month in proportion to its days.
    """
    if wh < 0:
        raise ValueError("energy cannot be negative")
    days = (last_day - first_day).days + 1
    if days < 1:
        raise ValueError(f"the gap ends ({last_day}) before it starts ({first_day})")
    share = wh // days
    out = [(first_day + dt.timedelta(days=i), share) for i in range(days - 1)]
    out.append((last_day, wh - share * (days - 1)))
    return out


def month_bill(
    book: tariff.TariffBook, *, category: str, load_w: int, days: Sequence[tuple[dt.date, int]]
) -> int:
    """The bill of one calendar month computed from its totals, in paise (minimum charge excluded).

    `days` are the days billed (date, Wh), all in one calendar month, under one tariff version and
    one set of levies; otherwise ValueError. Equal to the sum of `rate_day` over the same days when
    they run from the first day billed to the month's end.
    """
    if not days:
        return 0
    dates = [d for d, _ in days]
    month = (dates[0].year, dates[0].month)
    if any((d.year, d.month) != month for d in dates) or len(set(dates)) != len(dates):
        raise ValueError("month_bill takes distinct days of a single calendar month")
    if any(wh < 0 for _, wh in days):
        raise ValueError("energy cannot be negative")
    versions = {id(book.version_on(d)) for d in dates}
    levies = {tuple(map(id, book.levies_on(category=category, on=d))) for d in dates}
    if len(versions) != 1 or len(levies) != 1:
        raise ValueError("month_bill needs one tariff version and constant levies over the days")
    cat = book.category(category, on=dates[0])
    units = Decimal(sum(wh for _, wh in days)) / WH_PER_KWH
    total = _round_fraction(Fraction(cat.energy_charge(units)))
    total += _round_fraction(Fraction(cat.duty_per_unit_paise * units))
    for levy in book.levies_on(category=category, on=dates[0]):
        total += _round_fraction(Fraction(levy.per_unit_paise * units))
    n = calendar.monthrange(*month)[1]
    sums: dict[str, Fraction] = {}
    for d in dates:
        for component, exact in _monthly_exact(book, category, load_w, d):
            sums[component] = sums.get(component, Fraction(0)) + exact / n
    return total + sum(_round_fraction(s) for s in sums.values())


# --- compiled tables -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _EnergyTable:
    """Telescopic slabs as exact integers: positions are Wh × `scale`, charges are paise × `den`.

    Energy rates are never negative (the loader refuses them), so charges are never negative.
    """

    scale: int
    den: int
    uppers: tuple[int, ...]  # upper bound of every slab but the open-ended last one
    lowers: tuple[int, ...]
    rates: tuple[int, ...]
    base: tuple[int, ...]  # charge of all the slabs below each slab
    names: tuple[str, ...]

    def slab_charge(self, slab: int, position: int) -> int:
        """The scaled charge of `slab` alone when the month's units reach `position`."""
        lower = self.lowers[slab]
        if position <= lower:
            return 0
        if slab < len(self.uppers):
            position = min(position, self.uppers[slab])
        return (position - lower) * self.rates[slab]


@dataclasses.dataclass(frozen=True, slots=True)
class _RatedDay:
    """One day of a month plan: the tariff and levies in force, and the day's monthly shares."""

    energy: _EnergyTable
    duty: tuple[int, int] | None  # paise per Wh as (numerator, denominator)
    unit_levies: tuple[tuple[str, int, int], ...]  # (component, numerator, denominator) per Wh
    monthly: tuple[tariff.ChargeItem, ...]  # this day's share of the monthly charges
    merge: bool  # two of this day's items may share a component name


@dataclasses.dataclass(frozen=True, slots=True)
class _MonthPlan:
    first_ordinal: int
    days: tuple[_RatedDay | None, ...]  # month_first_day .. month end; None: no tariff that day


# Month plans by (id(book), category, load_w, month_first_day). A TariffBook holds dicts, so it is
# not hashable: it is keyed by identity; each entry keeps its book alive (so the id cannot be reused
# while the entry lives) and is checked with `is`. Beyond the bound the oldest entries go.
_PLANS: dict[tuple[int, str, int, dt.date], tuple[tariff.TariffBook, _MonthPlan]] = {}
_PLANS_MAX = 16_384


def _remember(key: tuple[int, str, int, dt.date], entry: tuple[tariff.TariffBook, _MonthPlan]) -> None:
    while len(_PLANS) >= _PLANS_MAX:
        try:
            del _PLANS[next(iter(_PLANS))]
        except (KeyError, RuntimeError, StopIteration):  # another thread evicted it first
            break
    _PLANS[key] = entry


def _energy_items(table: _EnergyTable, before: int, after: int) -> list[tariff.ChargeItem]:
    den = table.den
    den2 = 2 * den
    a, b = before * table.scale, after * table.scale
    low = bisect.bisect_right(table.uppers, a)  # the slab holding a: lower <= a < upper
    high = bisect.bisect_left(table.uppers, b, low)  # the slab holding b: lower < b <= upper
    lowers, rates, base = table.lowers, table.rates, table.base
    charge_a = base[low] + (a - lowers[low]) * rates[low]
    charge_b = base[high] + (b - lowers[high]) * rates[high]
    # half-up rounding of charge/den, for charge >= 0: (2·charge + den) // (2·den)
    total = (2 * charge_b + den) // den2 - (2 * charge_a + den) // den2
    if low == high:
        return [tariff.ChargeItem(table.names[low], total)] if total else []
    amounts = [
        (2 * table.slab_charge(i, b) + den) // den2 - (2 * table.slab_charge(i, a) + den) // den2
        for i in range(low, high + 1)
    ]
    amounts[-1] += total - sum(amounts)  # any rounding difference goes to the highest slab touched
    return [
        tariff.ChargeItem(table.names[i], amount)
        for i, amount in zip(range(low, high + 1), amounts, strict=True)
        if amount
    ]


def _merged(items: list[tariff.ChargeItem]) -> list[tariff.ChargeItem]:
    sums: dict[str, int] = {}
    for item in items:
        sums[item.component] = sums.get(item.component, 0) + item.amount_paise
    return [tariff.ChargeItem(c, amount) for c, amount in sums.items() if amount]


def _month_plan(book: tariff.TariffBook, category: str, load_w: int, month_first_day: dt.date) -> _MonthPlan:
    """Everything about a month that does not depend on the energy: tariffs per day, monthly shares."""
    if load_w < 0:
        raise ValueError("sanctioned load cannot be negative")
    n = calendar.monthrange(month_first_day.year, month_first_day.month)[1]
    dates = [month_first_day.replace(day=d) for d in range(month_first_day.day, n + 1)]
    exact = [_monthly_exact_or_none(book, category, load_w, d) for d in dates]
    components = list(dict.fromkeys(c for day in exact if day is not None for c, _ in day))
    # floor(monthly/n) each day; the last day takes round(Σ monthly/n) − Σ of the floors before it.
    shares: list[dict[str, int]] = []
    month_sum = {c: Fraction(0) for c in components}
    floors = {c: 0 for c in components}
    for index, day in enumerate(exact):
        share: dict[str, int] = {}
        for component, amount in day or ():
            month_sum[component] += amount / n
            share[component] = _floor(amount / n)
        if index == len(exact) - 1:
            share = {c: _round_fraction(month_sum[c]) - floors[c] for c in components}
        else:
            for component, amount_paise in share.items():
                floors[component] += amount_paise
        shares.append(share)

    days: list[_RatedDay | None] = []
    for d, day_exact, share in zip(dates, exact, shares, strict=True):
        if day_exact is None:
            days.append(None)
            continue
        cat = book.category(category, on=d)
        levies = book.levies_on(category=category, on=d)
        duty = _per_wh(cat.duty_per_unit_paise)
        unit_levies = tuple(
            (f"levy:{levy.name}", *_per_wh(levy.per_unit_paise)) for levy in levies if levy.per_unit_paise
        )
        monthly = tuple(tariff.ChargeItem(c, share[c]) for c in _order(share) if share[c])
        names = [
            *(() if not cat.duty_per_unit_paise else (DUTY_COMPONENT,)),
            *(c for c, _, _ in unit_levies),
            *(i.component for i in monthly),
        ]
        days.append(
            _RatedDay(
                energy=_energy_table(cat.slabs),
                duty=duty if cat.duty_per_unit_paise else None,
                unit_levies=unit_levies,
                monthly=monthly,
                merge=len(set(names)) != len(names),
            )
        )
    return _MonthPlan(month_first_day.toordinal(), tuple(days))


def _order(share: dict[str, int]) -> list[str]:
    """Load charges in their fixed order, then per-month levies in the book's order."""
    fixed = [c for c in MONTHLY_COMPONENTS if c in share]
    return fixed + [c for c in share if c not in MONTHLY_COMPONENTS]


def _monthly_exact_or_none(
    book: tariff.TariffBook, category: str, load_w: int, on: dt.date
) -> list[tuple[str, Fraction]] | None:
    try:
        return _monthly_exact(book, category, load_w, on)
    except (tariff.NoTariffInForce, tariff.UnknownCategory):
        return None


def _monthly_exact(
    book: tariff.TariffBook, category: str, load_w: int, on: dt.date
) -> list[tuple[str, Fraction]]:
    """The exact monthly amounts (paise) under the tariff and levies in force on `on`, by component."""
    cat = book.category(category, on=on)
    load_kw = Fraction(load_w, WH_PER_KWH)
    out = [
        ("fixed_charge", Fraction(cat.fixed_per_kw_month_paise) * load_kw),
        ("demand_charge", Fraction(cat.demand_per_kw_month_paise) * load_kw),
        ("customer_charge", Fraction(cat.customer_charge_month_paise)),
    ]
    out += [
        (f"levy:{levy.name}", Fraction(levy.per_month_paise))
        for levy in book.levies_on(category=category, on=on)
        if levy.per_month_paise
    ]
    return [(c, amount) for c, amount in out if amount]


@functools.lru_cache(maxsize=1024)
def _energy_table(slabs: tuple[tariff.Slab, ...]) -> _EnergyTable:
    uppers_wh = [Fraction(s.upto_units) * WH_PER_KWH for s in slabs if s.upto_units is not None]
    rates = [Fraction(s.rate_paise) / WH_PER_KWH for s in slabs]  # paise per Wh
    scale = _lcm_of_denominators(uppers_wh)
    den = _lcm_of_denominators(rates) * scale
    uppers = tuple(int(u * scale) for u in uppers_wh)
    lowers = (0, *uppers)
    int_rates = tuple(int(r * den / scale) for r in rates)
    base = [0]
    for i, upper in enumerate(uppers):
        base.append(base[-1] + (upper - lowers[i]) * int_rates[i])
    bounds = [Decimal(0), *(s.upto_units for s in slabs if s.upto_units is not None)]
    ranges = [f"{_units(lo)}-{_units(hi)}" for lo, hi in itertools.pairwise(bounds)]
    names = tuple(f"energy:{r}" for r in [*ranges, f"{_units(bounds[-1])}+"])
    return _EnergyTable(scale, den, uppers, lowers, int_rates, tuple(base), names)


def _units(value: Decimal) -> str:
    """Slab bounds in units without trailing zeros: 30, 30.5 (never 3E+1)."""
    return f"{value.normalize():f}"


def _per_wh(rate_paise_per_unit: Decimal) -> tuple[int, int]:
    num, den = Fraction(rate_paise_per_unit).as_integer_ratio()
    return num, den * WH_PER_KWH


def _lcm_of_denominators(values: Sequence[Fraction]) -> int:
    return math.lcm(1, *(value.denominator for value in values))


def _round(num: int, den: int) -> int:
    """num/den (den > 0) rounded half away from zero, like money.round_paise."""
    if num >= 0:
        return (2 * num + den) // (2 * den)
    return -((-2 * num + den) // (2 * den))


def _round_fraction(value: Fraction) -> int:
    return _round(value.numerator, value.denominator)


def _floor(value: Fraction) -> int:
    return value.numerator // value.denominator
