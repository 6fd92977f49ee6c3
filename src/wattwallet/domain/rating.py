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
- **Usage groups** (LT-II minor up to 50 units a month, major above): the month's units to date pick
  the group, and E is that group's energy charge, so a day still costs E(after) − E(before). On the
  day the month crosses into a higher group, that difference includes repricing the month's earlier
  units at the new group's slabs (item ``energy:<group>:repricing``). Per-kW charges settle the same
  way: every day takes its share of the month at the rate of the group the month is in after that
  day, and the crossing day also takes, per component, the difference between the new group's and
  the old group's shares of the days before it (item ``<component>:repricing``). So a month that
  ends in major has paid exactly major's monthly charges, and one that stays minor exactly minor's.
- **Time-of-Day** (categories with a `tod` tariff, above its load threshold): the peak Wh and
  off-peak Wh of the day's load profile (`domain/tod.py`) carry a per-unit surcharge and rebate,
  cumulative on the month's peak and off-peak Wh like the levies. A day without a profile is billed
  at the normal rate with a zero-amount item ``tod:no_load_profile`` saying so.

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

from wattwallet.domain import tariff, tod

MONTHLY_COMPONENTS = ("fixed_charge", "demand_charge", "customer_charge")
DUTY_COMPONENT = "electricity_duty"
WH_PER_KWH = 1000


@dataclasses.dataclass(frozen=True)
class DayCharge:
    """What one day costs: the energy attributed to it and the itemised, non-zero charges."""

    day: dt.date
    wh: int
    items: tuple[tariff.ChargeItem, ...]
    tod_wh: tuple[int, int] = (0, 0)  # (peak, off-peak) Wh the ToD charges were applied to

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
    tod_wh: tuple[int, int] | None = None,
    mtd_tod_wh_before: tuple[int, int] = (0, 0),
) -> DayCharge:
    """Rate `wh` consumed on `day`, after `mtd_wh_before` already billed this calendar month.

    `tod_wh` is the day's (peak, off-peak) Wh from its load profile (`tod.TodTariff.split`), None
    when there is none; `mtd_tod_wh_before` the month's ToD Wh so far (the returned `tod_wh` adds to
    it). Both matter only for a category with Time-of-Day charges.

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
    groups = rated.groups
    if groups is None:
        items = _energy_items(rated.energy, mtd_wh_before, after) if wh else []
    else:
        was = bisect.bisect_left(groups.bounds, mtd_wh_before)
        now = bisect.bisect_left(groups.bounds, after)
        items = _energy_items(groups.energy[now], mtd_wh_before, after) if wh else []
        if now != was:
            repriced = _charge(groups.energy[now], mtd_wh_before) - _charge(groups.energy[was], mtd_wh_before)
            if repriced:
                items.insert(0, tariff.ChargeItem(f"{groups.energy[now].prefix}:repricing", repriced))
    if rated.duty is not None:
        num, den = rated.duty
        amount = _round(num * after, den) - _round(num * mtd_wh_before, den)
        if amount:
            items.append(tariff.ChargeItem(DUTY_COMPONENT, amount))
    for component, num, den in rated.unit_levies:
        amount = _round(num * after, den) - _round(num * mtd_wh_before, den)
        if amount:
            items.append(tariff.ChargeItem(component, amount))
    applied = (0, 0)
    if rated.tod is not None and load_w > rated.tod.above_load_w:
        if tod_wh is None:
            items.append(tariff.ChargeItem(tod.NO_PROFILE_COMPONENT, 0))
        else:
            applied = _tod_items(rated.tod, items, wh=wh, tod_wh=tod_wh, before=mtd_tod_wh_before)
    if groups is None:
        items.extend(rated.monthly)
    elif now == was:
        items.extend(groups.monthly[now])
    else:
        items.extend(groups.monthly[now])
        old, new = groups.before[was], groups.before[now]
        for component in dict.fromkeys([*new, *old]):
            repriced = new.get(component, 0) - old.get(component, 0)
            if repriced:
                items.append(tariff.ChargeItem(f"{component}:repricing", repriced))
    if rated.merge:
        items = _merged(items)
    return DayCharge(day, wh, tuple(items), applied)


def _tod_items(
    rates: _TodRates,
    items: list[tariff.ChargeItem],
    *,
    wh: int,
    tod_wh: tuple[int, int],
    before: tuple[int, int],
) -> tuple[int, int]:
    peak, off = tod_wh
    if peak < 0 or off < 0 or peak + off > wh or min(before) < 0:
        raise ValueError("ToD energy is between 0 and the day's energy")
    for component, (num, den), done, more, sign in (
        (tod.PEAK_COMPONENT, rates.peak, before[0], peak, 1),
        (tod.OFF_PEAK_COMPONENT, rates.off_peak, before[1], off, -1),
    ):
        amount = _round(num * (done + more), den) - _round(num * done, den)
        if amount:
            items.append(tariff.ChargeItem(component, sign * amount))
    return peak, off


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
    book: tariff.TariffBook,
    *,
    category: str,
    load_w: int,
    days: Sequence[tuple[dt.date, int]],
    tod_wh: tuple[int, int] = (0, 0),
) -> int:
    """The bill of one calendar month computed from its totals, in paise (minimum charge excluded).

    `days` are the days billed (date, Wh), all in one calendar month, under one tariff version and
    one set of levies; otherwise ValueError. `tod_wh` is the month's (peak, off-peak) Wh the ToD
    charges apply to. The month's units pick its usage group. Equal to the sum of `rate_day` over
    the same days when they run from the first day billed to the month's end.
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
    group = cat.groups.index(cat.group_for(units))
    total = _round_fraction(Fraction(cat.energy_charge(units)))
    total += _round_fraction(Fraction(cat.duty_per_unit_paise * units))
    for levy in book.levies_on(category=category, on=dates[0]):
        total += _round_fraction(Fraction(levy.per_unit_paise * units))
    if cat.tod is not None and cat.tod.applies(load_w=load_w):
        peak, off = (Fraction(wh, WH_PER_KWH) for wh in tod_wh)
        total += _round_fraction(Fraction(cat.tod.peak_per_unit_paise) * peak)
        total -= _round_fraction(Fraction(cat.tod.off_peak_rebate_per_unit_paise) * off)
    n = calendar.monthrange(*month)[1]
    sums: dict[str, Fraction] = {}
    for d in dates:
        for component, exact in _monthly_exact(book, category, load_w, d, group):
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
    prefix: str = "energy"

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
    groups: _Groups | None = None  # a category with usage groups (energy and monthly come from here)
    tod: _TodRates | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class _Groups:
    """A day of a category with usage groups: per group, its slabs and its share of the month."""

    bounds: tuple[int, ...]  # upper bound, in Wh of the month, of every group but the open last
    energy: tuple[_EnergyTable, ...]
    monthly: tuple[tuple[tariff.ChargeItem, ...], ...]  # this day's share of the monthly charges
    before: tuple[dict[str, int], ...]  # the month's shares of the days before this one, by component


@dataclasses.dataclass(frozen=True, slots=True)
class _TodRates:
    peak: tuple[int, int]  # paise per Wh as (numerator, denominator)
    off_peak: tuple[int, int]  # the rebate, positive
    above_load_w: int


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


def _charge(table: _EnergyTable, wh: int) -> int:
    """The month's energy charge at `wh`, rounded to the paisa."""
    a = wh * table.scale
    slab = bisect.bisect_right(table.uppers, a)
    charge = table.base[slab] + (a - table.lowers[slab]) * table.rates[slab]
    return (2 * charge + table.den) // (2 * table.den)


def _merged(items: list[tariff.ChargeItem]) -> list[tariff.ChargeItem]:
    sums: dict[str, int] = {}
    for item in items:
        sums[item.component] = sums.get(item.component, 0) + item.amount_paise
    return [tariff.ChargeItem(c, amount) for c, amount in sums.items() if amount]


def _month_plan(book: tariff.TariffBook, category: str, load_w: int, month_first_day: dt.date) -> _MonthPlan:
    """Everything about a month that does not depend on the energy: tariffs per day, monthly shares
    (per usage group, for a category that has groups)."""
    if load_w < 0:
        raise ValueError("sanctioned load cannot be negative")
    n = calendar.monthrange(month_first_day.year, month_first_day.month)[1]
    dates = [month_first_day.replace(day=d) for d in range(month_first_day.day, n + 1)]
    cats = [_category_or_none(book, category, d) for d in dates]
    group_count = max((len(c.groups) for c in cats if c is not None), default=1)
    shares = [
        _shares(
            [
                None if c is None else _monthly_exact(book, category, load_w, d, g)
                for c, d in zip(cats, dates, strict=True)
            ],
            n,
        )
        for g in range(group_count)
    ]

    days: list[_RatedDay | None] = []
    for index, (d, cat) in enumerate(zip(dates, cats, strict=True)):
        if cat is None:
            days.append(None)
            continue
        levies = book.levies_on(category=category, on=d)
        duty = _per_wh(cat.duty_per_unit_paise)
        unit_levies = tuple(
            (f"levy:{levy.name}", *_per_wh(levy.per_unit_paise)) for levy in levies if levy.per_unit_paise
        )
        monthly_by_group = tuple(_items(per_group[index]) for per_group in shares)
        monthly = monthly_by_group[0]
        names = [
            *(() if not cat.duty_per_unit_paise else (DUTY_COMPONENT,)),
            *(c for c, _, _ in unit_levies),
            *(i.component for i in monthly),
        ]
        groups = None
        if len(cat.groups) > 1:
            groups = _Groups(
                bounds=tuple(int(g.upto_units * WH_PER_KWH) for g in cat.groups if g.upto_units is not None),
                energy=tuple(_energy_table(g.slabs, f"energy:{g.name}") for g in cat.groups),
                monthly=monthly_by_group[: len(cat.groups)],
                before=tuple(_sums(per_group[:index]) for per_group in shares[: len(cat.groups)]),
            )
        rates = None
        if cat.tod is not None:
            rates = _TodRates(
                _per_wh(cat.tod.peak_per_unit_paise),
                _per_wh(cat.tod.off_peak_rebate_per_unit_paise),
                cat.tod.above_load_w,
            )
        days.append(
            _RatedDay(
                energy=_energy_table(cat.slabs),
                duty=duty if cat.duty_per_unit_paise else None,
                unit_levies=unit_levies,
                monthly=monthly,
                merge=len(set(names)) != len(names),
                groups=groups,
                tod=rates,
            )
        )
    return _MonthPlan(month_first_day.toordinal(), tuple(days))


def _shares(exact: list[list[tuple[str, Fraction]] | None], n: int) -> list[dict[str, int]]:
    """Each day's share of the monthly charges: floor(monthly/n) each day; the last day takes
    round(Σ monthly/n) − Σ of the floors before it, so the days billed add up to the month."""
    components = list(dict.fromkeys(c for day in exact if day is not None for c, _ in day))
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
    return shares


def _items(share: dict[str, int]) -> tuple[tariff.ChargeItem, ...]:
    return tuple(tariff.ChargeItem(c, share[c]) for c in _order(share) if share[c])


def _sums(shares: list[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for share in shares:
        for component, amount in share.items():
            out[component] = out.get(component, 0) + amount
    return out


def _order(share: dict[str, int]) -> list[str]:
    """Load charges in their fixed order, then per-month levies in the book's order."""
    fixed = [c for c in MONTHLY_COMPONENTS if c in share]
    return fixed + [c for c in share if c not in MONTHLY_COMPONENTS]


def _category_or_none(book: tariff.TariffBook, category: str, on: dt.date) -> tariff.CategoryTariff | None:
    try:
        return book.category(category, on=on)
    except (tariff.NoTariffInForce, tariff.UnknownCategory):
        return None


def _monthly_exact(
    book: tariff.TariffBook, category: str, load_w: int, on: dt.date, group: int = 0
) -> list[tuple[str, Fraction]]:
    """The exact monthly amounts (paise) under the tariff and levies in force on `on`, by component,
    for the month in usage group `group` (the category's last group if it has fewer)."""
    cat = book.category(category, on=on)
    rates = cat.groups[min(group, len(cat.groups) - 1)]
    load_kw = Fraction(load_w, WH_PER_KWH)
    out = [
        ("fixed_charge", Fraction(rates.fixed_per_kw_month_paise) * load_kw),
        ("demand_charge", Fraction(rates.demand_per_kw_month_paise) * load_kw),
        ("customer_charge", Fraction(rates.customer_charge_month_paise)),
    ]
    out += [
        (f"levy:{levy.name}", Fraction(levy.per_month_paise))
        for levy in book.levies_on(category=category, on=on)
        if levy.per_month_paise
    ]
    return [(c, amount) for c, amount in out if amount]


@functools.lru_cache(maxsize=1024)
def _energy_table(slabs: tuple[tariff.Slab, ...], prefix: str = "energy") -> _EnergyTable:
    """Slab items are named `<prefix>:<from>-<to>`; a group with one slab is named by its prefix."""
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
    names = tuple(f"{prefix}:{r}" for r in [*ranges, f"{_units(bounds[-1])}+"])
    if len(slabs) == 1 and prefix != "energy":
        names = (prefix,)
    return _EnergyTable(scale, den, uppers, lowers, int_rates, tuple(base), names, prefix)


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
