"""Virtual smart meters: a cumulative import register, a relay, and a day's reading as the HES
sends it (docs/hes-mqtt.md §3.4: the register at midnight IST and the 48 half-hours before it).

The register only ever moves forward, by exactly the sum of the day's half-hours, so WattWallet's
billing from registers and the load profile agree to the watt-hour.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from wattwallet.domain import clock
from wattwallet.simulation import consumption

OPEN, CLOSED = "open", "closed"


@dataclasses.dataclass(frozen=True)
class DayReading:
    meter_serial: str
    day: dt.date  # the day the profile covers
    read_at: dt.datetime  # the midnight (IST) that ends it
    register_wh: int
    profile_wh: tuple[int, ...]

    def msg_id(self, *, prefix: str = "SIM") -> str:
        """Unique for ever per meter and day (the protocol's duplicate check)."""
        return f"{prefix}-{self.meter_serial}-{self.day:%Y%m%d}"

    def payload(self, *, prefix: str = "SIM") -> dict[str, Any]:
        """The reading message's JSON body."""
        return {
            "msg_id": self.msg_id(prefix=prefix),
            "meter": self.meter_serial,
            "read_at": self.read_at.astimezone(clock.IST).isoformat(),
            "register_wh": self.register_wh,
            "profile_wh": list(self.profile_wh),
        }


@dataclasses.dataclass
class VirtualMeter:
    serial: str
    profile: consumption.Profile
    register_wh: int = 0
    relay: str = CLOSED

    def read_day(self, day: dt.date, *, seed: int, supplied: Sequence[bool] | None = None) -> DayReading:
        """Consume `day` (nothing while the relay is open, unless `supplied` says slot by slot)
        and read the register at the midnight that ends it."""
        if supplied is None:
            supplied = (self.relay == CLOSED,) * consumption.SLOTS
        rng = consumption.rng_for(seed=seed, key=self.serial, day=day)
        profile = consumption.half_hours(self.profile, day, rng=rng, supplied=supplied)
        self.register_wh += sum(profile)
        read_at = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=clock.IST)
        return DayReading(self.serial, day, read_at, self.register_wh, profile)


def supply_mask(
    day: dt.date, *, closed_at_start: bool, changes: Sequence[tuple[dt.datetime, str]]
) -> tuple[bool, ...]:
    """Which half-hours of `day` had supply, from the relay's position when the day began and its
    changes during it (time, open | closed): a slot counts as supplied if the relay was closed at
    its middle."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=clock.IST)
    ordered = sorted(changes)
    closed, index, mask = closed_at_start, 0, []
    for slot in range(consumption.SLOTS):
        middle = start + dt.timedelta(minutes=30 * slot + 15)
        while index < len(ordered) and ordered[index][0] <= middle:
            closed = ordered[index][1] == CLOSED
            index += 1
        mask.append(closed)
    return tuple(mask)
