"""Tariffs as versioned data: categories with telescopic energy slabs, monthly charges and levies.

Rates are Decimal paise (₹1.90/unit is 190 paise/unit; duty 6 paise/unit) so that fractional
rates stay exact until a charge is rounded to the paisa. Periods are [valid_from, valid_to).
The rating engine (daily deduction) builds on `CategoryTariff.energy_charge` and `Levy`.

A category may have usage **groups** chosen by the month's units (LT-II minor, at most 50 units a
month, and major): each group has its own slabs and per-kW charges; the first group is the one a
month with no units yet is in. A category may have **Time-of-Day** charges (`domain/tod.py`).
Every figure may name its **source** (the order or report it comes from) and say that it is
**unconfirmed** and what is missing; a book that declares `sourced: true` must do so for every
figure, or it does not load.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from wattwallet.domain import errors, money, tod


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
class Source:
    """Where a figure comes from; `unconfirmed` figures say what is missing to confirm them."""

    source: str
    unconfirmed: bool = False
    missing: str = ""


@dataclasses.dataclass(frozen=True)
class UsageGroup:
    """A group of a category chosen by the month's units: up to `upto_units` (None: no upper end)."""

    name: str
    upto_units: Decimal | None
    slabs: tuple[Slab, ...]
    fixed_per_kw_month_paise: Decimal
    demand_per_kw_month_paise: Decimal
    customer_charge_month_paise: Decimal


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
    # One group for most categories (its fields are the ones above); LT-II: minor, then major.
    groups: tuple[UsageGroup, ...] = ()
    tod: tod.TodTariff | None = None
    sources: Mapping[str, Source] = dataclasses.field(default_factory=dict)

    def group_for(self, units: Decimal) -> UsageGroup:
        """The group a month with `units` so far is in (the first whose upper bound holds them)."""
        for group in self.groups:
            if group.upto_units is None or units <= group.upto_units:
                return group
        raise AssertionError("the last group is open-ended")  # guaranteed by the loader

    def energy_charge(self, units: Decimal) -> Decimal:
        """Telescopic charge, in fractional paise, for `units` consumed in a month so far, in the
        slabs of the group those units put the month in."""
        if units < 0:
            raise ValueError("units cannot be negative")
        charge = Decimal(0)
        lower = Decimal(0)
        for slab in self.group_for(units).slabs:
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
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)  # language -> name shown
    source: Source | None = None

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
    name: str = ""
    source: str = ""

    def has_tod(self) -> frozenset[str]:
        """The categories with Time-of-Day charges in any version (they need load profiles)."""
        return frozenset(k for v in self.versions for k, c in v.categories.items() if c.tod is not None)

    def label(self, component: str, *, language: str) -> str:
        """What a charge component is called in `language` (en, te) in an itemisation."""
        if component.startswith("levy:"):
            name = component.removeprefix("levy:")
            for levy in self.levies:
                if levy.name == name:
                    return levy.labels.get(language) or levy.labels.get("en") or name
            return name
        return component_label(component, language=language)

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
        """Build from the parsed tariff file (see tariffs/*.yaml); refuses inconsistent data."""
        sourced = bool(data.get("sourced", False))
        try:
            raw_versions = sorted(data["versions"], key=lambda v: _date(v["effective_from"]))
            starts = [_date(v["effective_from"]) for v in raw_versions]
            ends: list[dt.date | None] = [*starts[1:], None]
            versions = tuple(
                TariffVersion(start, end, _categories(raw["categories"], sourced=sourced))
                for raw, start, end in zip(raw_versions, starts, ends, strict=True)
            )
            levies = tuple(_levy(raw, sourced=sourced) for raw in data.get("levies") or [])
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise TariffDataInvalid(f"tariff data is invalid: {exc!r}") from None
        if not versions:
            raise TariffDataInvalid("tariff data has no versions")
        if len(set(starts)) != len(starts):
            raise TariffDataInvalid("two tariff versions start on the same day")
        if len({levy.name for levy in levies}) != len(levies):
            raise TariffDataInvalid("two levies have the same name")
        return cls(versions, levies, name=str(data.get("name", "")), source=str(data.get("source", "")))


# Names of the fixed components in an itemisation; levies carry their own (`Levy.labels`).
_LABELS: dict[str, dict[str, str]] = {
    "energy": {"en": "Energy charges", "te": "ఇంధన ఛార్జీలు"},
    "electricity_duty": {"en": "Electricity duty", "te": "విద్యుత్ సుంకం"},
    "fixed_charge": {"en": "Fixed charges", "te": "స్థిర ఛార్జీలు"},
    "demand_charge": {"en": "Demand charges", "te": "డిమాండ్ ఛార్జీలు"},
    "customer_charge": {"en": "Customer charges", "te": "వినియోగదారు ఛార్జీలు"},
    "repricing": {"en": "repricing of earlier units", "te": "ముందటి యూనిట్ల పునః ధర"},
    tod.PEAK_COMPONENT: {"en": "Peak-hour (ToD) surcharge", "te": "పీక్ అవర్ (ToD) సర్‌ఛార్జీ"},
    tod.OFF_PEAK_COMPONENT: {"en": "Off-peak (ToD) rebate", "te": "ఆఫ్-పీక్ (ToD) రాయితీ"},
    tod.NO_PROFILE_COMPONENT: {
        "en": "No load profile: billed at the normal rate",
        "te": "లోడ్ ప్రొఫైల్ లేదు: సాధారణ రేటుతో బిల్లు",
    },
}


def component_label(component: str, *, language: str) -> str:
    """ "energy:major:50-100" -> "Energy charges (major, 50-100)"; unknown names are shown as they are."""
    head, _, rest = component.partition(":")
    if component in _LABELS:
        names = _LABELS[component]
        return names.get(language) or names["en"]
    if head not in _LABELS:
        return component
    names = _LABELS[head]
    base = names.get(language) or names["en"]
    parts = rest.split(":")
    if parts and parts[-1] == "repricing":
        again = _LABELS["repricing"]
        parts[-1] = again.get(language) or again["en"]
    return f"{base} ({', '.join(parts)})" if rest else base


def _date(value: object) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _paise(value: object) -> Decimal:
    """Rates are written in rupees in the data file ("1.90") and kept as Decimal paise."""
    return Decimal(str(value)) * 100


def _categories(raw: Mapping[str, Any], *, sourced: bool) -> dict[str, CategoryTariff]:
    return {key: _category(key, spec, sourced=sourced) for key, spec in raw.items()}


# The figures of a category that must name a source in a `sourced` book, when they are present.
_FIGURES = (
    "energy_slabs",
    "groups",
    "fixed_charge_per_kw_month",
    "demand_charge_per_kw_month",
    "customer_charge_per_month",
    "minimum_charge_per_month",
    "electricity_duty_per_unit",
    "tod",
)
_GROUP_NAME = re.compile(r"^[a-z][a-z0-9_]{0,15}$")


def _category(key: str, spec: Mapping[str, Any], *, sourced: bool) -> CategoryTariff:
    if ("groups" in spec) == ("energy_slabs" in spec):
        raise ValueError(f"category {key}: give either energy_slabs or groups")
    groups = tuple(_groups(spec)) if "groups" in spec else (_group("", None, spec, defaults={}),)
    first = groups[0]
    sources = {name: _source(raw, f"{key}.{name}") for name, raw in (spec.get("sources") or {}).items()}
    unknown = set(sources) - set(_FIGURES)
    if unknown:
        raise ValueError(f"category {key}: sources for unknown figures {sorted(unknown)}")
    if sourced:
        missing = [name for name in _FIGURES if name in spec and name not in sources]
        if missing:
            raise ValueError(f"category {key}: no source for {', '.join(missing)}")
    return CategoryTariff(
        key=key,
        name=str(spec["name"]),
        slabs=first.slabs,
        fixed_per_kw_month_paise=first.fixed_per_kw_month_paise,
        demand_per_kw_month_paise=first.demand_per_kw_month_paise,
        customer_charge_month_paise=first.customer_charge_month_paise,
        minimum_charge_month_paise=_paise(spec.get("minimum_charge_per_month", 0)),
        duty_per_unit_paise=_paise(spec.get("electricity_duty_per_unit", 0)),
        groups=groups,
        tod=None if spec.get("tod") is None else _tod(spec["tod"]),
        sources=sources,
    )


def _groups(spec: Mapping[str, Any]) -> Iterable[UsageGroup]:
    raw = list(spec["groups"])
    if len(raw) < 2:
        raise ValueError("a category with groups has at least two")
    previous = Decimal(0)
    for index, group in enumerate(raw):
        name = str(group["name"])
        if not _GROUP_NAME.match(name):
            raise ValueError(f"group name {name!r} must be 1-16 lower-case letters, digits or _")
        upto = group.get("upto_units")
        if (upto is None) != (index == len(raw) - 1):
            raise ValueError("only the last group is open-ended, and it must be")
        bound = None if upto is None else Decimal(str(upto))
        if bound is not None:
            if bound <= previous or (bound * 1000) % 1:
                raise ValueError("group bounds must rise and be whole watt-hours")
            previous = bound
        yield _group(name, bound, group, defaults=spec)


def _group(
    name: str, upto: Decimal | None, spec: Mapping[str, Any], *, defaults: Mapping[str, Any]
) -> UsageGroup:
    def figure(field: str) -> Decimal:
        return _paise(spec.get(field, defaults.get(field, 0)))

    return UsageGroup(
        name=name,
        upto_units=upto,
        slabs=tuple(_slabs(spec["energy_slabs"])),
        fixed_per_kw_month_paise=figure("fixed_charge_per_kw_month"),
        demand_per_kw_month_paise=figure("demand_charge_per_kw_month"),
        customer_charge_month_paise=figure("customer_charge_per_month"),
    )


def _tod(spec: Mapping[str, Any]) -> tod.TodTariff:
    def windows(raw: object) -> tuple[tod.Window, ...]:
        out = []
        for pair in raw or []:  # type: ignore[attr-defined]
            start, end = (tod.minute_of(t) for t in pair)
            if start == end:
                raise ValueError("a ToD window cannot be empty")
            out.append(tod.Window(start % tod.MINUTES_PER_DAY, end))
        return tuple(out)

    peak = spec.get("peak") or {}
    off = spec.get("off_peak") or {}
    surcharge, rebate = _paise(peak.get("surcharge", 0)), _paise(off.get("rebate", 0))
    if surcharge < 0 or rebate < 0:
        raise ValueError("ToD surcharge and rebate are written as positive amounts")
    return tod.TodTariff(
        peak_per_unit_paise=surcharge,
        peak=windows(peak.get("hours")),
        off_peak_rebate_per_unit_paise=rebate,
        off_peak=windows(off.get("hours")),
        above_load_w=int(Decimal(str(spec.get("above_load_kw", 0))) * 1000),
    )


def _source(raw: object, where: str) -> Source:
    if isinstance(raw, str):
        raw = {"source": raw}
    if not isinstance(raw, Mapping) or not str(raw.get("source", "")).strip():
        raise ValueError(f"{where}: a source names the order or report the figure comes from")
    unconfirmed = bool(raw.get("unconfirmed", False))
    missing = str(raw.get("missing", "")).strip()
    if unconfirmed and not missing:
        raise ValueError(f"{where}: an unconfirmed figure says what is missing (`missing:`)")
    return Source(str(raw["source"]), unconfirmed, missing)


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


def _levy(raw: Mapping[str, Any], *, sourced: bool) -> Levy:
    categories = raw.get("categories")
    source = None if raw.get("source") is None else _source(raw, f"levy {raw['name']}")
    if sourced and source is None:
        raise ValueError(f"levy {raw['name']}: no source")
    labels = {str(k): str(v) for k, v in (raw.get("label") or {}).items()}
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
        labels=labels,
        source=source,
    )
