"""Time-of-Day charges: a peak-hour surcharge and an off-peak rebate per unit, by half-hour slot.

The head end sends the 48 half-hourly import values (Wh) of the 24 hours before each daily reading
(`meter_load_profiles`). Each slot is classed by the IST minute of the day it starts at: peak if that
minute falls in a peak window, off-peak if in an off-peak window, otherwise normal. Windows are
[start, end) minutes of the day and may run past midnight ("22:00"-"06:00").

The split is bounded by the energy billed for the day: when the profile adds up to more than the
register says (meters round each slot), peak and off-peak shrink in proportion, so the surcharge
or rebate never applies to more energy than the consumer is billed for. A day without a profile is
billed at the normal rate (the rating engine says so in its itemisation).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from decimal import Decimal

SLOT_MINUTES = 30
SLOTS = 48
MINUTES_PER_DAY = 24 * 60
PEAK_COMPONENT = "tod:peak"
OFF_PEAK_COMPONENT = "tod:off_peak"
NO_PROFILE_COMPONENT = "tod:no_load_profile"  # a zero-amount line: this day was billed at the normal rate


class ProfileInvalid(ValueError):
    """A load profile that is not 48 whole, non-negative half-hour values."""


@dataclasses.dataclass(frozen=True)
class Window:
    """[start_minute, end_minute) of the IST day; end < start runs past midnight."""

    start_minute: int
    end_minute: int

    def holds(self, minute: int) -> bool:
        if self.start_minute <= self.end_minute:
            return self.start_minute <= minute < self.end_minute
        return minute >= self.start_minute or minute < self.end_minute


@dataclasses.dataclass(frozen=True)
class TodTariff:
    """Peak surcharge and off-peak rebate, in paise per unit (both written as positive numbers)."""

    peak_per_unit_paise: Decimal
    peak: tuple[Window, ...]
    off_peak_rebate_per_unit_paise: Decimal
    off_peak: tuple[Window, ...]
    above_load_w: int = 0  # applies only to connections whose sanctioned load exceeds this

    def applies(self, *, load_w: int) -> bool:
        return load_w > self.above_load_w

    def split(self, *, slots_wh: Sequence[int], first_slot_minute: int, billed_wh: int) -> tuple[int, int]:
        """(peak Wh, off-peak Wh) of one day's profile, bounded by the Wh billed for the day."""
        if len(slots_wh) != SLOTS or any(v < 0 for v in slots_wh):
            raise ProfileInvalid(f"a load profile has {SLOTS} half-hour values of at least 0 Wh")
        kinds = self._kinds(first_slot_minute % MINUTES_PER_DAY)
        peak = sum(v for v, kind in zip(slots_wh, kinds, strict=True) if kind == 1)
        off = sum(v for v, kind in zip(slots_wh, kinds, strict=True) if kind == -1)
        total = sum(slots_wh)
        if total > billed_wh:
            # Floor both shares: never more than billed, and the same profile always splits the same.
            peak, off = peak * billed_wh // total, off * billed_wh // total
        return peak, off

    @functools.lru_cache(maxsize=64)  # noqa: B019 - a frozen value object; a handful of start minutes
    def _kinds(self, first_slot_minute: int) -> tuple[int, ...]:
        """+1 peak, -1 off-peak, 0 normal, for each slot of a profile starting at that minute."""
        out = []
        for i in range(SLOTS):
            minute = (first_slot_minute + i * SLOT_MINUTES) % MINUTES_PER_DAY
            if any(w.holds(minute) for w in self.peak):
                out.append(1)
            elif any(w.holds(minute) for w in self.off_peak):
                out.append(-1)
            else:
                out.append(0)
        return tuple(out)


def minute_of(text: str) -> int:
    """ "18:00" -> 1080; "24:00" is the end of the day."""
    hours, _, minutes = str(text).partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value <= MINUTES_PER_DAY or int(minutes or 0) % SLOT_MINUTES:
        raise ValueError(f"ToD time {text!r} must be HH:00 or HH:30 between 00:00 and 24:00")
    return value
