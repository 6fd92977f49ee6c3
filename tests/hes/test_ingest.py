"""Batch ingestion gives exactly the outcomes of readings.record, reading for reading."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import sqlalchemy as sa

from tests.conftest import NOW, AddConnection
from wattwallet.context import Context
from wattwallet.domain import clock
from wattwallet.domain import readings as reading_rules
from wattwallet.lifecycle import daily_cycle, ingest, readings
from wattwallet.store import schema

IST = clock.IST


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=IST)


def message(
    reading: reading_rules.Reading, msg_id: str, profile: tuple[int, ...] | None = None
) -> ingest.Message:
    return ingest.Message(msg_id, reading, profile, topic=f"t/readings/{reading.meter_serial}", payload=b"{}")


def both_paths(
    ctx: Context,
    add_connection: AddConnection,
    batches: list[list[tuple[int, dt.datetime, int]]],
    meters: int,
    *,
    skew: bool = False,
) -> tuple[list[Any], list[Any], dict[str, str]]:
    """The same batches of (meter index, time, Wh) through record (meters R*) and ingest (meters I*);
    meter index -1 is a meter nobody has. Returns both outcome lists and the serial mapping I -> R."""
    for i in range(meters):
        for side in "RI":
            add_connection(
                meter_serial=f"SM-{side}{i}", first_recharge_done=True, opening_balance_paise=50_000
            )
    by_record, by_ingest = [], []
    count = 0
    for number, batch in enumerate(batches):
        # Now is just after the batch's newest reading (with `skew`, every third batch: a day before it).
        early = skew and number % 3 == 0
        now = max(when for _, when, _ in batch) + dt.timedelta(minutes=-24 * 60 if early else 1)
        plain = [
            reading_rules.Reading(f"SM-R{i}" if i >= 0 else "SM-NONE", when, wh) for i, when, wh in batch
        ]
        sent = []
        for i, when, wh in batch:
            count += 1
            sent.append(
                message(reading_rules.Reading(f"SM-I{i}" if i >= 0 else "SM-NONE", when, wh), f"m{count}")
            )
        by_record += [(o.status, o.reason) for o in readings.record(ctx, plain, now=now)]
        by_ingest += [(o.status, o.reason) for o in ingest.ingest(ctx, sent, now=now)]
    return by_record, by_ingest, {f"SM-I{i}": f"SM-R{i}" for i in range(meters)}


def table_state(ctx: Context, side: str) -> dict[str, Any]:
    """What each path left behind, with the I meters named as their R twins."""
    m, r, s, h = schema.meters, schema.meter_readings, schema.prepaid_state, schema.held_consumption

    def twin(serial: str) -> str:
        return serial.replace("SM-I", "SM-R")

    with ctx.store.read() as conn:
        serials = {row.serial: row.service_no for row in conn.execute(sa.select(m))}
        mine = {serial: sn for serial, sn in serials.items() if serial.startswith(f"SM-{side}")}
        owner = {sn: twin(serial) for serial, sn in mine.items()}
        rows = conn.execute(
            sa.select(r.c.meter_serial, r.c.read_at, r.c.read_date, r.c.register_wh).where(
                r.c.meter_serial.in_(list(mine))
            )
        ).all()
        states = conn.execute(
            sa.select(s.c.service_no, s.c.last_read_at, s.c.last_read_date, s.c.last_register_wh).where(
                s.c.service_no.in_(list(owner))
            )
        ).all()
        held = conn.execute(
            sa.select(
                h.c.service_no, h.c.kind, h.c.from_date, h.c.to_date, h.c.from_register_wh, h.c.to_register_wh
            ).where(h.c.service_no.in_(list(owner)))
        ).all()
    return {
        "readings": sorted((twin(x.meter_serial), x.read_at, x.read_date, x.register_wh) for x in rows),
        "state": sorted(
            (owner[x.service_no], x.last_read_at, x.last_read_date, x.last_register_wh) for x in states
        ),
        "held": sorted((owner[x[0]], *x[1:]) for x in held),
    }


def test_a_mix_of_readings_has_the_same_outcomes_either_way(
    ctx: Context, add_connection: AddConnection
) -> None:
    batches = [
        [
            (0, at("2025-06-03T00:10"), 5_000),  # normal
            (1, at("2025-06-03T00:10"), 3_000),
            (2, at("2025-06-03T00:10"), 4_000),
            (-1, at("2025-06-03T00:10"), 1_000),  # unknown meter
            (1, at("2025-06-01T00:10"), 1_000),  # before installation (second for meter 1: slow path)
        ],
        [
            (0, at("2025-06-03T00:10"), 5_000),  # duplicate
            (1, at("2025-06-04T00:10"), 2_000),  # backwards
            (2, at("2025-06-04T00:10"), 900_000),  # implausible: stored, held by the cycle
            (3, at("2025-06-05T00:10"), 10_000),  # in the future for this batch? no: now follows it
        ],
        [
            (0, at("2025-06-03T00:10"), 5_500),  # conflicts with the stored reading
            (0, at("2025-06-05T00:10"), 9_000),
            (0, at("2025-06-04T00:10"), 7_000),  # out of order, between its neighbours
            (2, at("2025-06-03T12:00"), 3_000),  # late, and below the reading before it
            (3, at("2025-06-05T00:09"), 9_000),  # late for meter 3, first of its kind
        ],
        [
            (1, at("2025-06-05T00:10"), 4_000),
            (2, at("2025-06-05T00:10"), 901_000),
            (3, at("2025-06-09T00:10"), 20_000),
        ],
        [
            (1, at("2025-06-06T00:10"), 4_000),  # nothing used that day: the same register, stored
            (3, at("2025-06-09T00:10"), 20_000),  # duplicate of the newest
        ],
    ]
    by_record, by_ingest, _ = both_paths(ctx, add_connection, batches, meters=4)
    assert by_ingest == by_record
    assert {status for status, _ in by_record} == {"stored", "duplicate", "refused"}
    assert {reason for _, reason in by_record} >= {
        "unknown_meter",
        "reading_before_installation",
        "register_backwards",
        "reading_conflict",
    }
    assert table_state(ctx, "I") == table_state(ctx, "R")
    # Implausible consumption is a billing rule: the daily cycle holds it the same way for both.
    daily_cycle.run(ctx, now=at("2025-06-10T06:00"))
    held = table_state(ctx, "I")["held"]
    assert held == table_state(ctx, "R")["held"]
    assert {kind for _, kind, *_ in held} == {"register_backwards", "implausible"}


def test_random_batches_have_the_same_outcomes_either_way(
    ctx: Context, add_connection: AddConnection
) -> None:
    rng = random.Random(5)
    meters, batches, sent = 5, [], []
    base = at("2025-06-03T00:00")
    for number in range(8):
        batch = []
        for _ in range(rng.randint(1, 30)):
            if sent and rng.random() < 0.15:
                batch.append(rng.choice(sent))  # the same reading again
                continue
            hours = rng.randint(-30, 24 * (number + 1))
            wh = max(0, (hours + 30) * 60 + rng.choice([0, 0, 0, 0, -700, 400]))
            reading = (rng.choice([-1, *range(meters)]), base + dt.timedelta(hours=hours), wh)
            batch.append(reading)
            sent.append(reading)
        batches.append(batch)
    by_record, by_ingest, _ = both_paths(ctx, add_connection, batches, meters, skew=True)
    assert by_ingest == by_record
    assert len(set(by_record)) >= 6  # stored, duplicate, and refused for several reasons
    assert table_state(ctx, "I") == table_state(ctx, "R")


def test_a_message_taken_before_changes_nothing_and_keeps_its_profile_once(
    ctx: Context, add_connection: AddConnection
) -> None:
    add_connection(meter_serial="SM-P")
    when = at("2025-06-03T00:00")
    profile = tuple(range(100, 148))
    first = message(reading_rules.Reading("SM-P", when, 4_000), "HES-1", profile)
    again = ingest.ingest(ctx, [first, first], now=when)
    assert [(o.status, o.reason) for o in again] == [("stored", None), ("duplicate", "msg_id_seen")]
    [later] = ingest.ingest(ctx, [first], now=when + dt.timedelta(hours=1))
    assert (later.status, later.reason) == ("duplicate", "msg_id_seen")
    # The same reading under another msg_id is a duplicate reading, as readings.record says.
    [other] = ingest.ingest(ctx, [message(reading_rules.Reading("SM-P", when, 4_000), "HES-2")], now=when)
    assert (other.status, other.reason) == ("duplicate", None)
    with ctx.store.read() as conn:
        rows = conn.execute(sa.select(schema.meter_load_profiles)).all()
        stored = conn.execute(sa.select(sa.func.count()).select_from(schema.meter_readings)).scalar_one()
    assert stored == 1
    [row] = rows
    assert (row.msg_id, row.total_wh, row.read_date) == ("HES-1", sum(profile), dt.date(2025, 6, 3))
    assert [int(v) for v in row.profile_wh.split(",")] == list(profile)


def test_a_refused_reading_is_kept_as_a_reject_and_not_flagged_twice(
    ctx: Context, add_connection: AddConnection
) -> None:
    add_connection(meter_serial="SM-B")
    ingest.ingest(
        ctx,
        [message(reading_rules.Reading("SM-B", at("2025-06-03T00:10"), 5_000), "a")],
        now=NOW + dt.timedelta(days=1),
    )
    backwards = message(reading_rules.Reading("SM-B", at("2025-06-04T00:10"), 4_000), "b")
    for _ in range(2):  # the broker sends it again: one flag, one reject
        ingest.ingest(ctx, [backwards], now=at("2025-06-04T00:11"))
    with ctx.store.read() as conn:
        rejected = conn.execute(sa.select(schema.hes_rejects)).all()
        holds = conn.execute(sa.select(schema.held_consumption)).all()
    assert [(r.msg_id, r.reason, r.meter_serial) for r in rejected] == [("b", "register_backwards", "SM-B")]
    assert len(holds) == 1


def test_a_reading_stored_before_its_profile_gets_the_profile_when_it_comes_again(
    ctx: Context, add_connection: AddConnection
) -> None:
    """As after a failure between ingest's two transactions: the reading is in, the profile not."""
    add_connection(meter_serial="SM-Q")
    reading = reading_rules.Reading("SM-Q", at("2025-06-03T00:00"), 4_000)
    readings.record(ctx, [reading], now=at("2025-06-03T00:01"))
    [outcome] = ingest.ingest(ctx, [message(reading, "HES-9", (1,) * 48)], now=at("2025-06-03T00:02"))
    assert outcome.status == "duplicate"
    with ctx.store.read() as conn:
        [row] = conn.execute(sa.select(schema.meter_load_profiles)).all()
    assert (row.msg_id, row.total_wh) == ("HES-9", 48)
