"""Meter readings: cumulative registers from the HES, checked before anything is billed from them.

A duplicate changes nothing; a register that runs backwards is refused and flagged for staff as a
meter anomaly (never negative consumption). Each reading keeps its IST date: the billing boundary
(the register at the start of that day).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import clock, errors
from wattwallet.store import schema

MAX_REGISTER_WH = 10**15
FUTURE_TOLERANCE = dt.timedelta(minutes=5)  # meter clocks drift; beyond this a time is wrong


class UnknownMeter(errors.NotFound):
    code = "unknown_meter"


class ReadingInvalid(errors.InvalidInput):
    code = "reading_invalid"


@dataclasses.dataclass(frozen=True)
class Reading:
    meter_serial: str
    read_at: dt.datetime
    register_wh: int


@dataclasses.dataclass(frozen=True)
class Outcome:
    reading: Reading
    service_no: str | None
    status: str  # stored | duplicate | refused
    reason: str | None = (
        None  # for refused: unknown_meter, reading_in_future, reading_conflict, register_backwards
    )
    message: str = ""


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


def record(ctx: Context, readings: Sequence[Reading], *, now: dt.datetime) -> list[Outcome]:
    """Store a batch of readings in one transaction; each gets its own outcome."""
    with ctx.store.write() as conn:
        m = schema.meters
        serials = sorted({r.meter_serial for r in readings})
        owners = {
            serial: service_no
            for serial, service_no in conn.execute(
                sa.select(m.c.serial, m.c.service_no).where(m.c.serial.in_(serials))
            )
        }
        # Touch connections in service-number order (the order every batch locks in): no deadlocks.
        order = sorted(range(len(readings)), key=lambda i: (owners.get(readings[i].meter_serial, ""), i))
        outcomes: dict[int, Outcome] = {i: _record_one(conn, readings[i], now=now) for i in order}
        return [outcomes[i] for i in range(len(readings))]


def _record_one(conn: Connection, reading: Reading, *, now: dt.datetime) -> Outcome:
    m, s, r = schema.meters, schema.prepaid_state, schema.meter_readings
    meter = conn.execute(
        sa.select(
            m.c.service_no,
            m.c.installed_at,
            m.c.commissioned_register_wh,
            s.c.last_read_at,
            s.c.last_register_wh,
        )
        .select_from(m.join(s, s.c.service_no == m.c.service_no))
        .where(m.c.serial == reading.meter_serial)
    ).first()
    if meter is None:
        return Outcome(reading, None, "refused", "unknown_meter", f"no meter {reading.meter_serial}")
    service_no = meter.service_no
    if reading.read_at > now + FUTURE_TOLERANCE:
        return Outcome(reading, service_no, "refused", "reading_in_future", "reading time is in the future")
    if reading.read_at <= meter.installed_at:
        return Outcome(
            reading,
            service_no,
            "refused",
            "reading_before_installation",
            "the reading is older than the meter's installation on this connection",
        )
    same = conn.execute(
        sa.select(r.c.register_wh).where(
            r.c.meter_serial == reading.meter_serial, r.c.read_at == reading.read_at
        )
    ).scalar()
    if same is not None:
        if same == reading.register_wh:
            return Outcome(reading, service_no, "duplicate")
        return Outcome(
            reading,
            service_no,
            "refused",
            "reading_conflict",
            f"meter {reading.meter_serial} already reported {same / 1000} kWh at that time",
        )
    newest = meter.last_read_at is None or reading.read_at > meter.last_read_at
    before = meter.last_register_wh if newest else _register_near(conn, reading, before=True)
    after = None if newest else _register_near(conn, reading, before=False)
    if (before is not None and reading.register_wh < before) or (
        after is not None and reading.register_wh > after
    ):
        _flag_backwards(conn, service_no, reading, before if before is not None else 0, now=now)
        return Outcome(
            reading,
            service_no,
            "refused",
            "register_backwards",
            "the register runs backwards against the meter's other readings: flagged for staff",
        )
    conn.execute(
        sa.insert(r),
        {
            "meter_serial": reading.meter_serial,
            "service_no": service_no,
            "read_at": reading.read_at,
            "read_date": clock.ist_date(reading.read_at),
            "register_wh": reading.register_wh,
            "received_at": now,
        },
    )
    if newest:
        conn.execute(
            sa.update(s)
            .where(s.c.service_no == service_no)
            .values(
                last_read_at=reading.read_at,
                last_read_date=clock.ist_date(reading.read_at),
                last_register_wh=reading.register_wh,
                updated_at=now,
            )
        )
    return Outcome(reading, service_no, "stored")


def _register_near(conn: Connection, reading: Reading, *, before: bool) -> int | None:
    r = schema.meter_readings
    order = r.c.read_at.desc() if before else r.c.read_at.asc()
    condition = r.c.read_at < reading.read_at if before else r.c.read_at > reading.read_at
    value = conn.execute(
        sa.select(r.c.register_wh)
        .where(r.c.meter_serial == reading.meter_serial, condition)
        .order_by(order)
        .limit(1)
    ).scalar()
    return None if value is None else int(value)


def _flag_backwards(
    conn: Connection, service_no: str, reading: Reading, previous_wh: int, *, now: dt.datetime
) -> None:
    day = clock.ist_date(reading.read_at)
    conn.execute(
        sa.insert(schema.held_consumption),
        {
            "service_no": service_no,
            "meter_serial": reading.meter_serial,
            "kind": "register_backwards",
            "from_date": day,
            "to_date": day,
            "from_register_wh": previous_wh,
            "to_register_wh": reading.register_wh,
            "status": "open",
            "created_at": now,
        },
    )
