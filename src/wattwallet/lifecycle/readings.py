"""Meter readings one at a time (the CLI, scenario replay, the simulator): each judged by
`domain.readings.verdict` against what the store holds, then stored, ignored or refused (a backwards
register flagged for staff). Each reading keeps its IST date: the billing boundary (the register at
the start of that day). The HES's messages in bulk go through `lifecycle.ingest`, same verdict.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import clock, readings
from wattwallet.lifecycle import holds
from wattwallet.store import schema


@dataclasses.dataclass(frozen=True)
class Outcome:
    reading: readings.Reading
    service_no: str | None
    status: str  # readings.Status: stored | duplicate | refused
    reason: str | None = None  # readings.Refusal, for refused
    message: str = ""


def record(ctx: Context, batch: Sequence[readings.Reading], *, now: dt.datetime) -> list[Outcome]:
    """Store a batch of readings in one transaction; each gets its own outcome."""
    with ctx.store.write() as conn:
        m = schema.meters
        serials = sorted({r.meter_serial for r in batch})
        owners = {
            serial: service_no
            for serial, service_no in conn.execute(
                sa.select(m.c.serial, m.c.service_no).where(m.c.serial.in_(serials))
            )
        }
        # Touch connections in service-number order (the order every batch locks in): no deadlocks.
        order = sorted(range(len(batch)), key=lambda i: (owners.get(batch[i].meter_serial, ""), i))
        outcomes: dict[int, Outcome] = {i: _record_one(conn, batch[i], now=now) for i in order}
        return [outcomes[i] for i in range(len(batch))]


def _record_one(conn: Connection, reading: readings.Reading, *, now: dt.datetime) -> Outcome:
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
    newest = meter is not None and (meter.last_read_at is None or reading.read_at > meter.last_read_at)
    if meter is None:
        facts = None
    else:
        same = conn.execute(
            sa.select(r.c.register_wh).where(
                r.c.meter_serial == reading.meter_serial, r.c.read_at == reading.read_at
            )
        ).scalar()
        # An older reading arriving late sits between two stored ones: both bound its register.
        late = same is None and not newest
        facts = readings.Meter(
            service_no=meter.service_no,
            installed_at=meter.installed_at,
            same_wh=None if same is None else int(same),
            before_wh=_register_near(conn, reading, before=True) if late else meter.last_register_wh,
            after_wh=_register_near(conn, reading, before=False) if late else None,
        )
    verdict = readings.verdict(reading=reading, meter=facts, now=now)
    service_no = None if facts is None else facts.service_no
    if verdict.status is not readings.Status.STORED:
        if verdict.flag_for_staff:
            assert facts is not None and service_no is not None
            _flag_backwards(conn, service_no, reading, facts.before_wh or 0, now=now)
        return Outcome(reading, service_no, verdict.status, verdict.refusal, verdict.message)
    assert facts is not None and service_no is not None
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
    return Outcome(reading, service_no, verdict.status)


def _register_near(conn: Connection, reading: readings.Reading, *, before: bool) -> int | None:
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
    conn: Connection, service_no: str, reading: readings.Reading, previous_wh: int, *, now: dt.datetime
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
            "status": holds.Status.OPEN,
            "created_at": now,
        },
    )
