"""From a confirmed payment to the relay closed: the gateway's webhook → `wattwallet serve` → the
reconnect over MQTT → a simulated meter closes its relay and reports it.

    python bench/reconnect_latency.py [--db postgresql|sqlite] [--reconnects 200] [--rate 20]
        [--broker mqtt://127.0.0.1:1883]

Builds a throwaway database with N disconnected prepaid connections (relays open) and a payment
intent each, starts virtual meters on the broker (wattwallet.simulation, acting as the HES with no
added delay) and a real `wattwallet serve` with its HES link on the same broker, then sends the
gateway's signed webhooks at `--rate` per second and times each from the moment the webhook is
sent until the meter's relay report (closed) arrives. The regulation allows 15 minutes. Prints
`p99_ms=<n>` last.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import recharge_http as rh
from throwaway import fresh_database, migrated_context  # bench/, beside this script
from wattwallet.domain import clock
from wattwallet.simulation import consumption, fleet, meters, mqtt_meters
from wattwallet.wallet import payments

AMOUNT = 50_000  # ₹500: enough to lift any bench wallet above zero
HOME = consumption.Profile(kind="home", size="medium", daily_wh=8_000, ac_w=0, load_w=2_000)


class RelayWatch:
    """Subscribes to the relay reports and notes when each meter first reports its relay closed."""

    def __init__(self, url: str, prefix: str) -> None:
        self.closed_at: dict[str, float] = {}
        self._lock = threading.Lock()
        ready = threading.Event()
        parts = urllib.parse.urlsplit(url)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-watch-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        self.client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/relay/+", qos=1)
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        self.client.loop_start()
        if not ready.wait(10):
            raise SystemExit("could not subscribe to the relay reports")

    def _on_message(self, _client: object, _userdata: object, message: mqtt.MQTTMessage) -> None:
        arrived = time.perf_counter()
        body = json.loads(message.payload)
        if body.get("relay") == "closed":
            with self._lock:
                self.closed_at.setdefault(str(body.get("meter")), arrived)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--reconnects", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="webhooks per second")
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    args = parser.parse_args()
    url, drop = fresh_database(args.db)
    try:
        run(args, url)
    finally:
        drop()


def run(args: argparse.Namespace, url: str) -> None:
    ctx = migrated_context(url)
    store = ctx.store
    now = dt.datetime.now(dt.UTC)
    spec = fleet.Spec(connections=args.reconnects, today=clock.ist_date(now), days=2)
    fleet.build(ctx, spec)
    numbers = fleet.service_numbers(spec)
    rh._disconnect(ctx, numbers, now=now)
    intents = [
        payments.create_intent(ctx, service_no=sn, amount_paise=AMOUNT, channel="app", now=now, minutes=30)
        for sn in numbers
    ]
    store.dispose()

    prefix = f"wattwallet-bench/{uuid.uuid4().hex[:8]}"
    virtual = [meters.VirtualMeter(f"SM{sn}", HOME, relay=meters.OPEN) for sn in numbers]
    settings = mqtt_meters.FleetSettings(
        broker_url=args.broker,
        prefix=prefix,
        days=0,
        interval_seconds=0,
        fail_rate=0.0,
        max_delay_seconds=0.0,
        client_id=f"bench-meters-{uuid.uuid4().hex[:8]}",
    )
    simulation = mqtt_meters.MeterFleet(virtual, settings=settings)
    simulation.start(timeout=10)
    watch = RelayWatch(args.broker, prefix)
    os.environ.update(
        {
            "WATTWALLET_HES__BROKER_URL": args.broker,
            "WATTWALLET_HES__TOPIC_PREFIX": prefix,
            "WATTWALLET_HES__CLIENT_ID": f"bench-ww-{uuid.uuid4().hex[:8]}",
        }
    )
    sent_at: dict[str, float] = {}
    try:
        with rh.serve(url, workers=1) as (base, _pid), httpx.Client(base_url=base, timeout=30) as client:
            time.sleep(1.0)  # the link subscribes just after the server answers
            gap = 1.0 / args.rate
            for n, intent in enumerate(intents):
                body = json.dumps(
                    {
                        "event_id": f"evt_bench_{n}",
                        "type": "payment.succeeded",
                        "intent_id": intent.id,
                        "amount_paise": AMOUNT,
                        "paid_at": dt.datetime.now(dt.UTC).isoformat(),
                        "gateway_payment_id": f"pay_bench_{n}",
                    }
                ).encode()
                signature = payments.sign(
                    secret=rh.BENCH_WEBHOOK_SECRET, timestamp=int(time.time()), body=body
                )
                sent_at[f"SM{intent.service_no}"] = time.perf_counter()
                answer = client.post(
                    "/api/v1/payments/webhook",
                    content=body,
                    headers={"Content-Type": "application/json", "X-Gateway-Signature": signature},
                )
                if answer.status_code != 200:
                    raise SystemExit(f"webhook answered {answer.status_code}: {answer.text[:300]}")
                time.sleep(max(0.0, gap - (time.perf_counter() - sent_at[f"SM{intent.service_no}"])))
            deadline = time.monotonic() + 60
            while len(watch.closed_at) < len(sent_at) and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        watch.stop()
        simulation.stop()

    latencies = sorted((watch.closed_at[m] - sent_at[m]) * 1000 for m in sent_at if m in watch.closed_at)
    missing = len(sent_at) - len(latencies)
    if not latencies:
        raise SystemExit("no relay closed")

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, round(p / 100 * (len(latencies) - 1)))]

    print(
        f"{len(latencies)} of {len(sent_at)} relays closed ({args.db}, {args.rate:g} webhooks/s); webhook to "
        f"relay closed, ms: p50 {pct(50):.0f}  p90 {pct(90):.0f}  p99 {pct(99):.0f}  max {latencies[-1]:.0f}"
    )
    if missing:
        print(f"NOT CLOSED within 60 s: {missing}", file=sys.stderr)
    print(f"p99_ms={pct(99):.0f}")
    if missing:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
