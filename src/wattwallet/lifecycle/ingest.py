"""Readings in bulk: thousands of HES reading messages written with a few set-based statements.

Each message carries one cumulative register reading and, optionally, the 48 half-hourly values
of the day that ends at it. The outcomes are exactly those of `lifecycle.readings.record` for the
same readings (a duplicate changes nothing; a register running backwards is refused and flagged;
a reading in the future, before installation or contradicting one already stored is refused).
Implausibly high consumption is a billing rule: the daily cycle holds it, as for any reading.

How: a message whose msg_id was stored before is a duplicate at once. A meter with one message
in the batch whose reading is newer than its last one (the daily register, nearly every message)
is decided from one locked read of the batch's meter state and written with bulk inserts (COPY on
PostgreSQL) and one UPDATE. The rest (a meter with several messages in one batch, a late or
out-of-order reading) goes through `readings.record` itself, in a transaction of its own.
A redelivery after a failure between the two transactions is harmless: it finds its reading
stored (a duplicate) and only adds the profile row that did not commit (a reading refused as
running backwards would be flagged for staff a second time, as readings.record does for a repeat).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import clock
from wattwallet.domain import readings as reading_rules
from wattwallet.hes.mqtt import rejects
from wattwallet.lifecycle import holds, readings
from wattwallet.store import bulk, schema

STORED, DUPLICATE, REFUSED = "stored", "duplicate", "refused"
PROFILE_SLOTS = 48  # half-hours in a day
_SQLITE_CHUNK = 2_000  # rows per VALUES lookup: three parameters each, well under SQLite's limit


# Built for every message on the hot path: plain slotted classes (a frozen dataclass costs three
# times as much to build). Treat them as immutable all the same.
@dataclasses.dataclass(slots=True)
class Message:
    msg_id: str
    reading: reading_rules.Reading
    profile_wh: tuple[int, ...] | None = None
    topic: str = ""  # where it came from and what it said, kept if it is refused
    payload: bytes = b""


@dataclasses.dataclass(slots=True)
class Outcome:
    message: Message
    service_no: str | None
    status: str  # stored | duplicate | refused
    reason: str | None = None  # refused: as readings.Outcome; duplicate: None, or msg_id_seen
    detail: str = ""


@dataclasses.dataclass(slots=True)
class _Meter:
    service_no: str
    installed_at: dt.datetime
    last_read_at: dt.datetime | None
    last_register_wh: int
    same_wh: int | None  # a reading already stored for this meter at this very time


def ingest(ctx: Context, messages: Sequence[Message], *, now: dt.datetime) -> list[Outcome]:
    """Store a batch of reading messages; each gets its own outcome, in the order given."""
    outcomes: list[Outcome | None] = [None] * len(messages)
    first: dict[str, int] = {}
    for index, message in enumerate(messages):
        if message.msg_id in first:
            outcomes[index] = _repeat(message)
        else:
            first[message.msg_id] = index
    slow: list[int] = []
    with ctx.store.write() as conn:
        seen = _seen(conn, list(first))
        fresh = [i for i in first.values() if messages[i].msg_id not in seen]
        for msg_id in seen:
            outcomes[first[msg_id]] = _repeat(messages[first[msg_id]])
        per_meter = collections.Counter(messages[i].reading.meter_serial for i in fresh)
        single = [i for i in fresh if per_meter[messages[i].reading.meter_serial] == 1]
        slow = [i for i in fresh if per_meter[messages[i].reading.meter_serial] > 1]
        writes = _Writes(now, copy_text=conn.dialect.name == "postgresql")
        for index, meter in zip(single, _meters(conn, [messages[i].reading for i in single]), strict=True):
            reading = messages[index].reading
            if meter is not None and meter.last_read_at is not None and reading.read_at <= meter.last_read_at:
                slow.append(index)  # late or out of order: its neighbours decide, as record does
                continue
            outcomes[index] = writes.decide(messages[index], meter)
        writes.flush(conn)
    if slow:
        slow.sort()
        recorded = readings.record(ctx, [messages[i].reading for i in slow], now=now)
        writes = _Writes(now, copy_text=ctx.store.dialect == "postgresql")
        for index, result in zip(slow, recorded, strict=True):
            outcomes[index] = writes.after_record(messages[index], result)
        with ctx.store.write() as conn:
            writes.flush(conn)
    assert all(outcome is not None for outcome in outcomes)
    return [outcome for outcome in outcomes if outcome is not None]


def _repeat(message: Message) -> Outcome:
    return Outcome(message, None, DUPLICATE, "msg_id_seen", f"message {message.msg_id} was taken before")


class _Writes:
    """What a batch writes, gathered row by row and written in bulk."""

    def __init__(self, now: dt.datetime, *, copy_text: bool) -> None:
        self.now = now
        self.copy_text = copy_text
        self.readings: list[tuple[Any, ...]] = []
        self.states: list[tuple[Any, ...]] = []
        self.held: list[dict[str, Any]] = []
        self.profiles: list[tuple[Any, ...]] = []
        self.maybe_profiles: list[tuple[Any, ...]] = []  # duplicates: add if not there yet
        self.rejects: list[rejects.Reject] = []
        self._days: dict[dt.datetime, dt.date] = {}
        self._texts: dict[dt.date, str] = {}

    def day(self, instant: dt.datetime) -> dt.date:
        """The IST date, worked out once per distinct time (a batch's readings share a few)."""
        day = self._days.get(instant)
        if day is None:
            day = self._days[instant] = clock.ist_date(instant)
        return day

    def copied(self, value: dt.date) -> Any:
        """A date or time as COPY takes it. On PostgreSQL: its ISO text, made once per distinct
        value (psycopg's own conversion costs more than the rest of the row)."""
        if not self.copy_text:
            return value
        text = self._texts.get(value)
        if text is None:
            text = self._texts[value] = value.isoformat()
        return text

    def decide(self, message: Message, meter: _Meter | None) -> Outcome:
        """The verdict on a reading newer than the meter's last one (`domain.readings.verdict`, as
        `lifecycle.readings` gives it), and the rows it writes, gathered for the batch's statements."""
        reading, now = message.reading, self.now
        facts = (
            None
            if meter is None
            else reading_rules.Meter(
                service_no=meter.service_no,
                installed_at=meter.installed_at,
                same_wh=meter.same_wh,
                before_wh=meter.last_register_wh,
            )
        )
        verdict = reading_rules.verdict(reading=reading, meter=facts, now=now)
        service_no = None if meter is None else meter.service_no
        if verdict.status is reading_rules.Status.DUPLICATE:
            assert service_no is not None
            self.maybe_profiles.append(self._profile(message, service_no, copy=False))
            return Outcome(message, service_no, DUPLICATE)
        if verdict.status is reading_rules.Status.REFUSED:
            assert verdict.refusal is not None
            if verdict.flag_for_staff:
                assert meter is not None and service_no is not None
                day = self.day(reading.read_at)
                self.held.append(
                    {
                        "service_no": service_no,
                        "meter_serial": reading.meter_serial,
                        "kind": "register_backwards",
                        "from_date": day,
                        "to_date": day,
                        "from_register_wh": meter.last_register_wh,
                        "to_register_wh": reading.register_wh,
                        "status": holds.Status.OPEN,
                        "created_at": now,
                    }
                )
            return self._refuse(message, service_no, verdict.refusal, verdict.message)
        assert service_no is not None
        day, at = self.day(reading.read_at), self.copied(reading.read_at)
        self.readings.append(
            (reading.meter_serial, service_no, at, self.copied(day), reading.register_wh, self.copied(now))
        )
        self.states.append((reading.read_at, day, reading.register_wh, service_no))
        self.profiles.append(self._profile(message, service_no, copy=True))
        return Outcome(message, service_no, STORED)

    def after_record(self, message: Message, result: readings.Outcome) -> Outcome:
        """What to keep of a message that went through readings.record."""
        if result.status == REFUSED:
            return self._refuse(message, result.service_no, result.reason or "refused", result.message)
        assert result.service_no is not None
        self.maybe_profiles.append(self._profile(message, result.service_no, copy=False))
        return Outcome(message, result.service_no, result.status)

    def _refuse(self, message: Message, service_no: str | None, reason: str, detail: str) -> Outcome:
        self.rejects.append(
            rejects.Reject(
                topic=message.topic,
                kind="reading",
                reason=reason,
                detail=detail,
                payload=rejects.text_of(message.payload),
                msg_id=message.msg_id,
                meter_serial=message.reading.meter_serial,
            )
        )
        return Outcome(message, service_no, REFUSED, reason, detail)

    def _profile(self, message: Message, service_no: str, *, copy: bool) -> tuple[Any, ...]:
        reading, profile = message.reading, message.profile_wh
        day = self.day(reading.read_at)
        return (
            message.msg_id,
            reading.meter_serial,
            service_no,
            self.copied(reading.read_at) if copy else reading.read_at,
            self.copied(day) if copy else day,
            None if profile is None else orjson.dumps(profile)[1:-1].decode(),  # 1,2,...
            None if profile is None else sum(profile),
            self.copied(self.now) if copy else self.now,
        )

    def flush(self, conn: Connection) -> None:
        bulk.insert(
            conn,
            schema.meter_readings,
            ("meter_serial", "service_no", "read_at", "read_date", "register_wh", "received_at"),
            self.readings,
        )
        _move_state(conn, self.states, now=self.now)
        if self.held:
            conn.execute(sa.insert(schema.held_consumption), self.held)
        bulk.insert(conn, schema.meter_load_profiles, _PROFILE_COLUMNS, self.profiles)
        if self.maybe_profiles:
            table = schema.meter_load_profiles
            insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
            conn.execute(
                insert.on_conflict_do_nothing(),
                [dict(zip(_PROFILE_COLUMNS, row, strict=True)) for row in self.maybe_profiles],
            )
        if self.rejects:
            rejects.add(conn, self.rejects, now=self.now)


_PROFILE_COLUMNS = (
    "msg_id",
    "meter_serial",
    "service_no",
    "ends_at",
    "read_date",
    "profile_wh",
    "total_wh",
    "received_at",
)


def _move_state(conn: Connection, states: list[tuple[Any, ...]], *, now: dt.datetime) -> None:
    """The meters' newest reading (rows: read_at, read date, register, service number)."""
    if not states:
        return
    if conn.dialect.name == "postgresql":
        sql = (
            "UPDATE prepaid_state AS t SET last_read_at = v.at, last_read_date = v.day, "
            "last_register_wh = v.wh, updated_at = %(now)s "
            "FROM (SELECT (e->>0)::timestamptz AS at, (e->>1)::date AS day, (e->>2)::bigint AS wh, "
            "             e->>3 AS sn FROM json_array_elements(%(rows)s::json) AS e) AS v "
            "WHERE t.service_no = v.sn"
        )
        rows = states
        conn.exec_driver_sql(sql, {"rows": orjson.dumps(rows).decode(), "now": now})
        return
    columns = ("last_read_at", "last_read_date", "last_register_wh", "updated_at")
    bulk.update(
        conn, schema.prepaid_state, "service_no", columns, [(*row[:3], now, row[3]) for row in states]
    )


def _seen(conn: Connection, msg_ids: list[str]) -> set[str]:
    """The msg_ids already stored or rejected: a redelivered message changes nothing."""
    if not msg_ids:
        return set()
    p, r = schema.meter_load_profiles, schema.hes_rejects
    if conn.dialect.name == "postgresql":
        # The keys travel as one JSON text that PostgreSQL unpacks: no per-element work in Python.
        sql = (
            "SELECT p.msg_id FROM json_array_elements_text(%(ids)s::json) AS v(id) "
            "JOIN meter_load_profiles p ON p.msg_id = v.id "
            "UNION SELECT r.msg_id FROM json_array_elements_text(%(ids)s::json) AS v(id) "
            "JOIN hes_rejects r ON r.msg_id = v.id"
        )
        rows = conn.exec_driver_sql(sql, {"ids": orjson.dumps(msg_ids).decode()}).cursor.fetchall()
        return {msg_id for (msg_id,) in rows}
    found: set[str] = set()
    for start in range(0, len(msg_ids), _SQLITE_CHUNK):
        chunk = msg_ids[start : start + _SQLITE_CHUNK]
        found.update(conn.execute(sa.select(p.c.msg_id).where(p.c.msg_id.in_(chunk))).scalars())
        found.update(conn.execute(sa.select(r.c.msg_id).where(r.c.msg_id.in_(chunk))).scalars())
    return found


def _meters(conn: Connection, batch: list[reading_rules.Reading]) -> list[_Meter | None]:
    """Each reading's meter and connection state (None: no such meter), the state rows locked in
    service-number order; and any reading already stored for the same meter and time."""
    if not batch:
        return []
    found: dict[int, _Meter] = {}
    if conn.dialect.name == "postgresql":
        sql = (
            "SELECT v.i, m.service_no, m.installed_at, s.last_read_at, s.last_register_wh, r.register_wh "
            "FROM (SELECT (e->>0)::int AS i, e->>1 AS serial, (e->>2)::timestamptz AS at "
            "      FROM json_array_elements(%(rows)s::json) AS e) AS v "
            "JOIN meters m ON m.serial = v.serial "
            "JOIN prepaid_state s ON s.service_no = m.service_no "
            "LEFT JOIN meter_readings r ON r.meter_serial = v.serial AND r.read_at = v.at "
            "ORDER BY m.service_no FOR UPDATE OF s"
        )
        keys = [(i, r.meter_serial, r.read_at) for i, r in enumerate(batch)]
        # The driver's own rows: SQLAlchemy's Row objects cost more than the query here.
        rows = conn.exec_driver_sql(sql, {"rows": orjson.dumps(keys).decode()}).cursor.fetchall()
        for i, service_no, installed_at, last_read_at, last_wh, same_wh in rows:
            found[i] = _Meter(service_no, installed_at, last_read_at, last_wh, same_wh)
    else:
        m, s, r = schema.meters, schema.prepaid_state, schema.meter_readings
        for start in range(0, len(batch), _SQLITE_CHUNK):
            chunk = batch[start : start + _SQLITE_CHUNK]
            values = (
                sa.values(
                    sa.column("i", sa.Integer),
                    sa.column("serial", sa.String),
                    sa.column("at", schema.meter_readings.c.read_at.type),
                    name="v",
                )
                .data([(start + k, x.meter_serial, x.read_at) for k, x in enumerate(chunk)])
                .cte("v")
            )
            query = sa.select(
                values.c.i,
                m.c.service_no,
                m.c.installed_at,
                s.c.last_read_at,
                s.c.last_register_wh,
                r.c.register_wh,
            ).select_from(
                values.join(m, m.c.serial == values.c.serial)
                .join(s, s.c.service_no == m.c.service_no)
                .outerjoin(r, sa.and_(r.c.meter_serial == values.c.serial, r.c.read_at == values.c.at))
            )
            for row in conn.execute(query):
                found[row[0]] = _Meter(row[1], row[2], row[3], row[4], row[5])
    return [found.get(i) for i in range(len(batch))]
