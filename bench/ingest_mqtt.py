"""Time reading ingestion through the MQTT link: from the first message published to the last row committed.

    python bench/ingest_mqtt.py --messages 100000 --meters 20000 --db postgresql|sqlite

Builds a throwaway database with N meters (wattwallet.simulation.fleet), starts a Mosquitto of its own on a
free port (unless --broker-url names one), starts the real link (wattwallet.hes.mqtt.link.HesLink,
the code the worker runs) and, in a second process, publishes the messages: a daily register and
its 48 half-hourly values each, the day after the fleet's last reading, meter after meter. The
link writes them as in production (readings, load profiles, meter state; acknowledged to the broker
only once committed). Prints the link's counters and `messages_per_s=<n>` last. The database and
the broker are removed afterwards.

The publisher is a few lines of raw MQTT 3.1.1 (pipelined QoS 1 PUBLISH, PUBACKs counted), not
paho: paho publishes about 6,000 messages a second here, which would measure the publisher. The
broker is configured as docs/hes-mqtt.md asks of a production one (no cap on the messages it
queues for the link's session); a stock Mosquitto drops QoS 1 messages beyond 1,000 queued.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import sqlalchemy as sa

from throwaway import free_port, fresh_database, migrated_context  # bench/, beside this script
from wattwallet.domain import clock
from wattwallet.hes.mqtt import link as hes_link
from wattwallet.hes.mqtt import settings as hes_settings
from wattwallet.simulation import fleet
from wattwallet.store import db, schema

TODAY = dt.date(2025, 7, 1)  # the fleet's last reading is on this day, 00:15 IST
PREFIX = "bench/hes"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--meters", type=int, default=20_000)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--batch", type=int, default=hes_settings.HesSettings().batch_size)
    parser.add_argument("--broker-url", default=None, help="an existing broker (default: a private one)")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds")
    parser.add_argument(
        "--publish", nargs=5, metavar=("HOST", "PORT", "MESSAGES", "METERS", "FIRST"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.publish:
        host, port, messages, meters, first = args.publish
        publish(host, int(port), int(messages), int(meters), int(first))
        return

    url, drop = fresh_database(args.db)
    broker, stop_broker = (
        (args.broker_url, lambda: None) if args.broker_url else private_broker(args.messages)
    )
    try:
        ctx = migrated_context(url)
        store = ctx.store
        started = time.perf_counter()
        fleet.build(ctx, fleet.Spec(connections=args.meters, today=TODAY, days=2))
        print(f"built {args.meters} meters in {time.perf_counter() - started:.1f}s", flush=True)
        days = -(-args.messages // args.meters)
        now = dt.datetime.combine(TODAY + dt.timedelta(days=days + 1), dt.time(1), tzinfo=clock.IST)
        config = hes_settings.HesSettings(
            broker_url=broker,
            topic_prefix=PREFIX,
            client_id=f"bench-{uuid.uuid4().hex[:8]}",
            session_expiry_seconds=60,
            batch_size=args.batch,
        )
        link = hes_link.HesLink(settings=config, rules=ctx.policy, clock=lambda: now)
        link.start(ctx)
        if not link.wait_ready(10):
            raise SystemExit("the link did not connect to the broker")
        before = count(store, schema.meter_readings)
        parts = broker.split("//", 1)[1].rsplit(":", 1)
        publisher = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--publish",
                parts[0],
                parts[1],
                str(args.messages),
                str(args.meters),
                "1",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert publisher.stdout is not None
        first_publish = float(publisher.stdout.readline().split("=", 1)[1])
        deadline = time.monotonic() + args.timeout
        progress, moved = 0, time.monotonic()
        while (done := taken(link)) < args.messages:
            now_s = time.monotonic()
            if done != progress:
                progress, moved = done, now_s
            if now_s > deadline or now_s - moved > 30:
                raise SystemExit(
                    f"stalled at {done} of {args.messages} messages (a broker that caps queued messages "
                    f"drops the rest: see docs/hes-mqtt.md); link: {link.stats()}"
                )
            time.sleep(0.01)
        elapsed = link.last_commit - first_publish
        print(publisher.stdout.read().strip(), flush=True)
        publisher.wait(30)
        link.stop()
        stored = count(store, schema.meter_readings) - before
        profiles = count(store, schema.meter_load_profiles)
        print(f"link: {dict(sorted(link.stats().items()))}")
        print(f"stored {stored} readings and {profiles} load profiles on {args.db}, batches of {args.batch}")
        if stored != args.messages or profiles != args.messages:
            raise SystemExit("not every message was stored")
        store.dispose()
        print(f"{args.messages} messages in {elapsed:.2f}s from the first publish to the last commit")
        print(f"messages_per_s={args.messages / elapsed:.0f}")
    finally:
        stop_broker()
        drop()


def taken(link: hes_link.HesLink) -> int:
    stats = link.stats()
    return sum(stats.get(f"reading_{status}", 0) for status in ("stored", "duplicate", "refused"))


def count(store: db.Store, table: sa.Table) -> int:
    with store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def private_broker(messages: int) -> tuple[str, Callable[[], None]]:
    folder = Path(tempfile.mkdtemp(prefix="ww-bench-mqtt-"))
    port = free_port()
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        f"max_queued_messages {messages + 1_000}\n"
    )
    process = subprocess.Popen(
        [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)

    def stop() -> None:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)

    return f"mqtt://127.0.0.1:{port}", stop


# -- the publisher (its own process) --------------------------------------------------------------


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (128 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def messages(total: int, meters: int, first_day: int) -> Iterator[tuple[str, bytes]]:
    """A day's register and profile per meter, meter after meter, day after day."""
    profile = [208] * 47 + [224]  # 10 kWh a day
    for i in range(total):
        meter, day = i % meters, first_day + i // meters
        serial = f"SM{fleet.Spec(0, TODAY).first_service_no + meter}"
        read_at = dt.datetime.combine(TODAY + dt.timedelta(days=day), dt.time(0, 15), tzinfo=clock.IST)
        body = {
            "msg_id": f"B{i:09d}",
            "meter": serial,
            "read_at": read_at.isoformat(),
            "register_wh": 10_000_000 + day * 10_000,
            "profile_wh": profile,
        }
        yield f"{PREFIX}/readings/{serial}", orjson.dumps(body)


def publish(host: str, port: int, total: int, meters: int, first_day: int) -> None:
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    variable = _string("MQTT") + bytes([4, 2]) + struct.pack("!H", 60)  # 3.1.1, clean session
    client_id = _string(f"bench-publisher-{os.getpid()}")
    sock.sendall(bytes([0x10]) + _length(len(variable) + len(client_id)) + variable + client_id)
    if sock.recv(4)[:2] != b"\x20\x02":
        raise SystemExit("the broker refused the publisher")
    # QoS 1 PUBLISH: fixed header and topic, then the packet id, then the payload.
    packets = [
        (bytes([0x32]) + _length(len(_string(topic)) + 2 + len(payload)) + _string(topic), payload)
        for topic, payload in messages(total, meters, first_day)
    ]
    window, acked, pending = 20_000, 0, b""
    started = time.monotonic()
    print(f"first_publish={started}", flush=True)
    chunk = bytearray()
    for i, (head, payload) in enumerate(packets):
        chunk += head + struct.pack("!H", i % 65_535 + 1) + payload
        if len(chunk) >= 64 * 1024 or i == total - 1:
            sock.sendall(chunk)
            chunk = bytearray()
            while i + 1 - acked > window or (i == total - 1 and acked < total):
                pending += sock.recv(65_536)  # PUBACKs: 4 bytes each
                acked += len(pending) // 4
                pending = pending[len(pending) // 4 * 4 :]
    sock.close()
    print(f"publisher: {total} messages in {time.monotonic() - started:.2f}s", flush=True)


if __name__ == "__main__":
    main()
