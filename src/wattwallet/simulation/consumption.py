"""How much a home or a shop in Andhra Pradesh draws, half-hour by half-hour.

A believable load shape makes the demo's alerts and disconnections come at believable times, and
gives the HES protocol's 48-value load profile real content. The model is small on purpose:

- a base load (fans, lights, fridge, pump, TV; a shop's lights and counters) shaped by the time of
  day: a home peaks in the early morning and the evening, a shop from opening to closing;
- the season: AP's summer (April to June) raises every load and brings the air-conditioners on,
  at night in homes and through opening hours in shops; the cool months (November to February)
  lower it;
- the day of the week: homes use more at weekends, most shops close on Sunday;
- noise: one factor per day (the weather, a guest) and one per half-hour.

Pure and deterministic: the same seed, key and day give the same values. An open relay (a slot
marked not supplied) draws nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Sequence

SLOTS = 48  # half-hours in a day
HOME, SHOP = "home", "shop"

# Relative draw of the base load in each hour of the day (index 0: 00:00-01:00 IST).
_HOME_HOURS = (
    0.55, 0.55, 0.55, 0.55, 0.55, 0.7, 1.3, 1.5, 1.2, 0.9, 0.8, 0.8,
    0.8, 0.8, 0.8, 0.8, 0.9, 1.1, 1.6, 1.9, 1.9, 1.7, 1.2, 0.8,
)  # fmt: skip
_SHOP_HOURS = (
    0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.3, 0.6, 0.9, 1.2, 1.2,
    1.2, 1.2, 1.1, 1.1, 1.1, 1.3, 1.6, 1.6, 1.6, 1.2, 0.4, 0.25,
)  # fmt: skip
_SHOP_SUNDAY_HOURS = (0.25,) * 24  # shutters down: the fridge and a night lamp
# When the air-conditioners run (share of the hour, at full summer heat).
_HOME_AC_HOURS = (
    1.0, 1.0, 1.0, 1.0, 0.9, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.3, 0.5, 0.5, 0.3, 0.0, 0.0, 0.0, 0.2, 0.6, 0.8, 0.9,
)  # fmt: skip
_SHOP_AC_HOURS = (
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.4, 0.8,
    0.9, 1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 0.8, 0.6, 0.2, 0.0, 0.0,
)  # fmt: skip
_NO_AC_HOURS = (0.0,) * 24

# Base load by month (fans and cooling water in summer, less in the cool months).
_SEASON = {1: 0.85, 2: 0.9, 3: 1.0, 4: 1.15, 5: 1.25, 6: 1.15, 7: 1.0, 8: 1.0, 9: 1.0, 10: 0.95, 11: 0.9}
# How hard the air-conditioners work, by month: AP's summer peaks in May.
_AC_SEASON = {3: 0.25, 4: 0.75, 5: 1.0, 6: 0.7, 7: 0.25, 8: 0.2, 9: 0.25, 10: 0.15}
_AC_DUTY = 0.6  # a running AC's compressor is on about this share of the time


@dataclasses.dataclass(frozen=True)
class Profile:
    """What a connection has plugged in: its kind, a typical mild-season weekday's energy (Wh)
    without air-conditioning, its air-conditioners' power (W; 0: none) and its sanctioned load (W),
    which no half-hour exceeds."""

    kind: str  # home | shop
    size: str  # small | medium | large
    daily_wh: int
    ac_w: int
    load_w: int

    def __post_init__(self) -> None:
        if self.kind not in (HOME, SHOP):
            raise ValueError(f"a profile is a {HOME} or a {SHOP}, got {self.kind!r}")
        if self.daily_wh < 0 or self.ac_w < 0 or self.load_w <= 0:
            raise ValueError("a profile's energy and powers are not negative, and its load is positive")


def rng_for(*, seed: int, key: str, day: dt.date) -> random.Random:
    """A generator for one meter's day: the same numbers whatever else the simulation does."""
    return random.Random(f"{seed}/{key}/{day.isoformat()}")


def season_factor(day: dt.date) -> float:
    return _SEASON.get(day.month, 0.85)


def ac_intensity(day: dt.date) -> float:
    return _AC_SEASON.get(day.month, 0.0)


def half_hours(
    profile: Profile, day: dt.date, *, rng: random.Random, supplied: Sequence[bool] | None = None
) -> tuple[int, ...]:
    """The energy (Wh) of each half-hour of `day`, oldest first; zero where `supplied` is False."""
    sunday, saturday = day.weekday() == 6, day.weekday() == 5
    if profile.kind == HOME:
        hours, ac_hours = _HOME_HOURS, _HOME_AC_HOURS
        weekday = 1.15 if sunday else 1.05 if saturday else 1.0
    elif sunday:
        hours, ac_hours, weekday = _SHOP_SUNDAY_HOURS, _NO_AC_HOURS, 1.0
    else:
        hours, ac_hours = _SHOP_HOURS, _SHOP_AC_HOURS
        weekday = 1.05 if saturday else 1.0
    # Shares of a typical weekday's energy: a closed shop draws only its night load.
    total_weight = 2 * sum(_HOME_HOURS if profile.kind == HOME else _SHOP_HOURS)
    day_factor = min(1.3, max(0.75, rng.gauss(1.0, 0.08)))
    base = profile.daily_wh * season_factor(day) * weekday * day_factor / total_weight
    heat = ac_intensity(day) * rng.uniform(0.7, 1.2)
    ac = profile.ac_w * 0.5 * _AC_DUTY * heat  # Wh in a half-hour of full AC use
    cap = profile.load_w // 2  # a half-hour at the sanctioned load
    values = []
    for slot in range(SLOTS):
        hour = slot // 2
        wh = (base * hours[hour] + ac * ac_hours[hour]) * rng.uniform(0.8, 1.2)
        values.append(min(cap, round(wh)))
    if supplied is not None:
        if len(supplied) != SLOTS:
            raise ValueError(f"supplied must have {SLOTS} entries, got {len(supplied)}")
        values = [wh if on else 0 for wh, on in zip(values, supplied, strict=True)]
    return tuple(values)
