"""Real processes failing under load, on PostgreSQL: `kill -9` of `wattwallet serve` and `wattwallet
worker` while signed webhooks credit recharges and the daily cycle runs; and every server backend
of the database terminated (pg_terminate_backend) while webhooks come in. Then the same invariants
as the simulator's: every payment credited exactly once, the money conserved, the ledger verified,
every connection billed once for the day.

A restart of the PostgreSQL server itself is not done: the server on this machine is shared with
other test runs at the same time (pytest -n 2, another engineer's), which a restart would break.
Terminating every backend of this test's own database is what a restart does to this engine (all
its connections dropped mid-transaction); the server's own crash recovery is PostgreSQL's to test.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import free_port
from wattwallet import tariffs
from wattwallet.context import Context
from wattwallet.domain import clock, policy, readings
from wattwallet.lifecycle import daily_cycle, ingest
from wattwallet.simulation import invariants, meters, population
from wattwallet.store import db, schema
from wattwallet.wallet import payments

SECRET = "whsec_chaos"
WEBHOOK = "/api/v1/payments/webhook"
WATTWALLET = Path(sys.executable).with_name("wattwallet")

# PostgreSQL only: the conftest's store on that backend (a fresh database, emptied and seeded).
pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


class Fleet:
    """Connections billed up to yesterday with today's midnight readings in, and unpaid intents."""

    def __init__(self, url: str, *, count: int, intents_each: int) -> None:
        self.url = url
        self.now = dt.datetime.now(dt.UTC)
        self.today = clock.ist_date(self.now)
        store = db.Store.from_url(url)
        self.ctx = Context(store=store, tariffs=tariffs.book(tariffs.DEFAULT_DISCOM), policy=policy.Policy())
        yesterday = self.today - dt.timedelta(days=1)
        start = dt.datetime.combine(yesterday, dt.time(0), tzinfo=clock.IST)
        self.people = population.generate(self.ctx, count=count, seed=5, start=yesterday)
        population.register(self.ctx, self.people, now=start)
        messages = []
        for person in self.people:
            day = meters.VirtualMeter(person.meter_serial, person.profile, person.register_wh).read_day(
                yesterday, seed=5
            )
            messages.append(
                ingest.Message(
                    msg_id=day.msg_id(),
                    reading=readings.Reading(day.meter_serial, day.read_at, day.register_wh),
                )
            )
        ingest.ingest(self.ctx, messages, now=self.now)
        rng = random.Random(5)
        self.intents = [
            payments.create_intent(
                self.ctx,
                service_no=person.service_no,
                amount_paise=rng.randrange(1, 6) * 10_000,
                channel="app",
                now=self.now,
                minutes=60,
            )
            for person in self.people
            for _ in range(intents_each)
        ]

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "WATTWALLET_DATABASE_URL": self.url,
            "WATTWALLET_API__GATEWAY_WEBHOOK_SECRET": SECRET,
            "WATTWALLET_API__WEBHOOK_TOLERANCE_SECONDS": "3600",
        }

    def check(self) -> None:
        """Every payment credited exactly once, the money conserved, the ledger whole, and every
        connection billed exactly once for yesterday."""
        outside = invariants.Money(
            online={i.id: i.amount for i in self.intents}, acknowledged={i.id for i in self.intents}
        )
        d = schema.daily_deductions
        with self.ctx.store.read() as conn:
            found = invariants.ledger(conn) + invariants.money(conn, outside)
            billed = dict(
                conn.execute(sa.select(d.c.service_no, sa.func.count()).group_by(d.c.service_no)).all()
            )
        assert found == []
        assert billed == {p.service_no: 1 for p in self.people}

    def close(self) -> None:
        self.ctx.store.dispose()


class Server:
    def __init__(self, fleet: Fleet, *, jobs: bool = True) -> None:
        self.fleet, self.port, self.jobs = fleet, free_port(), jobs
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        command = [str(WATTWALLET), "serve", "--port", str(self.port), "--log-level", "warning"]
        self.process = subprocess.Popen(
            [*command, "--jobs" if self.jobs else "--no-jobs"],
            env=self.fleet.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/api/v1/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail("wattwallet serve did not come up")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


class Gateway:
    """Posts each intent's signed payment.succeeded (a third of them twice) until it gets a 2xx,
    retrying through refused connections, 5xx and timeouts, as a payment gateway does."""

    def __init__(self, fleet: Fleet, base: str) -> None:
        self.fleet, self.base = fleet, base
        self.done = threading.Event()
        self.failures = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        events = []
        for number, intent in enumerate(self.fleet.intents):
            events += [(number, intent)] * (2 if number % 3 == 0 else 1)
        with httpx.Client(base_url=self.base, timeout=5) as client:
            for number, intent in events:
                body = json.dumps(
                    {
                        "event_id": f"evt_chaos_{number}",
                        "type": payments.SUCCEEDED_EVENT,
                        "intent_id": intent.id,
                        "amount_paise": intent.amount,
                        "paid_at": self.fleet.now.isoformat(),
                        "gateway_payment_id": f"pay_chaos_{number}",
                    }
                ).encode()
                while True:
                    header = payments.sign(secret=SECRET, timestamp=int(time.time()), body=body)
                    try:
                        answer = client.post(
                            WEBHOOK,
                            content=body,
                            headers={"X-Gateway-Signature": header, "Content-Type": "application/json"},
                        )
                        if answer.status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    self.failures += 1
                    time.sleep(0.2)
        self.done.set()


def _worker(fleet: Fleet) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(WATTWALLET), "worker"], env=fleet.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def test_kill_9_of_serve_and_worker_loses_and_doubles_nothing(store_url: str) -> None:
    fleet = Fleet(store_url, count=60, intents_each=3)
    server = Server(fleet)
    worker: subprocess.Popen[bytes] | None = None
    try:
        server.start()
        worker = _worker(fleet)  # it runs the day's cycle at once (the latest missed occurrence)
        gateway = Gateway(fleet, server.base)
        gateway.thread.start()
        rng = random.Random(16)
        while not gateway.done.wait(rng.uniform(0.5, 1.5)):
            if rng.random() < 0.5:
                worker.send_signal(signal.SIGKILL)
                worker.wait(timeout=10)
                worker = _worker(fleet)
            server.kill()
            server.start()
        assert server.kills >= 2 and gateway.failures > 0  # the processes really died under load
    finally:
        server.stop()
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=15)
    # A cycle occurrence claimed by a worker that was killed is taken over only after an hour:
    # the operator's `cycle run` (here its call) finishes the day, billing nobody twice.
    daily_cycle.run(fleet.ctx, now=dt.datetime.now(dt.UTC))
    fleet.check()
    fleet.close()


def test_every_backend_terminated_under_load_loses_and_doubles_nothing(store_url: str) -> None:
    fleet = Fleet(store_url, count=40, intents_each=3)
    server = Server(fleet, jobs=False)
    admin = sa.create_engine(store_url, isolation_level="AUTOCOMMIT")
    terminated = 0
    try:
        server.start()
        gateway = Gateway(fleet, server.base)
        gateway.thread.start()
        cycle = threading.Thread(
            target=lambda: daily_cycle.run(fleet.ctx, now=dt.datetime.now(dt.UTC), batch_size=5)
        )
        cycle.start()
        while not gateway.done.wait(0.3):
            with admin.connect() as conn:
                terminated += len(
                    conn.execute(
                        sa.text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    ).all()
                )
        cycle.join(timeout=60)
        assert terminated > 0 and gateway.failures > 0
    finally:
        server.stop()
        admin.dispose()
    # The cycle's own connections were cut too: whatever it could not finish, a re-run finishes.
    fleet.ctx.store.engine.dispose()
    daily_cycle.run(fleet.ctx, now=dt.datetime.now(dt.UTC))
    fleet.check()
    fleet.close()
