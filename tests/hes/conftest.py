"""Fixtures for the MQTT link: a real Mosquitto, a stand-in HES speaking the protocol, a clock.

The shared broker is 127.0.0.1:1883 (WATTWALLET_TEST_MQTT_URL); each test takes topics and client
ids of its own, so tests run in parallel. Unreachable, it skips the tests (fails them under
CI=true), as tests/conftest.py does for PostgreSQL. `private_broker` starts a Mosquitto of the
test's own on a free port, for tests that stop and restart it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.conftest import IN_CI, NOW, free_port
from wattwallet.context import Context
from wattwallet.hes.mqtt import link as hes_link
from wattwallet.hes.mqtt import settings as hes_settings

MQTT_URL = "mqtt://127.0.0.1:1883"
WAIT = 10.0  # seconds: generous, as a loaded CI machine needs; tests finish as soon as they can


def _reachable(url: str) -> str | None:
    parts = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 1883), timeout=2):
            return None
    except OSError as exc:
        return str(exc)


def _need(url: str, what: str) -> None:
    problem = _reachable(url)
    if problem:
        message = f"{what} is not reachable at {url}: {problem}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def broker_url() -> str:
    url = os.environ.get("WATTWALLET_TEST_MQTT_URL", MQTT_URL)
    _need(url, "the MQTT broker (Mosquitto)")
    return url


class PrivateBroker:
    """A Mosquitto of the test's own, to stop and start at will."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n"
            # Sessions survive a restart, as on a production broker; `user root` keeps a broker
            # started as root from switching to a user that cannot write the test's folder.
            f"persistence true\npersistence_location {folder}/\nuser root\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen(
            [binary, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + WAIT
        while _reachable(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the private mosquitto did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(WAIT)
        self.process = None


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        message = "the mosquitto binary is not installed"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    broker = PrivateBroker(tmp_path)
    broker.start()
    yield broker
    broker.stop()


class Clock:
    """The link's clock, moved by the test."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def link_clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def prefix() -> str:
    return f"wwtest/{uuid.uuid4().hex[:12]}"


def settings_for(url: str, prefix: str, **overrides: Any) -> hes_settings.HesSettings:
    values: dict[str, Any] = {
        "broker_url": url,
        "topic_prefix": prefix,
        "client_id": f"ww-{prefix.rsplit('/', 1)[-1]}",
        "session_expiry_seconds": 120,  # the shared broker forgets our test sessions soon
        "batch_size": 500,
        "flush_interval_seconds": 0.05,
        "send_timeout_seconds": 2.0,
    }
    return hes_settings.HesSettings(**(values | overrides))


@dataclasses.dataclass
class Running:
    link: hes_link.HesLink
    ctx: Context  # with the link as its head end


StartLink = Callable[..., Running]


@pytest.fixture
def start_link(ctx: Context, broker_url: str, prefix: str, link_clock: Clock) -> Iterator[StartLink]:
    """Start a consuming link on `ctx` (keyword arguments override its settings)."""
    started: list[hes_link.HesLink] = []

    def start(url: str | None = None, **overrides: Any) -> Running:
        config = settings_for(url or broker_url, prefix, **overrides)
        link = hes_link.HesLink(settings=config, rules=ctx.policy, clock=link_clock)
        linked = link.attach(ctx)
        link.start(linked)
        started.append(link)
        assert link.wait_ready(WAIT), "the link did not connect and subscribe"
        return Running(link, linked)

    yield start
    for link in started:
        link.stop()


class FakeHes:
    """The HES end of the protocol: receives commands, publishes acks, relay reports and readings."""

    def __init__(self, url: str, prefix: str, *, persistent: bool = False) -> None:
        self.prefix = prefix
        self.commands: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        parts = urllib.parse.urlsplit(url)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"fake-hes-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        properties = None
        if persistent:  # a session the broker keeps while we are away (and across its restarts)
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 300
        self.client.connect_async(
            parts.hostname or "127.0.0.1",
            parts.port or 1883,
            clean_start=not persistent,
            properties=properties,
        )
        self.client.loop_start()
        assert self._ready.wait(WAIT), "the fake HES did not subscribe"

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe(f"{self.prefix}/commands/+", qos=1)

    def _on_message(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        body = orjson.loads(message.payload)
        body["_topic"] = message.topic
        with self._lock:
            self.commands.append(body)

    def wait_for_commands(self, count: int, timeout: float = WAIT) -> list[dict[str, Any]]:
        wait_for(lambda: len(self.commands) >= count, timeout, f"{count} command(s) at the fake HES")
        with self._lock:
            return list(self.commands)

    def publish(self, kind: str, meter: str, body: dict[str, Any] | bytes) -> None:
        payload = body if isinstance(body, bytes) else orjson.dumps(body)
        info = self.client.publish(f"{self.prefix}/{kind}/{meter}", payload, qos=1)
        info.wait_for_publish(WAIT)

    def ack(self, command: dict[str, Any], status: str, *, at: dt.datetime, relay: str | None = None) -> None:
        body: dict[str, Any] = {
            "command_id": command["command_id"],
            "meter": command["meter"],
            "status": status,
            "at": at.isoformat(),
        }
        if relay is not None:
            body["relay"] = relay
        self.publish("acks", command["meter"], body)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def fake_hes(broker_url: str, prefix: str) -> Iterator[FakeHes]:
    hes = FakeHes(broker_url, prefix)
    yield hes
    hes.close()


def wait_for(condition: Callable[[], object], timeout: float = WAIT, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def settled(link: hes_link.HesLink, key: str, count: int) -> Callable[[], bool]:
    return lambda: link.stats().get(key, 0) >= count
