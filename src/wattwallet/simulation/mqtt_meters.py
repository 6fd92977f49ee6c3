"""A fleet of virtual meters behind a simulated HES, speaking docs/hes-mqtt.md to a real broker.

It plays the HES vendor's side, so WattWallet's MQTT link can be exercised end to end without one:
each simulated day every meter publishes its midnight register and the day's 48 half-hours on
`{prefix}/readings/{meter}`; relay commands on `{prefix}/commands/+` are acknowledged
(`accepted` at once, then `executed` with the relay's position, or `failed` at the fail rate,
after a random delay) and followed by a relay report; an open relay stops the meter's consumption.

A command_id is an idempotency key (§3.1): a command seen before is answered with its first
outcome and never executed twice. One case is a new attempt, as the protocol says a failure is
final only "for this delivery": WattWallet's retry of a command that failed here comes with a new
`issued_at`, and is tried again.

Deterministic for a seed: consumption per meter and day, and each command's delay and outcome (by
its command_id), do not depend on timing or on the order messages arrive in.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import heapq
import logging
import random
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from wattwallet.domain import clock
from wattwallet.simulation import consumption, meters, population
from wattwallet.store import db, schema

log = logging.getLogger("wattwallet.simulation.mqtt")

FAILURE_DETAIL = "meter not reachable over RF mesh"
EXPIRED = "expired"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass(frozen=True)
class FleetSettings:
    broker_url: str = "mqtt://127.0.0.1:1883"
    prefix: str = "wattwallet/hes"
    start: dt.date | None = None  # the first day reported; None: so that the last ends today
    days: int = 1
    interval_seconds: float = 1.0  # real time between two simulated days
    fail_rate: float = 0.02
    max_delay_seconds: float = 2.0
    seed: int = 1
    client_id: str = "wattwallet-meter-simulator"
    # Acks and relay reports timed by the command (its issued_at plus the delay) rather than by the
    # wall clock: for a WattWallet on a simulated clock (`wattwallet demo --broker`).
    command_clock: bool = False

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.broker_url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
            raise ValueError(f"the broker must look like mqtt://host:1883, got {self.broker_url!r}")
        if not 0 <= self.fail_rate <= 1:
            raise ValueError(f"the fail rate is between 0 and 1, got {self.fail_rate}")
        if self.max_delay_seconds < 0 or self.interval_seconds < 0 or self.days < 0:
            raise ValueError("delays, intervals and days are not negative")
        if not self.prefix.strip("/") or any(c in self.prefix for c in "+#"):
            raise ValueError(f"the topic prefix must be a plain topic path, got {self.prefix!r}")

    def first_day(self, *, today: dt.date) -> dt.date:
        return self.start or today - dt.timedelta(days=self.days)


def numbered(*, count: int, prefix: str, first: int, seed: int, digits: int = 6) -> list[meters.VirtualMeter]:
    """Meters `{prefix}{first:06d}` onwards (as `wattwallet demo` numbers them), mostly homes."""
    found = []
    for number in range(first, first + count):
        serial = f"{prefix}{number:0{digits}d}"
        rng = random.Random(f"{seed}/meter/{serial}")
        kind = consumption.SHOP if rng.random() < population.SHOP_SHARE else consumption.HOME
        profile = population.profile_for(kind=kind, rng=rng)
        found.append(meters.VirtualMeter(serial, profile, rng.randrange(1_000_000, 30_000_000)))
    return found


def from_store(store: db.Store, *, count: int, seed: int) -> tuple[list[meters.VirtualMeter], dt.date | None]:
    """The first `count` meters the DISCOM registered (by serial), each continuing from the register
    WattWallet last read and drawing what its category and sanctioned load suggest; and the day
    after the newest reading among them (the first day still to report)."""
    m, c, s = schema.meters, schema.connections, schema.prepaid_state
    with store.read() as conn:
        rows = conn.execute(
            sa.select(
                m.c.serial,
                m.c.relay,
                c.c.category,
                c.c.sanctioned_load_w,
                s.c.last_register_wh,
                s.c.last_read_date,
            )
            .select_from(
                m.join(c, c.c.service_no == m.c.service_no).join(s, s.c.service_no == m.c.service_no)
            )
            .where(c.c.state != "terminated")
            .order_by(m.c.serial)
            .limit(count)
        ).all()
    found = []
    for row in rows:
        rng = random.Random(f"{seed}/meter/{row.serial}")
        profile = population.profile_for(
            kind=population.kind_of(row.category), rng=rng, load_w=row.sanctioned_load_w
        )
        found.append(meters.VirtualMeter(row.serial, profile, row.last_register_wh, row.relay))
    newest = max((row.last_read_date for row in rows), default=None)
    return found, newest


@dataclasses.dataclass
class _Command:
    command_id: str
    meter: str
    action: str
    issued_at: str
    not_after: dt.datetime | None
    issued: dt.datetime  # issued_at, parsed
    delay: float  # seconds before it is carried out
    acks: list[bytes] = dataclasses.field(default_factory=list)  # as published, for repeats
    outcome: str | None = None  # executed | failed, once decided


class MeterFleet:
    """The fleet and its HES connection. `start()`, then `publish_day()` per simulated day (or
    `run()`), then `stop()`."""

    def __init__(
        self,
        fleet: Sequence[meters.VirtualMeter],
        *,
        settings: FleetSettings,
        clock_now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.meters = {meter.serial: meter for meter in fleet}
        self.clock_now = clock_now
        self.day = settings.first_day(today=clock.ist_date(clock_now()))
        self._lock = threading.Lock()
        self._commands: dict[str, _Command] = {}
        self._due: list[tuple[float, int, str]] = []  # (monotonic time, tie-break, command_id)
        self._wake = threading.Condition(self._lock)
        self._changes: dict[str, list[tuple[float, str]]] = collections.defaultdict(list)
        self._day_started = time.monotonic()
        self._counts: collections.Counter[str] = collections.Counter()
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None
        self._sequence = 0
        self.client = self._client()

    # --- life --------------------------------------------------------------------------------

    def _client(self) -> mqtt.Client:
        parts = urllib.parse.urlsplit(self.settings.broker_url)
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.settings.client_id, protocol=mqtt.MQTTv5
        )
        if parts.username:
            client.username_pw_set(urllib.parse.unquote(parts.username), parts.password)
        if parts.scheme in ("mqtts", "ssl"):
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.max_queued_messages_set(0)
        return client

    def start(self, *, timeout: float = 10.0) -> None:
        """Connect, subscribe to the commands, and start answering them. TimeoutError if the broker
        does not let us in within `timeout` seconds."""
        parts = urllib.parse.urlsplit(self.settings.broker_url)
        port = parts.port or (8883 if parts.scheme in ("mqtts", "ssl") else 1883)
        self._worker = threading.Thread(target=self._execute_due, name="meter-relays", daemon=True)
        self._worker.start()
        self.client.connect_async(parts.hostname or "127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if not self._ready.wait(timeout):
            self.stop()
            raise TimeoutError(f"the broker at {self.settings.broker_url} did not take us in {timeout} s")
        self._day_started = time.monotonic()

    def stop(self) -> None:
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        if self._worker is not None:
            self._worker.join(5)
        self.client.disconnect()
        self.client.loop_stop()

    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def run(
        self,
        *,
        stop: threading.Event,
        serve_seconds: float | None = None,
        report: Callable[[str], None] = print,
    ) -> None:
        """Publish the configured days, one per interval, then keep answering commands until `stop`
        is set (or `serve_seconds` have passed since the last day)."""
        for index in range(self.settings.days):
            if index and stop.wait(self.settings.interval_seconds):
                return
            published = self.publish_day()
            report(f"{published[0].day if published else self.day}: {len(published)} readings published")
        if serve_seconds is None:
            stop.wait()
        else:
            stop.wait(serve_seconds)

    # --- readings ----------------------------------------------------------------------------

    def publish_day(
        self, *, timeout: float = 30.0, supplied: Mapping[str, Sequence[bool]] | None = None
    ) -> list[meters.DayReading]:
        """Every meter reports the next day: register at its closing midnight, 48 half-hours.
        Slots after the relay opened (in this day's share of real time) draw nothing; `supplied`
        gives the slots instead, for meters on a simulated clock."""
        now = time.monotonic()
        began, span = self._day_started, max(now - self._day_started, 1e-9)
        day_start = dt.datetime.combine(self.day, dt.time(0), tzinfo=clock.IST)
        published, infos = [], []
        with self._lock:
            changes, self._changes = self._changes, collections.defaultdict(list)
            starts = {serial: meter.relay for serial, meter in self.meters.items()}
            for serial, moves in changes.items():
                # The relay's position when the day began: before its first change in the day.
                starts[serial] = meters.CLOSED if moves[0][1] == meters.OPEN else meters.OPEN
        for serial, meter in self.meters.items():
            in_day = [
                (day_start + dt.timedelta(days=min(1.0, (moved - began) / span)), position)
                for moved, position in changes.get(serial, [])
            ]
            mask = (supplied or {}).get(serial) or meters.supply_mask(
                self.day, closed_at_start=starts[serial] == meters.CLOSED, changes=in_day
            )
            reading = meter.read_day(self.day, seed=self.settings.seed, supplied=mask)
            payload = orjson.dumps(reading.payload(prefix=f"SIM{self.settings.seed}"))
            infos.append(self.client.publish(f"{self.settings.prefix}/readings/{serial}", payload, qos=1))
            published.append(reading)
        deadline = time.monotonic() + timeout
        for info in infos:
            info.wait_for_publish(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._counts["readings_published"] += len(published)
            self._counts["days"] += 1
        self.day += dt.timedelta(days=1)
        self._day_started = now
        return published

    # --- commands ----------------------------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if reason.is_failure:
            log.warning("the broker refused the simulated HES: %s", reason)
            return
        client.subscribe([(f"{self.settings.prefix}/commands/+", SubscribeOptions(qos=1))])

    def _on_subscribe(
        self, _client: Any, _userdata: Any, _mid: int, reasons: list[ReasonCode], _props: Any
    ) -> None:
        if not any(reason.is_failure for reason in reasons):
            self._ready.set()

    def _on_message(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        meter = message.topic.rsplit("/", 1)[-1]
        try:
            body = orjson.loads(message.payload)
            command_id, action = str(body["command_id"]), str(body["action"])
            issued_at = str(body["issued_at"])
            issued = dt.datetime.fromisoformat(issued_at)
            not_after = dt.datetime.fromisoformat(body["not_after"]) if body.get("not_after") else None
            if body["meter"] != meter or action not in ("disconnect", "reconnect"):
                raise ValueError(action)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            with self._lock:
                self._counts["commands_malformed"] += 1
            return
        if meter not in self.meters:
            with self._lock:
                self._counts["commands_not_ours"] += 1
            return
        with self._lock:
            known = self._commands.get(command_id)
            retry = known is not None and known.outcome == "failed" and known.issued_at != issued_at
            if known is not None and not retry:
                # Seen before: answer with what it got, execute nothing.
                self._counts["commands_repeated"] += 1
                again = list(known.acks[-1:])
            else:
                self._counts["commands_retried" if retry else "commands"] += 1
                rng = random.Random(f"{self.settings.seed}/command/{command_id}/{issued_at if retry else ''}")
                delay = rng.uniform(0, self.settings.max_delay_seconds)
                command = _Command(command_id, meter, action, issued_at, not_after, issued, delay)
                self._commands[command_id] = command
                accepted = self._ack(command, "accepted", at=issued)
                command.acks.append(accepted)
                again = [accepted]
                self._sequence += 1
                heapq.heappush(self._due, (time.monotonic() + delay, self._sequence, command_id))
                self._wake.notify()
        for payload in again:
            self.client.publish(f"{self.settings.prefix}/acks/{meter}", payload, qos=1)

    def _now(self, *, at: dt.datetime) -> dt.datetime:
        """The time to put on a message: `at` on a command's clock, else the wall clock."""
        return at if self.settings.command_clock else self.clock_now()

    def _ack(self, command: _Command, status: str, *, at: dt.datetime, **fields: Any) -> bytes:
        body = {
            "command_id": command.command_id,
            "meter": command.meter,
            "status": status,
            "at": self._now(at=at).astimezone(clock.IST).isoformat(),
            **fields,
        }
        return orjson.dumps(body)

    def _execute_due(self) -> None:
        """The relays' thread: carry out each command once its delay has passed."""
        while not self._stopping.is_set():
            with self._wake:
                while not self._stopping.is_set() and (not self._due or self._due[0][0] > time.monotonic()):
                    self._wake.wait(None if not self._due else max(0.0, self._due[0][0] - time.monotonic()))
                if self._stopping.is_set():
                    return
                _, _, command_id = heapq.heappop(self._due)
                outgoing = self._carry_out(self._commands[command_id])
            for topic, payload in outgoing:
                self.client.publish(topic, payload, qos=1)

    def _carry_out(self, command: _Command) -> list[tuple[str, bytes]]:
        """Called with the lock held: the outcome, the relay moved, and what to publish."""
        rng = random.Random(f"{self.settings.seed}/command/{command.command_id}/{command.issued_at}/outcome")
        meter = self.meters[command.meter]
        done = command.issued + dt.timedelta(seconds=command.delay)
        now = self._now(at=done)
        acks = f"{self.settings.prefix}/acks/{command.meter}"
        if rng.random() < self.settings.fail_rate:
            command.outcome = "failed"
            self._counts["failed"] += 1
            ack = self._ack(command, "failed", at=done, detail=FAILURE_DETAIL)
        elif command.not_after is not None and now > command.not_after:
            command.outcome = "failed"
            self._counts["expired"] += 1
            ack = self._ack(command, "failed", at=done, detail=EXPIRED)
        else:
            command.outcome = "executed"
            position = meters.OPEN if command.action == "disconnect" else meters.CLOSED
            if meter.relay != position:
                meter.relay = position
                self._changes[meter.serial].append((time.monotonic(), position))
            self._counts["executed"] += 1
            ack = self._ack(command, "executed", at=done, relay=position)
            report = orjson.dumps(
                {
                    "meter": meter.serial,
                    "relay": position,
                    "cause": "command",
                    "at": now.astimezone(clock.IST).isoformat(),
                }
            )
            command.acks.append(ack)
            return [(acks, ack), (f"{self.settings.prefix}/relay/{meter.serial}", report)]
        command.acks.append(ack)
        return [(acks, ack)]
