"""`simulate-meters` against the real Mosquitto (127.0.0.1:1883): readings out, relay commands obeyed,
and, end to end, WattWallet's MQTT link taking both."""

from __future__ import annotations

import collections
import datetime as dt
import json
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
import typer
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from tests.conftest import AddConnection
from tests.hes.conftest import WAIT, Clock, StartLink, settled, wait_for
from wattwallet.cli import simulate
from wattwallet.context import Context
from wattwallet.domain import clock
from wattwallet.lifecycle import daily_cycle, disconnections
from wattwallet.simulation import consumption, meters, mqtt_meters
from wattwallet.store import connections

HOME = consumption.Profile(kind="home", size="large", daily_wh=15_000, ac_w=0, load_w=2_000)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=clock.IST)


class Hes:
    """WattWallet's side, bare: publishes commands, collects acks, relay reports and readings."""

    def __init__(self, url: str, prefix: str) -> None:
        self.prefix = prefix
        self.got: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        self._lock = threading.Lock()
        ready = threading.Event()
        parts = urllib.parse.urlsplit(url)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        self.client.on_connect = lambda c, *_: c.subscribe(
            [(f"{prefix}/{k}/+", 1) for k in ("acks", "relay", "readings")]
        )
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        self.client.loop_start()
        assert ready.wait(WAIT)

    def _on_message(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        kind = message.topic[len(self.prefix) + 1 :].split("/")[0]
        with self._lock:
            self.got[kind].append(orjson.loads(message.payload))

    def messages(self, kind: str, count: int) -> list[dict[str, Any]]:
        wait_for(lambda: len(self.got[kind]) >= count, WAIT, f"{count} {kind} message(s)")
        with self._lock:
            return list(self.got[kind])

    def command(
        self, meter: str, command_id: str, action: str, *, issued_at: str = "2025-06-04T10:00:00+05:30"
    ) -> None:
        body = {"command_id": command_id, "meter": meter, "action": action, "issued_at": issued_at}
        self.client.publish(f"{self.prefix}/commands/{meter}", orjson.dumps(body), qos=1).wait_for_publish(
            WAIT
        )

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def hes(broker_url: str, prefix: str) -> Iterator[Hes]:
    side = Hes(broker_url, prefix)
    yield side
    side.close()


def start_fleet(
    url: str,
    prefix: str,
    fleet: list[meters.VirtualMeter],
    clock_now: Callable[[], dt.datetime] = mqtt_meters.utc_now,
    **overrides: Any,
) -> mqtt_meters.MeterFleet:
    values: dict[str, Any] = {
        "broker_url": url,
        "prefix": prefix,
        "start": dt.date(2025, 6, 2),
        "days": 2,
        "interval_seconds": 0,
        "fail_rate": 0.0,
        "max_delay_seconds": 0.05,
        "client_id": f"sim-{uuid.uuid4().hex[:8]}",
    }
    settings = mqtt_meters.FleetSettings(**(values | overrides))
    simulation = mqtt_meters.MeterFleet(fleet, settings=settings, clock_now=clock_now)
    simulation.start(timeout=WAIT)
    return simulation


@pytest.fixture
def fleet(broker_url: str, prefix: str) -> Iterator[mqtt_meters.MeterFleet]:
    simulation = start_fleet(
        broker_url, prefix, mqtt_meters.numbered(count=2, prefix="SM-T-", first=1, seed=1)
    )
    yield simulation
    simulation.stop()


def test_a_command_is_accepted_executed_and_reported_and_a_repeat_gets_the_first_outcome(
    hes: Hes, fleet: mqtt_meters.MeterFleet
) -> None:
    hes.command("SM-T-000001", "DIS-1-1", "disconnect")
    accepted, executed = hes.messages("acks", 2)
    assert accepted | {"at": None} == {
        "command_id": "DIS-1-1",
        "meter": "SM-T-000001",
        "status": "accepted",
        "at": None,
    }
    assert executed["status"] == "executed" and executed["relay"] == "open"
    [report] = hes.messages("relay", 1)
    assert report["meter"] == "SM-T-000001" and report["relay"] == "open" and report["cause"] == "command"
    assert fleet.meters["SM-T-000001"].relay == meters.OPEN

    hes.command("SM-T-000001", "DIS-1-1", "disconnect")  # a redelivery: answered, not executed again
    acks = hes.messages("acks", 3)
    assert acks[2] == executed  # the same ack, its time included: WattWallet ignores it as a repeat
    assert fleet.stats()["executed"] == 1 and fleet.stats()["commands_repeated"] == 1

    # An open relay stops consumption: the next day draws nothing; the other meter goes on.
    fleet.publish_day()
    [opened, other] = fleet.publish_day()
    assert opened.profile_wh == (0,) * 48
    assert sum(other.profile_wh) > 0


def test_readings_arrive_with_48_half_hours_and_a_register_that_adds_them_up(
    hes: Hes, fleet: mqtt_meters.MeterFleet
) -> None:
    before = {serial: meter.register_wh for serial, meter in fleet.meters.items()}
    fleet.publish_day()
    readings = hes.messages("readings", 2)
    by_meter = {r["meter"]: r for r in readings}
    assert set(by_meter) == {"SM-T-000001", "SM-T-000002"}
    for serial, reading in by_meter.items():
        assert len(reading["profile_wh"]) == 48 and all(v >= 0 for v in reading["profile_wh"])
        assert reading["register_wh"] == before[serial] + sum(reading["profile_wh"])
        assert reading["read_at"] == "2025-06-03T00:00:00+05:30"
        assert reading["msg_id"] == f"SIM1-{serial}-20250602"


def test_failures_come_at_the_fail_rate_and_a_retry_with_a_new_issued_at_is_tried_again(
    broker_url: str, prefix: str, hes: Hes
) -> None:
    simulation = start_fleet(
        broker_url, prefix, mqtt_meters.numbered(count=1, prefix="SM-F-", first=1, seed=1), fail_rate=1.0
    )
    try:
        hes.command("SM-F-000001", "REC-9-1", "reconnect")
        failed = hes.messages("acks", 2)[1]
        assert failed["status"] == "failed" and failed["detail"] == mqtt_meters.FAILURE_DETAIL
        hes.command("SM-F-000001", "REC-9-1", "reconnect", issued_at="2025-06-04T10:01:00+05:30")
        assert [a["status"] for a in hes.messages("acks", 4)] == ["accepted", "failed", "accepted", "failed"]
        assert simulation.stats()["commands_retried"] == 1
        assert not hes.got["relay"]
    finally:
        simulation.stop()


def test_end_to_end_the_link_stores_the_readings_and_a_disconnect_is_executed(
    ctx: Context,
    add_connection: AddConnection,
    start_link: StartLink,
    link_clock: Clock,
    broker_url: str,
    prefix: str,
) -> None:
    sn = add_connection(meter_serial="SM-E2E-1", first_recharge_done=True, opening_balance_paise=500)
    running = start_link()
    meter = meters.VirtualMeter("SM-E2E-1", HOME, register_wh=0)
    simulation = start_fleet(broker_url, prefix, [meter], clock_now=lambda: link_clock.now)
    try:
        link_clock.now = at("2025-06-03T00:10")
        [reading] = simulation.publish_day()  # 2 June, read at midnight
        wait_for(settled(running.link, "reading_stored", 1))
        daily_cycle.run(ctx, now=at("2025-06-03T06:00"))  # ~15 kWh: below the emergency credit

        link_clock.now = at("2025-06-04T10:00")
        disconnections.run(running.ctx, now=link_clock.now, events=[])
        wait_for(settled(running.link, "ack_applied", 1))
        with ctx.store.read() as conn:
            row = connections.get(conn, sn)
        assert (row.state.value, row.relay) == ("disconnected", "open")
        assert meter.relay == meters.OPEN
        assert reading.register_wh == sum(reading.profile_wh) > 10_000
    finally:
        simulation.stop()


def test_the_command_publishes_its_days_and_prints_what_it_did(
    broker_url: str, prefix: str, hes: Hes
) -> None:
    app = typer.Typer()
    app.command("simulate-meters")(simulate.simulate_meters)
    app.command("demo")(simulate.demo)
    args = ["simulate-meters", "--count", "3", "--broker", broker_url, "--prefix", prefix, "--days", "2"]
    args += [
        "--start",
        "2025-06-02",
        "--days-per-second",
        "100",
        "--run-seconds",
        "0",
        "--client-id",
        prefix[-12:],
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"days": 2, "readings_published": 6}
    readings = hes.messages("readings", 6)
    assert {r["meter"] for r in readings} == {"SM-AP-000001", "SM-AP-000002", "SM-AP-000003"}
    assert sorted({r["read_at"] for r in readings}) == [
        "2025-06-03T00:00:00+05:30",
        "2025-06-04T00:00:00+05:30",
    ]
