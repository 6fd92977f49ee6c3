"""The MQTT link against a real Mosquitto, on both databases: commands out, acks, relay, readings in."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import AddConnection
from tests.hes.conftest import Clock, FakeHes, PrivateBroker, StartLink, settled, wait_for
from wattwallet.context import Context
from wattwallet.domain import clock
from wattwallet.domain import events as domain_events
from wattwallet.domain import readings as reading_rules
from wattwallet.hes import commands
from wattwallet.hes.mqtt import headend, rejects, relay
from wattwallet.jobs import schedule
from wattwallet.lifecycle import daily_cycle, disconnections, ingest, readings
from wattwallet.lifecycle import relay as lifecycle
from wattwallet.store import connections, schema
from wattwallet.wallet import recharges

IST = clock.IST


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=IST)


def due_for_disconnection(ctx: Context, add_connection: AddConnection, serial: str) -> str:
    """A connection whose balance fell below its emergency credit on 3 June (disconnect from 4 June, 10:00)."""
    sn = add_connection(meter_serial=serial, first_recharge_done=True, opening_balance_paise=500)
    readings.record(
        ctx, [reading_rules.Reading(serial, at("2025-06-03T00:10"), 20_000)], now=at("2025-06-03T00:10")
    )
    daily_cycle.run(ctx, now=at("2025-06-03T06:00"))
    return sn


def state_of(ctx: Context, sn: str) -> tuple[str, str]:
    with ctx.store.read() as conn:
        row = connections.get(conn, sn)
    return row.state.value, row.relay


def command_row(ctx: Context, command_id: str) -> Any:
    with ctx.store.read() as conn:
        return conn.execute(
            sa.select(schema.hes_commands).where(schema.hes_commands.c.id == command_id)
        ).one()


def reading(msg_id: str, meter: str, read_at: str, wh: int, **extra: Any) -> dict[str, Any]:
    return {"msg_id": msg_id, "meter": meter, "read_at": read_at, "register_wh": wh, **extra}


def test_a_disconnect_goes_out_and_the_executed_ack_disconnects_then_a_recharge_reconnects(
    ctx: Context, add_connection: AddConnection, start_link: StartLink, fake_hes: FakeHes, link_clock: Clock
) -> None:
    sn = due_for_disconnection(ctx, add_connection, "SM-D1")
    running = start_link()
    link_clock.now = at("2025-06-04T10:00")
    disconnections.run(running.ctx, now=at("2025-06-04T10:00"), events=[])
    [command] = fake_hes.wait_for_commands(1)
    assert command == {
        "command_id": command["command_id"],
        "meter": "SM-D1",
        "action": "disconnect",
        "issued_at": "2025-06-04T10:00:00+05:30",
        "not_after": "2025-06-04T13:00:00+05:30",  # the HES must not cut after the window
        "_topic": f"{fake_hes.prefix}/commands/SM-D1",
    }
    assert command_row(ctx, command["command_id"]).status == "sent"

    fake_hes.ack(command, "accepted", at=at("2025-06-04T10:00:01"))  # recorded, nothing changes
    wait_for(settled(running.link, "ack_recorded", 1))
    assert state_of(ctx, sn) == ("active", "closed")

    link_clock.now = at("2025-06-04T10:01")
    fake_hes.ack(command, "executed", relay="open", at=at("2025-06-04T10:00:30"))
    wait_for(settled(running.link, "ack_applied", 1))
    assert state_of(ctx, sn) == ("disconnected", "open")
    row = command_row(ctx, command["command_id"])
    assert (row.status, row.confirmed_at) == ("confirmed", at("2025-06-04T10:00:30"))

    # Paid up: the reconnect goes out at once through the same link, and its ack closes the relay.
    link_clock.now = at("2025-06-04T18:00")
    recharges.recharge_wallet(
        running.ctx,
        service_no=sn,
        channel="portal",
        reference="PG-1",
        amount_paise=50_000,
        now=link_clock.now,
    )
    reconnect = fake_hes.wait_for_commands(2)[1]
    assert (reconnect["action"], "not_after" in reconnect) == ("reconnect", False)
    fake_hes.ack(reconnect, "executed", relay="closed", at=at("2025-06-04T18:00:20"))
    wait_for(settled(running.link, "ack_applied", 2))
    assert state_of(ctx, sn) == ("active", "closed")
    with ctx.store.read() as conn:
        outcomes = conn.execute(sa.select(schema.hes_acks.c.status, schema.hes_acks.c.outcome)).all()
    assert sorted(outcomes) == [("accepted", "recorded"), ("executed", "applied"), ("executed", "applied")]


def test_late_and_repeated_acks_change_nothing(
    ctx: Context, add_connection: AddConnection, start_link: StartLink, fake_hes: FakeHes, link_clock: Clock
) -> None:
    sn = add_connection(meter_serial="SM-L1")
    now = at("2025-06-04T10:00")
    with ctx.store.write() as conn:
        commands.lock(conn, sn)
        cancelled = commands.issue(
            conn, service_no=sn, meter_serial="SM-L1", action="disconnect", reason="test", now=now
        )
        commands.cancel(conn, command_id=cancelled)
        superseded = commands.issue(
            conn, service_no=sn, meter_serial="SM-L1", action="disconnect", reason="test", now=now
        )
        commands.issue(conn, service_no=sn, meter_serial="SM-L1", action="reconnect", reason="test", now=now)
    running = start_link()
    link_clock.now = now
    for command_id in (cancelled, superseded, superseded):  # the last: the same ack again
        fake_hes.ack({"command_id": command_id, "meter": "SM-L1"}, "executed", relay="open", at=now)
    wait_for(lambda: running.link.stats().get("received", 0) >= 3)
    stats = running.link.stats()
    assert (stats.get("ack_late"), stats.get("ack_duplicate")) == (2, 1)
    assert state_of(ctx, sn) == ("active", "closed")
    assert command_row(ctx, cancelled).status == "cancelled"
    assert command_row(ctx, superseded).status == "superseded"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"status": "failed", "detail": "no comms"}, "no comms"),
        ({"status": "executed", "relay": "open"}, "executed, but the relay is open"),  # not what we asked
    ],
    ids=["failed", "wrong-relay"],
)
def test_a_failed_ack_sends_the_command_back_for_a_retry_after_the_backoff(
    ctx: Context,
    add_connection: AddConnection,
    start_link: StartLink,
    fake_hes: FakeHes,
    link_clock: Clock,
    answer: dict[str, str],
    error: str,
) -> None:
    sn = due_for_disconnection(ctx, add_connection, "SM-F1")
    events: domain_events.Log = []
    disconnections.run(ctx, now=at("2025-06-04T10:00"), events=events)  # the simulator confirms
    schedule.run_all_now(ctx, now=at("2025-06-04T10:00"), events=events)
    now = at("2025-06-04T18:00")
    link_clock.now = now
    running = start_link()
    receipt = recharges.recharge_wallet(
        running.ctx, service_no=sn, channel="portal", reference="PG-F1", amount_paise=50_000, now=now
    )
    [command] = fake_hes.wait_for_commands(1)
    assert command["command_id"] == receipt.reconnect_command
    fake_hes.publish(
        "acks",
        "SM-F1",
        {"command_id": command["command_id"], "meter": "SM-F1", "at": now.isoformat()} | answer,
    )
    wait_for(settled(running.link, "ack_applied", 1))
    row = command_row(ctx, command["command_id"])
    assert (row.status, row.last_error) == ("pending", error)
    assert row.next_attempt_at == now + dt.timedelta(minutes=ctx.policy.hes_retry_minutes[0])
    assert state_of(ctx, sn) == ("disconnected", "open")
    # At that time the usual dispatch sends it again, with the same id.
    lifecycle.dispatch(running.ctx, now=row.next_attempt_at, events=[])
    assert fake_hes.wait_for_commands(2)[1]["command_id"] == command["command_id"]


def test_junk_is_rejected_with_a_reason_and_the_link_carries_on(
    ctx: Context, add_connection: AddConnection, start_link: StartLink, fake_hes: FakeHes, link_clock: Clock
) -> None:
    add_connection(meter_serial="SM-J1")
    running = start_link()
    link_clock.now = at("2025-06-03T00:20")
    fake_hes.publish("readings", "SM-J1", b'{"msg_id": "x1", "meter": ')  # cut short
    fake_hes.publish("readings", "SM-NOBODY", reading("x2", "SM-NOBODY", "2025-06-03T00:10:00+05:30", 10))
    fake_hes.publish("readings", "SM-J1", reading("x3", "SM-OTHER", "2025-06-03T00:10:00+05:30", 10))
    fake_hes.publish(
        "acks",
        "SM-J1",
        {"command_id": "DIS-0-9", "meter": "SM-J1", "status": "failed", "at": "2025-06-03T00:10:00+05:30"},
    )
    fake_hes.publish(
        "relay",
        "SM-NOBODY",
        {"meter": "SM-NOBODY", "relay": "open", "cause": "tamper", "at": "2025-06-03T00:10:00+05:30"},
    )
    fake_hes.publish("relay", "SM-J1", b"\xff\xfe not text")
    fake_hes.publish("readings", "SM-J1", reading("x4", "SM-J1", "2025-06-03T00:10:00+05:30", 5_000))
    wait_for(settled(running.link, "reading_stored", 1))
    with ctx.store.read() as conn:
        rows = conn.execute(sa.select(schema.hes_rejects).order_by(schema.hes_rejects.c.id)).all()
        stored = conn.execute(sa.select(schema.meter_readings.c.meter_serial)).scalars().all()
    assert sorted((r.kind, r.reason) for r in rows) == [
        ("ack", "unknown_command"),
        ("reading", "invalid_json"),
        ("reading", "meter_topic_mismatch"),
        ("reading", "unknown_meter"),
        ("relay", "invalid_json"),
        ("relay", "unknown_meter"),
    ]
    cut = next(r for r in rows if r.reason == "invalid_json" and r.kind == "reading")
    assert cut.payload == '{"msg_id": "x1", "meter": ' and cut.meter_serial == "SM-J1"
    assert stored == ["SM-J1"]
    assert running.link.stats()["rejected"] == 6
    assert [r["reason"] for r in rejects.recent(running.ctx, limit=1)] == ["unknown_meter"]


@pytest.mark.parametrize("fast_client", [True, False], ids=["fast-client", "stock-paho"])
def test_a_reading_sent_twice_is_stored_once_with_its_profile(
    ctx: Context,
    add_connection: AddConnection,
    start_link: StartLink,
    fake_hes: FakeHes,
    link_clock: Clock,
    fast_client: bool,
) -> None:
    add_connection(meter_serial="SM-R1")
    running = start_link(fast_client=fast_client)
    link_clock.now = at("2025-06-03T00:20")
    body = reading("HES-7", "SM-R1", "2025-06-03T00:00:00+05:30", 7_000, profile_wh=list(range(48)))
    fake_hes.publish("readings", "SM-R1", body)
    fake_hes.publish("readings", "SM-R1", body)
    wait_for(lambda: running.link.stats().get("received", 0) >= 2)
    with ctx.store.read() as conn:
        stored = conn.execute(sa.select(schema.meter_readings.c.register_wh)).scalars().all()
        [profile] = conn.execute(sa.select(schema.meter_load_profiles)).all()
    assert stored == [7_000]
    assert (profile.msg_id, profile.total_wh) == ("HES-7", sum(range(48)))
    stats = running.link.stats()
    assert (stats.get("reading_stored"), stats.get("reading_duplicate")) == (1, 1)


def test_a_relay_open_while_active_gets_a_reconnect_at_once(
    ctx: Context, add_connection: AddConnection, start_link: StartLink, fake_hes: FakeHes, link_clock: Clock
) -> None:
    sn = add_connection(meter_serial="SM-M1")
    running = start_link()
    link_clock.now = at("2025-06-03T22:00")
    report = {"meter": "SM-M1", "relay": "open", "cause": "tamper", "at": "2025-06-03T21:59:00+05:30"}
    fake_hes.publish("relay", "SM-M1", report)
    [command] = fake_hes.wait_for_commands(1)  # at 22:00: reconnects go at any hour
    assert (command["action"], command["meter"]) == ("reconnect", "SM-M1")
    [mismatch] = relay.mismatches(running.ctx)
    assert (mismatch["service_no"], mismatch["reported_relay"], mismatch["expected_relay"]) == (
        sn,
        "open",
        "closed",
    )
    assert (mismatch["action"], mismatch["command_id"]) == ("reconnect_issued", command["command_id"])
    # The same report again while the reconnect is under way: no second command, no second row.
    fake_hes.publish("relay", "SM-M1", report | {"at": "2025-06-03T21:59:30+05:30"})
    wait_for(settled(running.link, "relay_known", 1))
    fake_hes.ack(command, "executed", relay="closed", at=at("2025-06-03T22:00:10"))
    wait_for(settled(running.link, "ack_applied", 1))
    assert relay.mismatches(running.ctx) == []  # resolved by the confirmed command
    assert state_of(ctx, sn) == ("active", "closed")
    assert len(fake_hes.commands) == 1


def test_a_relay_closed_while_disconnected_goes_back_to_the_window(
    ctx: Context, add_connection: AddConnection, start_link: StartLink, fake_hes: FakeHes, link_clock: Clock
) -> None:
    sn = due_for_disconnection(ctx, add_connection, "SM-M2")
    events: domain_events.Log = []
    disconnections.run(ctx, now=at("2025-06-04T10:00"), events=events)  # the simulator confirms
    schedule.run_all_now(ctx, now=at("2025-06-04T10:00"), events=events)
    assert state_of(ctx, sn) == ("disconnected", "open")
    running = start_link()
    # Stale: the meter said closed before we disconnected it. Agrees: open. Neither is a mismatch.
    link_clock.now = at("2025-06-04T15:00")
    fake_hes.publish(
        "relay",
        "SM-M2",
        {"meter": "SM-M2", "relay": "closed", "cause": "command", "at": "2025-06-04T09:00:00+05:30"},
    )
    fake_hes.publish(
        "relay",
        "SM-M2",
        {"meter": "SM-M2", "relay": "open", "cause": "command", "at": "2025-06-04T10:00:05+05:30"},
    )
    wait_for(settled(running.link, "relay_agrees", 1))
    assert running.link.stats().get("relay_stale") == 1
    # Closed by hand at 15:00: outside the window, so nothing is sent now...
    fake_hes.publish(
        "relay",
        "SM-M2",
        {"meter": "SM-M2", "relay": "closed", "cause": "manual", "at": "2025-06-04T14:59:00+05:30"},
    )
    wait_for(settled(running.link, "relay_mismatch", 1))
    [mismatch] = relay.mismatches(running.ctx)
    assert (mismatch["action"], mismatch["connection_state"], mismatch["cause"]) == (
        "back_to_window",
        "disconnected",
        "manual",
    )
    assert state_of(ctx, sn) == ("active", "closed")
    assert fake_hes.commands == []
    # ...and the next window disconnects it again, through the usual path and its checks.
    link_clock.now = at("2025-06-05T10:00")
    assert disconnections.run(running.ctx, now=at("2025-06-05T10:00"), events=[]) == 1
    [command] = fake_hes.wait_for_commands(1)
    assert (command["action"], command["not_after"]) == ("disconnect", "2025-06-05T13:00:00+05:30")


def test_a_command_sent_while_the_broker_is_down_goes_out_when_it_is_back(
    ctx: Context,
    add_connection: AddConnection,
    start_link: StartLink,
    link_clock: Clock,
    private_broker: PrivateBroker,
    prefix: str,
) -> None:
    sn = add_connection(meter_serial="SM-O1")
    hes = FakeHes(private_broker.url, prefix, persistent=True)
    try:
        running = start_link(private_broker.url)
        private_broker.stop()
        wait_for(lambda: not running.link.connected(), what="the link to notice the outage")
        now = at("2025-06-04T18:00")
        link_clock.now = now
        with ctx.store.write() as conn:
            commands.lock(conn, sn)
            command_id = commands.issue(
                conn, service_no=sn, meter_serial="SM-O1", action="reconnect", reason="test", now=now
            )
        lifecycle.dispatch(running.ctx, now=now, events=[], only=command_id)
        row = command_row(ctx, command_id)
        assert (row.status, row.last_error) == ("pending", headend.LINK_DOWN)  # kept: the row is the outbox
        private_broker.start()
        # Back: the link sends it at once, not after its backoff; the HES gets it from its session.
        [command] = hes.wait_for_commands(1, timeout=20)
        assert command["command_id"] == command_id
        assert command_row(ctx, command_id).status == "sent"
        assert running.link.stats().get("commands_resent") == 1
    finally:
        hes.close()


def test_messages_sent_while_the_link_is_away_are_taken_when_it_returns(
    ctx: Context, add_connection: AddConnection, start_link: StartLink, fake_hes: FakeHes, link_clock: Clock
) -> None:
    add_connection(meter_serial="SM-P1")
    first = start_link()
    first.link.stop()  # the worker restarts; its session stays with the broker
    link_clock.now = at("2025-06-03T00:20")
    for day in range(3, 6):
        body = reading(f"P-{day}", "SM-P1", f"2025-06-0{day}T00:00:00+05:30", day * 1_000)
        fake_hes.publish("readings", "SM-P1", body)
    link_clock.now = at("2025-06-06T00:20")
    second = start_link()
    wait_for(settled(second.link, "reading_stored", 3))
    with ctx.store.read() as conn:
        stored = conn.execute(sa.select(schema.meter_readings.c.register_wh)).scalars().all()
    assert sorted(stored) == [3_000, 4_000, 5_000]


def test_a_batch_that_fails_is_taken_again_and_a_message_that_always_fails_is_set_aside(
    ctx: Context,
    add_connection: AddConnection,
    start_link: StartLink,
    fake_hes: FakeHes,
    link_clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing is acknowledged before it is committed: a failing batch is retried, then split, and
    the one message that cannot be processed becomes a reject instead of blocking the link."""
    add_connection(meter_serial="SM-X1")
    add_connection(meter_serial="SM-X2")
    real = ingest.ingest
    calls = {"failures": 0}

    def flaky(ctx: Context, messages: Any, *, now: dt.datetime) -> Any:
        if any(m.msg_id == "poison" for m in messages) or calls["failures"] == 0:
            calls["failures"] += 1
            raise RuntimeError("the database went away")
        return real(ctx, messages, now=now)

    monkeypatch.setattr(ingest, "ingest", flaky)
    running = start_link(batch_size=10, flush_interval_seconds=0.3)
    link_clock.now = at("2025-06-03T00:20")
    fake_hes.publish("readings", "SM-X1", reading("good-1", "SM-X1", "2025-06-03T00:10:00+05:30", 1_000))
    fake_hes.publish("readings", "SM-X2", reading("poison", "SM-X2", "2025-06-03T00:10:00+05:30", 2_000))
    wait_for(settled(running.link, "received", 2), timeout=20)
    with ctx.store.read() as conn:
        stored = conn.execute(sa.select(schema.meter_readings.c.meter_serial)).scalars().all()
        [reject] = conn.execute(sa.select(schema.hes_rejects)).all()
    assert stored == ["SM-X1"]
    assert (reject.reason, reject.msg_id, reject.meter_serial) == ("processing_error", "poison", "SM-X2")
    assert running.link.stats()["rejected_processing_error"] == 1
    assert calls["failures"] >= 3  # the whole batch twice, then the poison message alone
