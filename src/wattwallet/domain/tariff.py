"""Tariffs as versioned data: categories with telescopic energy slabs, monthly charges and levies.

Rates are Decimal paise (₹1.90/unit is 190 paise/unit; duty 6 paise/unit) so that fractional
rates stay exact until a charge is rounded to the paisa. Periods are [valid_from, valid_to).
The rating engine (daily deduction) builds on `CategoryTariff.energy_charge` and `Levy`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from wattwallet.domain import errors, money


class UnknownCategory(errors.InvalidInput):
    code = "unknown_category"


class NoTariffInForce(errors.RuleViolation):
    code = "no_tariff_in_force"


class TariffDataInvalid(errors.InvalidInput):
    code = "tariff_data_invalid"


@dataclasses.dataclass(frozen=True)
class Slab:
    """Units above the previous slab's `upto` and up to this `upto` (None: no upper end)."""

    upto_units: Decimal | None
    rate_paise: Decimal


@dataclasses.dataclass(frozen=True)
class ChargeItem:
    component: str
    amount_paise: int


@dataclasses.dataclass(frozen=True)
class CategoryTariff:
    key: str
    name: str
    slabs: tuple[Slab, ...]
    fixed_per_kw_month_paise: Decimal
    demand_per_kw_month_paise: Decimal
    customer_charge_month_paise: Decimal
    minimum_charge_month_paise: Decimal
    duty_per_unit_paise: Decimal

    def energy_charge(self, units: Decimal) -> Decimal:
        """Telescopic charge, in fractional paise, for `units` consumed in a month so far."""
        if units < 0:
            raise ValueError("units cannot be negative")
        charge = Decimal(0)
        lower = Decimal(0)
        for slab in self.slabs:
            upper = slab.upto_units
            if upper is None or units <= upper:
                return charge + (units - lower) * slab.rate_paise
            charge += (upper - lower) * slab.rate_paise
            lower = upper
        raise AssertionError("the last slab is open-ended")  # guaranteed by the loader

    def monthly_load_charges(self, load_kw: Decimal) -> list[ChargeItem]:
        """Fixed, demand, customer and minimum charges for one month, itemised."""
        candidates = [
            ("minimum_charge", self.minimum_charge_month_paise),
            ("fixed_charge", self.fixed_per_kw_month_paise * load_kw),
            ("demand_charge", self.demand_per_kw_month_paise * load_kw),
            ("customer_charge", self.customer_charge_month_paise),
        ]
        return [ChargeItem(name, money.round_paise(v)) for name, v in candidates if v]


@dataclasses.dataclass(frozen=True)
class Levy:
    """A surcharge (or, when negative, a refund) such as FPPCA or a true-up, with its window."""

    name: str
    kind: str  # fppca | true_up | other
    valid_from: dt.date
    valid_to: dt.date | None
    per_unit_paise: Decimal = Decimal(0)
    per_month_paise: Decimal = Decimal(0)
    categories: frozenset[str] | None = None  # None: every category

    def applies(self, *, category: str, on: dt.date) -> bool:
        in_window = self.valid_from <= on and (self.valid_to is None or on < self.valid_to)
        return in_window and (self.categories is None or category in self.categories)


@dataclasses.dataclass(frozen=True)
class TariffVersion:
    valid_from: dt.date
    valid_to: dt.date | None
    categories: Mapping[str, CategoryTariff]


@dataclasses.dataclass(frozen=True)
class MandatoryCharges:
    """One month of the charges a prepaid connection owes whatever it consumes (§2 first recharge)."""

    items: tuple[ChargeItem, ...]

    @property
    def total_paise(self) -> int:
        return sum(item.amount_paise for item in self.items)


@dataclasses.dataclass(frozen=True)
class TariffBook:
    versions: tuple[TariffVersion, ...]
    levies: tuple[Levy, ...]

    def category_keys(self) -> set[str]:
        return {key for version in self.versions for key in version.categories}

    def category(self, key: str, *, on: dt.date) -> CategoryTariff:
        version = self.version_on(on)
        try:
            return version.categories[key]
        except KeyError:
            known = ", ".join(sorted(version.categories))
            raise UnknownCategory(
                f"unknown tariff category {key!r} on {on}; known: {known}", category=key
            ) from None

    def version_on(self, on: dt.date) -> TariffVersion:
        for version in self.versions:
            if version.valid_from <= on and (version.valid_to is None or on < version.valid_to):
                return version
        raise NoTariffInForce(f"no tariff is in force on {on}", date=on.isoformat())

    def levies_on(self, *, category: str, on: dt.date) -> list[Levy]:
        return [levy for levy in self.levies if levy.applies(category=category, on=on)]

    def mandatory_charges(self, *, category: str, load_kw: Decimal, on: dt.date) -> MandatoryCharges:
        tariff = self.category(category, on=on)
        items = tariff.monthly_load_charges(load_kw)
        items += [
            ChargeItem(f"levy:{levy.name}", money.round_paise(levy.per_month_paise))
            for levy in self.levies_on(category=category, on=on)
            if levy.per_month_paise
        ]
        return MandatoryCharges(tuple(items))

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> TariffBook:
        """Build from the parsed tariff file (see tariffs/ap.yaml); refuses inconsistent data."""
        try:
            raw_versions = sorted(data["versions"], key=lambda v: _date(v["effective_from"]))
            starts = [_date(v["effective_from"]) for v in raw_versions]
            ends: list[dt.date | None] = [*starts[1:], None]
            versions = tuple(
                TariffVersion(start, end, _categories(raw["categories"]))
                for raw, start, end in zip(raw_versions, starts, ends, strict=True)
            )
            levies = tuple(_levy(raw) for raw in data.get("levies") or [])
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise TariffDataInvalid(f"tariff data is invalid: {exc!r}") from None
        if not versions:
            raise TariffDataInvalid("tariff data has no versions")
        if len(set(starts)) != len(starts):
            raise TariffDataInvalid("two tariff versions start on the same day")
        return cls(versions, levies)


def _date(value: object) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _paise(value: object) -> Decimal:
    """Rates are written in rupees in the data file ("1.90") and kept as Decimal paise."""
    return Decimal(str(value)) * 100


def _categories(raw: Mapping[str, Any]) -> dict[str, CategoryTariff]:
    return {key: _category(key, spec) for key, spec in raw.items()}


def _category(key: str, spec: Mapping[str, Any]) -> CategoryTariff:
    slabs = tuple(_slabs(spec["energy_slabs"]))
    return CategoryTariff(
        key=key,
        name=str(spec["name"]),
        slabs=slabs,
        fixed_per_kw_month_paise=_paise(spec.get("fixed_charge_per_kw_month", 0)),
        demand_per_kw_month_paise=_paise(spec.get("demand_charge_per_kw_month", 0)),
        customer_charge_month_paise=_paise(spec.get("customer_charge_per_month", 0)),
        minimum_charge_month_paise=_paise(spec.get("minimum_charge_per_month", 0)),
        duty_per_unit_paise=_paise(spec.get("electricity_duty_per_unit", 0)),
    )


def _slabs(raw: Iterable[Mapping[str, Any]]) -> Iterable[Slab]:
    previous = Decimal(0)
    slabs = list(raw)
    for index, spec in enumerate(slabs):
        upto = spec.get("upto")
        last = index == len(slabs) - 1
        if (upto is None) != last:
            raise ValueError("only the last energy slab is open-ended, and it must be")
        if upto is not None:
            upper = Decimal(str(upto))
            if upper <= previous:
                raise ValueError("energy slabs must rise")
            previous = upper
        rate = _paise(spec["rate"])
        if rate < 0:
            raise ValueError("an energy rate cannot be negative")
        yield Slab(None if upto is None else Decimal(str(upto)), rate)


_LEVY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,47}$")


def _levy(raw: Mapping[str, Any]) -> Levy:
    categories = raw.get("categories")
    if not _LEVY_NAME.match(str(raw["name"])):
        # Levy names become account codes and charge components shown to consumers: keep them plain.
        raise ValueError(f"levy name {raw['name']!r} must be 1-48 letters, digits or . _ + -")
    valid_to = raw.get("valid_to")
    return Levy(
        name=str(raw["name"]),
        kind=str(raw.get("kind", "other")),
        valid_from=_date(raw["valid_from"]),
        valid_to=None if valid_to is None else _date(valid_to),
        per_unit_paise=_paise(raw.get("per_unit", 0)),
        per_month_paise=_paise(raw.get("per_month", 0)),
        categories=None if categories is None else frozenset(str(c) for c in categories),
    )
