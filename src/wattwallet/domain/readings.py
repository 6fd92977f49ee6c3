"""Meter-reading rules: what a reading must look like, and the verdict on one against what the
meter already reported. One verdict for every path a reading takes (the CLI and scenario replay
through `lifecycle.readings`, the HES's MQTT messages through `lifecycle.ingest`).

A duplicate changes nothing; a register that runs backwards is refused and flagged for staff as a
meter anomaly (never negative consumption); a reading from the future (beyond the meter clock's
drift) or from before the meter was installed is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from decimal import Decimal, InvalidOperation

from wattwallet.domain import errors

MAX_REGISTER_WH = 10**15
FUTURE_TOLERANCE = dt.timedelta(minutes=5)  # meter clocks drift; beyond this a time is wrong


class ReadingInvalid(errors.InvalidInput):
    code = "reading_invalid"


class Status(enum.StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REFUSED = "refused"


class Refusal(enum.StrEnum):
    UNKNOWN_METER = "unknown_meter"
    IN_FUTURE = "reading_in_future"
    BEFORE_INSTALLATION = "reading_before_installation"
    CONFLICT = "reading_conflict"
    BACKWARDS = "register_backwards"


@dataclasses.dataclass(frozen=True)
class Reading:
    meter_serial: str
    read_at: dt.datetime
    register_wh: int


@dataclasses.dataclass(frozen=True)
class Meter:
    """What the store knows of the reading's meter: its connection, when it was installed, the
    register already stored at this very instant (if any), and the registers of the nearest
    readings before and after it (the one before is the last reading for a newest reading)."""

    service_no: str
    installed_at: dt.datetime
    same_wh: int | None
    before_wh: int | None
    after_wh: int | None = None


@dataclasses.dataclass(frozen=True)
class Verdict:
    status: Status
    refusal: Refusal | None = None
    message: str = ""

    @property
    def flag_for_staff(self) -> bool:
        """A backwards register is a meter anomaly staff must look at."""
        return self.refusal is Refusal.BACKWARDS


STORED = Verdict(Status.STORED)
DUPLICATE = Verdict(Status.DUPLICATE)


def _refused(refusal: Refusal, message: str) -> Verdict:
    return Verdict(Status.REFUSED, refusal, message)


def parse(*, meter_serial: object, read_at: object, kwh: object) -> Reading:
    """Check one reading's shape: a meter serial, an aware timestamp, a kWh register ≥ 0."""
    if not isinstance(meter_serial, str) or not meter_serial.strip() or len(meter_serial) > 32:
        raise ReadingInvalid(f"a reading needs the meter serial, got {meter_serial!r}")
    when = read_at
    if isinstance(read_at, str):
        try:
            when = dt.datetime.fromisoformat(read_at)
        except ValueError:
            raise ReadingInvalid(f"reading time {read_at!r} is not an ISO 8601 instant") from None
    if not isinstance(when, dt.datetime) or when.tzinfo is None:
        raise ReadingInvalid(f"reading time must be an instant with its UTC offset, got {read_at!r}")
    try:
        value = Decimal(str(kwh)) if not isinstance(kwh, bool) else Decimal("NaN")
    except InvalidOperation:
        raise ReadingInvalid(f"register must be a number of kWh, got {kwh!r}") from None
    if not value.is_finite() or value < 0 or value * 1000 != int(value * 1000):
        raise ReadingInvalid(f"register must be kWh ≥ 0 to the watt-hour (3 decimals), got {kwh!r}")
    wh = int(value * 1000)
    if wh > MAX_REGISTER_WH:
        raise ReadingInvalid(f"register {kwh} kWh is beyond any meter")
    return Reading(meter_serial.strip(), when, wh)


def verdict(*, reading: Reading, meter: Meter | None, now: dt.datetime) -> Verdict:
    """Store, ignore as a duplicate, or refuse (with the reason and a message for staff)."""
    if meter is None:
        return _refused(Refusal.UNKNOWN_METER, f"no meter {reading.meter_serial}")
    if reading.read_at > now + FUTURE_TOLERANCE:
        return _refused(Refusal.IN_FUTURE, "reading time is in the future")
    if reading.read_at <= meter.installed_at:
        return _refused(
            Refusal.BEFORE_INSTALLATION,
            "the reading is older than the meter's installation on this connection",
        )
    if meter.same_wh is not None:
        if meter.same_wh == reading.register_wh:
            return DUPLICATE
        return _refused(
            Refusal.CONFLICT,
            f"meter {reading.meter_serial} already reported {meter.same_wh / 1000} kWh at that time",
        )
    if (meter.before_wh is not None and reading.register_wh < meter.before_wh) or (
        meter.after_wh is not None and reading.register_wh > meter.after_wh
    ):
        return _refused(
            Refusal.BACKWARDS,
            "the register runs backwards against the meter's other readings: flagged for staff",
        )
    return STORED
