"""`wattwallet simulate run`: the real engine on a simulated clock, driven by one seeded schedule of
consumer behaviour and faults, with the rules checked throughout (simulation.invariants).

Every scheduled job runs at its production time (schedule.next_due / schedule.run, as a worker
does); meters report at midnight through the HES batch ingest; consumers recharge by habit, online
through a payment intent and the gateway's signed webhook, or in cash through an outlet, a kiosk or
the counter; messages go through the real dispatcher and channel adapters to simulated gateways.

Each engine call may meet a fault: the process dies (faults.Crash) between statements, mid-batch or
after a commit before the caller hears; the database fails a statement. The process then
"restarts": the context is built again from the database alone, nothing in memory kept, and the
work is done again as production would (a worker re-runs its job, a gateway re-delivers its
webhook, an agent retries under the same reference). Same seed and same code: the same trace.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import gc
import heapq
import json
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import SecretStr

from wattwallet import tariffs
from wattwallet.consumers import registration
from wattwallet.context import Context
from wattwallet.domain import clock, errors, policy, readings
from wattwallet.hes.mqtt import protocol
from wattwallet.hes.mqtt import relay as relay_reports
from wattwallet.jobs import schedule
from wattwallet.ledger import accounts
from wattwallet.lifecycle import ingest
from wattwallet.messaging import channels as channel_adapters
from wattwallet.messaging import deliveries, dispatcher
from wattwallet.messaging.channels import settings as channel_settings
from wattwallet.simulation import demo, edges, faults, habits, invariants, meters, planted, population, report
from wattwallet.store import db, migrate, schema
from wattwallet.wallet import agents, counter, payments

T = TypeVar("T")
DEFAULT_START = dt.date(2025, 5, 5)  # a Monday; 10 May a second Saturday
WEBHOOK_SECRET = "whsec_simulation"
FORGER_SECRET = "whsec_guessed"
GATEWAY_URL = "http://gateway.simulation"
TOLERANCE_SECONDS = 300
WEBHOOK_RETRIES = (60, 300, 1800, 7200, 21600)  # the payment gateway's re-deliveries, seconds
MAX_ATTEMPTS = 6  # an engine call is tried this often; the last tries with faults off
TRACE_TAIL = 12
RETRY_FAILED_JOB = dt.timedelta(hours=1)  # a failed clock job is claimed again (the runner: 5 minutes)
Progress = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class Spec:
    seed: int
    connections: int
    days: int
    profile: faults.Profile
    url: str
    start: dt.date = DEFAULT_START
    plant: str | None = None  # a bug planted on purpose (simulation.planted; tests only)

    def replay(self, database: str | None) -> str:
        extra = f" --db {database}" if database else ""
        return (
            f"wattwallet simulate run --seed {self.seed} --connections {self.connections} "
            f"--days {self.days} --faults {self.profile.name}{extra}"
        )


def run(spec: Spec, *, database_option: str | None = None, progress: Progress | None = None) -> report.Report:
    """Simulate `spec` on a migrated, empty database at `spec.url` and report what was checked."""
    started = time.perf_counter()
    world = World(spec, progress or (lambda _: None))
    world.result.replay = spec.replay(database_option)
    try:
        with planted.planted(spec.plant):
            world.live()
    finally:
        world.close()
    world.result.faults.update(world.injector.injected)
    world.result.seconds = time.perf_counter() - started
    return world.result


@dataclasses.dataclass
class _Payment:
    number: int
    service_no: str
    intent_id: str
    amount: int
    paid_at: dt.datetime
    event_id: str
    attempt: int = 0


class World:
    """The engine's process (rebuilt at every restart) and the world around it (never rebuilt)."""

    def __init__(self, spec: Spec, progress: Progress) -> None:
        self.spec, self.progress = spec, progress
        self.injector = faults.Injector(spec.seed, spec.profile)
        self.rng = self.injector.rng
        self.head_end = edges.FaultyHeadEnd(self.injector)
        self.gateways = edges.MessageGateways(self.injector)
        self.outside = invariants.Money()
        self.result = report.Report(
            seed=spec.seed,
            connections=spec.connections,
            days=spec.days,
            profile=spec.profile.name,
            database=spec.url.split(":", 1)[0],
            replay="",
        )
        self.clock = dt.datetime.combine(spec.start, dt.time(0), tzinfo=clock.IST)
        self.agenda: list[tuple[dt.datetime, int, str, Any]] = []
        self.sequence = 0
        self.silent_until: dict[str, dt.date] = {}
        self.checked_recharges: set[int] = set()
        self.sends_checked = 0
        self.settings = channel_settings.DeliverySettings(
            sms=channel_settings.SmsGatewaySettings(base_url=GATEWAY_URL, api_key=SecretStr("k")),
            whatsapp=channel_settings.WhatsAppSettings(
                base_url=GATEWAY_URL, phone_number_id="1", access_token=SecretStr("t")
            ),
            push=channel_settings.PushSettings(base_url=GATEWAY_URL, api_key=SecretStr("k")),
            sending_lease_seconds=300,
        )
        self.retry = deliveries.Retry.of(self.settings)
        self.ctx = self._open()
        self.channels = channel_adapters.build(self.settings, transport=self.gateways.transport())
        self.people = population.generate(self.ctx, count=spec.connections, seed=spec.seed, start=spec.start)
        self.meters = {
            p.service_no: meters.VirtualMeter(p.meter_serial, p.profile, p.register_wh) for p in self.people
        }
        self.person = {p.service_no: p for p in self.people}
        self.retail: agents.Agent | None = None
        self.kiosk: agents.Agent | None = None

    # --- the engine's process ----------------------------------------------------------------

    def _open(self) -> Context:
        store = db.Store.from_url(self.spec.url)
        faults.install(store.engine, self.injector)
        self.sockets: list[Any] = []  # the process's own database connections, as the OS sees them
        sa.event.listen(store.engine, "connect", self._connected)
        return Context(
            store=store,
            tariffs=tariffs.book(tariffs.DEFAULT_DISCOM),
            policy=policy.Policy(),
            head_end=self.head_end,
        )

    def _connected(self, raw: Any, _record: Any) -> None:
        self.sockets.append(raw)
        if self.spec.url.startswith("sqlite"):  # one process: a wait for the lock is a lock leaked
            raw.execute("PRAGMA busy_timeout=2000")

    def restart(self, why: str) -> None:
        """The process died: whatever it held in memory is gone; a new one opens the database."""
        self.note(f"restart after {why}")
        self.result.events["restart"] += 1
        # A dead process's connections close with it, and its locks go: here the dead frames'
        # cursors are collected first (SQLite keeps a closed connection with live statements,
        # and its lock, until they are), then every connection it had is closed.
        gc.collect(1)
        for raw in self.sockets:
            try:
                raw.rollback()  # the server's side of a dropped session: its transaction undone
                raw.close()
            except Exception:
                pass
        self.ctx.store.dispose()
        self.ctx = self._open()

    def close(self) -> None:
        channel_adapters.close_all(self.channels)
        self.ctx.store.dispose()

    def call(self, name: str, work: Callable[[], T]) -> T:
        """One engine call under faults, done again after a death or a database failure as the
        caller would (a worker re-runs the job, a gateway re-delivers, an agent retries); the last
        try is made with faults off, so that every run gets through. Rule refusals pass through."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.injector.armed, died = attempt < MAX_ATTEMPTS, ""
            try:
                done = work()
                if self.injector.armed and self.injector.roll("crash_after_commit"):
                    raise faults.Crash("process died after commit, before the acknowledgement")
                return done
            except faults.Crash as crash:
                if attempt == MAX_ATTEMPTS:
                    raise
                died = f"{name}: {crash}"
                traceback.clear_frames(crash.__traceback__)  # the dead frames let go of their cursors
            except sa.exc.DBAPIError as exc:
                if attempt == MAX_ATTEMPTS:
                    raise
                self.note(f"{name}: database error {type(exc.orig).__name__}, tried again")
                self.result.events["db_error_retried"] += 1
            except errors.WattWalletError:  # a rule's refusal: the caller's to answer
                raise
            except Exception as exc:  # an engine bug: on the report with its trace; the run stops
                self.violation("engine_error", f"{name} raised {exc!r}", detail=traceback.format_exc(limit=4))
                raise
            finally:
                self.injector.armed = False
            if died:
                self.restart(died)
        raise AssertionError("unreachable: the last attempt runs with faults off")

    # --- the trace, violations ---------------------------------------------------------------

    def note(self, line: str) -> None:
        self.result.trace.append(f"{clock.ist_iso(self.clock)} {line}")

    def violation(self, check: str, message: str, *, detail: str = "") -> None:
        tail = tuple(self.result.trace[-TRACE_TAIL:]) + ((detail,) if detail else ())
        self.result.violations.append(report.Violation(check, clock.ist_iso(self.clock), message, tail))
        self.note(f"VIOLATION {check}: {message}")

    def check(self, name: str, found: list[str]) -> None:
        self.result.checks[name] += 1
        for message in found:
            self.violation(name, message)

    # --- the days ----------------------------------------------------------------------------

    def live(self) -> None:
        start = self.clock
        with self.ctx.store.write() as conn:
            accounts.ensure_system_accounts(conn, now=start)
        population.register(self.ctx, self.people, now=start)
        limit = 10**12
        self.retail = agents.create(
            self.ctx, name="sim retail", kind_name="retail", daily_limit_paise=limit, now=start
        ).agent
        self.kiosk = agents.create(
            self.ctx, name="sim kiosk", kind_name="kiosk", daily_limit_paise=limit, now=start
        ).agent
        self.result.events["connections_registered"] = len(self.people)
        for index in range(self.spec.days):
            day = self.spec.start + dt.timedelta(days=index)
            midnight = _at(day, dt.time(0))
            if index:
                self.read(day - dt.timedelta(days=1), at=midnight)
            self.morning_faults(day)
            for hour in range(1, 24):
                self.plan(_at(day, dt.time(hour)), "deliver", None)
            self.advance(until=_at(day, dt.time(7)))
            self.decide(day, (habits.Habit.EARLY, habits.Habit.AFTER_ZERO_ALERT))
            self.advance(until=_at(day, dt.time(13, 30)))
            self.decide(day, (habits.Habit.AFTER_DISCONNECTION,))
            self.advance(until=midnight + dt.timedelta(days=1))
            self.check_all()
            self.progress(f"day {index + 1} of {self.spec.days} ({day}) done")
        self.recover()

    def recover(self) -> None:
        """The gateways and the head end come back for good; staff send the dead letters again;
        a day later every statutory message must have been delivered exactly once."""
        end = self.clock
        self.gateways.recovering = True
        self.head_end.outage_until = None
        self.note("gateways recovered")
        for dead in deliveries.dead_letters(self.ctx, limit=100_000):
            deliveries.send_again(self.ctx, delivery_id=dead.id, by="sim.staff", now=end)
            self.result.events["dead_letter_sent_again"] += 1
        for hour in range(1, 25):
            self.plan(end + dt.timedelta(hours=hour), "deliver", None)
        self.advance(until=end + dt.timedelta(days=1))
        self.check_all()
        with self.ctx.store.read() as conn:
            self.check("messages_delivered_once", invariants.messages(conn, self.gateways.received))
            states = sorted(
                (r.service_no, r.state)
                for r in conn.execute(sa.select(schema.connections.c.service_no, schema.connections.c.state))
            )
            balances = sorted(
                (r.code, int(r.balance or 0))
                for r in conn.execute(
                    sa.select(schema.ledger_accounts.c.code, schema.ledger_accounts.c.balance)
                )
            )
        self.result.trace.append(json.dumps({"states": states, "balances": balances}))

    def morning_faults(self, day: dt.date) -> None:
        start = _at(day, dt.time(0))
        if self.injector.roll("hes_outage_per_day"):
            hours = self.rng.randrange(2, 30)
            self.head_end.start_outage(now=start + dt.timedelta(hours=self.rng.randrange(0, 24)), hours=hours)
            self.note(f"head end down for {hours} h")
        for path in ("sms", "messages", "push"):
            if self.injector.roll("gateway_outage_per_day"):
                hours = self.rng.randrange(1, 12)
                self.gateways.start_outage(
                    path, now=start + dt.timedelta(hours=self.rng.randrange(0, 24)), hours=hours
                )
                self.note(f"{path} gateway down for {hours} h")
        for person in self.people:
            if self.injector.roll("language_switch"):
                language = "en" if person.language == "te" else "te"
                self.plan(
                    _at(day, dt.time(self.rng.randrange(8, 22))), "language", (person.service_no, language)
                )

    def plan(self, at: dt.datetime, kind: str, payload: Any) -> None:
        self.sequence += 1
        heapq.heappush(self.agenda, (at, self.sequence, kind, payload))

    def advance(self, *, until: dt.datetime) -> None:
        while self.agenda and self.agenda[0][0] <= until:
            at, _, kind, payload = heapq.heappop(self.agenda)
            self.jobs(until=at)
            self.result.events[kind] += 1
            getattr(self, f"do_{kind}")(at, payload)
        self.jobs(until=until)

    def jobs(self, *, until: dt.datetime) -> None:
        """Every job due up to `until`, at its time (schedule.run_until's walk, one call a job)."""
        repeats = 0
        while True:
            due = self.call("next_due", lambda: schedule.next_due(self.ctx, after=self.clock))
            if due is None or due.at > until:
                break
            repeats = repeats + 1 if due.at == self.clock else 0
            if repeats > 20:
                self.clock += dt.timedelta(seconds=1)
                continue
            self.clock = due.at
            for job in due.jobs:
                self.run_job(job, due.at)
        self.clock = max(self.clock, until)

    def run_job(self, job: str, at: dt.datetime) -> None:
        happened: schedule.Events = []
        try:
            self.call(job, lambda: schedule.run(self.ctx, job, now=at, events=happened))
        except errors.WattWalletError as exc:  # e.g. the bill run waiting for the cycle
            self.note(f"{job}: {exc.code}; the worker tries the occurrence again")
            self.plan(at + RETRY_FAILED_JOB, "job_retry", job)
            return
        self.result.events[f"job_{job}"] += 1
        if happened:
            self.note(f"{job}: {len(happened)} events")
        if self.injector.roll("rerun_job"):
            with self.ctx.store.read() as conn:
                before = invariants.fingerprint(conn)
            schedule.run(self.ctx, job, now=at, events=[])
            with self.ctx.store.read() as conn:
                after = invariants.fingerprint(conn)
            self.check(
                "rerun_changes_nothing", [] if before == after else [f"{job} re-run: {_diff(before, after)}"]
            )

    def do_job_retry(self, at: dt.datetime, job: str) -> None:
        self.run_job(job, at)

    def do_deliver(self, at: dt.datetime, _: None) -> None:
        self.gateways.now = at
        while True:
            counts = self.call(
                "dispatch",
                lambda: dispatcher.dispatch_due(self.ctx, self.channels, now=at, limit=500, retry=self.retry),
            )
            if counts.claimed < 500:
                break

    def do_language(self, at: dt.datetime, payload: tuple[str, str]) -> None:
        service_no, language = payload
        self.call(
            "language",
            lambda: registration.set_language(self.ctx, service_no=service_no, language=language, now=at),
        )
        self.note(f"{service_no} switches to {language}")

    # --- meters ------------------------------------------------------------------------------

    def read(self, day: dt.date, *, at: dt.datetime) -> None:
        """Every meter reports `day` at the midnight that ends it, with the reading faults."""
        self.jobs(until=at)
        now_ = at + dt.timedelta(minutes=5)
        on_time: list[ingest.Message] = []
        for service_no, meter in self.meters.items():
            log = self.head_end.relay_log.get(meter.serial, [])
            start = _at(day, dt.time(0))
            before = [pos for when, pos in log if when < start]
            changes = [(when, pos) for when, pos in log if start <= when < start + dt.timedelta(days=1)]
            closed = (before[-1] if before else edges.CLOSED) == edges.CLOSED
            mask = meters.supply_mask(day, closed_at_start=closed, changes=changes)
            reading = meter.read_day(day, seed=self.spec.seed, supplied=mask)
            message = ingest.Message(
                msg_id=reading.msg_id(),
                reading=readings.Reading(reading.meter_serial, reading.read_at, reading.register_wh),
                profile_wh=reading.profile_wh,
                topic=f"sim/readings/{reading.meter_serial}",
            )
            if self.silent_until.get(service_no, day) > day:
                continue
            if self.injector.roll("meter_silent"):
                self.silent_until[service_no] = day + dt.timedelta(days=self.rng.randrange(2, 8))
                self.note(f"meter {meter.serial} silent until {self.silent_until[service_no]}")
                continue
            if self.injector.roll("reading_late"):
                self.plan(now_ + dt.timedelta(hours=self.rng.randrange(2, 72)), "readings", [message])
                continue
            if self.injector.roll("reading_backwards"):
                back = ingest.Message(
                    msg_id=f"{message.msg_id}-glitch",
                    reading=readings.Reading(
                        meter.serial,
                        reading.read_at,
                        max(0, reading.register_wh - self.rng.randrange(1_000, 50_000)),
                    ),
                    topic=message.topic,
                )
                self.plan(now_ + dt.timedelta(minutes=30), "readings", [back])
            if self.injector.roll("reading_duplicate"):
                self.plan(now_ + dt.timedelta(minutes=self.rng.randrange(1, 600)), "readings", [message])
            on_time.append(message)
        self.do_readings(now_, on_time)
        self.relay_reports(at)

    def relay_reports(self, at: dt.datetime) -> None:
        """Each meter's relay position at midnight, as the head end reports it daily (the physical
        position: where a command was confirmed but not carried out, it disagrees)."""
        batch = [
            relay_reports.Received(
                protocol.RelayReport(
                    meter.serial, self.head_end.relays.get(meter.serial, edges.CLOSED), "daily", at
                ),
                f"sim/relay/{meter.serial}",
                "",
            )
            for meter in self.meters.values()
        ]
        found = self.call("relay_reports", lambda: relay_reports.handle(self.ctx, batch, now=at, events=[]))
        if found.counts.get("relay_mismatch"):
            self.note(f"relay reports: {found.counts['relay_mismatch']} disagree")
            self.result.events["relay_mismatch"] += found.counts["relay_mismatch"]

    def do_readings(self, at: dt.datetime, messages: list[ingest.Message]) -> None:
        if not messages:
            return
        outcomes = self.call("ingest", lambda: ingest.ingest(self.ctx, messages, now=at))
        tally = collections.Counter(outcome.status for outcome in outcomes)
        self.result.events.update({f"reading_{k}": v for k, v in tally.items()})
        self.note("readings " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))

    # --- consumers ---------------------------------------------------------------------------

    def decide(self, day: dt.date, kinds: tuple[habits.Habit, ...]) -> None:
        for seen in demo.snapshots(self.ctx):
            habit = self.person[seen.service_no].habit
            if habit not in kinds:
                continue
            chosen = habits.decide(habit, seen, day=day, rng=self.rng, step_paise=10_000)
            if chosen is None:
                continue
            if self.injector.roll("recharge_in_window"):
                minute = self.rng.randrange(10 * 60, 13 * 60)
                moved = _at(day, dt.time(minute // 60, minute % 60))
                chosen = dataclasses.replace(chosen, at=max(moved, self.clock + dt.timedelta(minutes=1)))
            self.sequence += 1
            self.plan(chosen.at, "recharge", (chosen, self.sequence))

    def do_recharge(self, at: dt.datetime, payload: tuple[habits.Plan, int]) -> None:
        chosen, number = payload
        if chosen.channel in habits.ONLINE:
            self.pay_online(chosen, number, at)
            return
        reference = f"SIM-{number:07d}"
        self.cash(chosen, reference, at)
        if self.injector.roll("double_click"):
            self.cash(chosen, reference, at)
        if self.injector.roll("same_reference_retry"):
            self.plan(
                at + dt.timedelta(minutes=self.rng.randrange(1, 120)), "cash_retry", (chosen, reference)
            )

    def do_cash_retry(self, at: dt.datetime, payload: tuple[habits.Plan, str]) -> None:
        chosen, reference = payload
        self.cash(dataclasses.replace(chosen, at=at), reference, at)

    def cash(self, chosen: habits.Plan, reference: str, at: dt.datetime) -> None:
        def take() -> Any:
            if chosen.channel == "counter":
                return counter.recharge(
                    self.ctx, by="sim.counter", service_no=chosen.service_no, reference=reference,
                    amount_paise=chosen.amount_paise, now=at,
                )  # fmt: skip
            agent = self.retail if chosen.channel == "retail" else self.kiosk
            assert agent is not None
            return agents.recharge_wallet(
                self.ctx, agent=agent, service_no=chosen.service_no, amount_paise=chosen.amount_paise,
                reference=reference, now=at,
            )  # fmt: skip

        try:
            receipt = self.call("cash_recharge", take)
        except errors.WattWalletError as exc:
            self.note(f"{chosen.channel} {reference} for {chosen.service_no} refused: {exc.code}")
            self.result.events["recharge_refused"] += 1
            return
        agent = {"retail": self.retail, "kiosk": self.kiosk}.get(chosen.channel)
        stored = reference if agent is None else f"{agent.id}/{reference}"
        self.outside.cash[(chosen.channel, stored)] = chosen.amount_paise
        self.note(
            f"{chosen.channel} {reference} {chosen.service_no} {chosen.amount_paise}: "
            f"balance {receipt.balance}" + (" (replayed)" if receipt.replayed else "")
        )

    def pay_online(self, chosen: habits.Plan, number: int, at: dt.datetime) -> None:
        def intent() -> payments.Intent:
            return payments.create_intent(
                self.ctx, service_no=chosen.service_no, amount_paise=chosen.amount_paise,
                channel=chosen.channel, now=at - dt.timedelta(minutes=1), minutes=30,
            )  # fmt: skip

        try:
            made = self.call("payment_intent", intent)
            if self.injector.roll("double_click"):
                spare = self.call("payment_intent", intent)  # never paid: a forger's target
                if self.injector.roll("webhook_forged"):
                    self.plan(at + dt.timedelta(minutes=3), "forged", (spare, number))
        except errors.WattWalletError as exc:
            self.note(f"intent for {chosen.service_no} refused: {exc.code}")
            self.result.events["recharge_refused"] += 1
            return
        self.outside.online[made.id] = chosen.amount_paise
        self.note(f"{chosen.channel} payment {number} {chosen.service_no} {chosen.amount_paise} paid")
        paid = _Payment(number, chosen.service_no, made.id, chosen.amount_paise, at, f"evt_{number:07d}")
        delay = dt.timedelta(seconds=4)
        if self.injector.roll("webhook_late"):
            delay = dt.timedelta(hours=self.rng.randrange(1, 8))
        if self.injector.roll("webhook_out_of_order"):  # a failed first try's event, arriving after
            failed = dataclasses.replace(paid, event_id=f"evt_{number:07d}_failed")
            self.plan(at + delay + dt.timedelta(seconds=30), "webhook", (failed, payments.FAILED_EVENT))
        self.plan(at + delay, "webhook", (paid, payments.SUCCEEDED_EVENT))
        if self.injector.roll("webhook_twice"):
            self.plan(
                at + delay + dt.timedelta(seconds=self.rng.randrange(0, 3600)),
                "webhook",
                (paid, payments.SUCCEEDED_EVENT),
            )
        if self.injector.roll("same_reference_retry"):  # the app asks again about the same payment
            self.plan(at + delay + dt.timedelta(minutes=1), "webhook", (paid, payments.SUCCEEDED_EVENT))

    def do_webhook(self, at: dt.datetime, payload: tuple[_Payment, str]) -> None:
        paid, kind = payload
        body = _event_body(paid, kind)
        header = payments.sign(secret=WEBHOOK_SECRET, timestamp=int(at.timestamp()), body=body)
        if self.webhook(at, body, header) or paid.attempt >= len(WEBHOOK_RETRIES):
            return
        paid = dataclasses.replace(paid, attempt=paid.attempt + 1)
        self.plan(at + dt.timedelta(seconds=WEBHOOK_RETRIES[paid.attempt - 1]), "webhook", (paid, kind))

    def do_forged(self, at: dt.datetime, payload: tuple[payments.Intent, int]) -> None:
        spare, number = payload
        forged = _Payment(number, spare.service_no, spare.id, spare.amount, at, f"evt_forged_{number:07d}")
        body = _event_body(forged, payments.SUCCEEDED_EVENT)
        header = payments.sign(secret=FORGER_SECRET, timestamp=int(at.timestamp()), body=body)
        self.webhook(at, body, header)

    def webhook(self, at: dt.datetime, body: bytes, header: str) -> bool:
        """The payments webhook as the API takes it: signature first, then the event. True: 2xx."""
        try:
            payments.verify_signature(
                secret=WEBHOOK_SECRET, header=header, body=body, now=at, tolerance_seconds=TOLERANCE_SECONDS
            )
        except (payments.SignatureInvalid, payments.TimestampStale) as exc:
            self.note(f"webhook refused: {exc.code}")
            self.result.events["webhook_refused_signature"] += 1
            return False
        raw = json.loads(body)
        event = payments.Event(
            event_id=raw["id"],
            type=raw["type"],
            intent_id=raw["intent_id"],
            amount=raw["amount"],
            paid_at=dt.datetime.fromisoformat(raw["paid_at"]) if raw.get("paid_at") else None,
            gateway_payment_id=raw.get("gateway_payment_id"),
        )
        try:
            outcome = self.call("webhook", lambda: payments.take_event(self.ctx, event=event, now=at))
        except errors.WattWalletError as exc:
            self.note(f"webhook {event.event_id}: {exc.code}")
            return False
        except sa.exc.DBAPIError as exc:  # the API answers 500; the gateway delivers again later
            self.note(f"webhook {event.event_id}: HTTP 500 ({type(exc.orig).__name__})")
            return False
        if event.type == payments.SUCCEEDED_EVENT:
            self.outside.acknowledged.add(event.intent_id)
        self.note(f"webhook {event.event_id}: {outcome.result}{' (replayed)' if outcome.replayed else ''}")
        return True

    # --- the invariants ----------------------------------------------------------------------

    def check_all(self) -> None:
        with self.ctx.store.write() as conn:  # write: the calendar may seed a year
            self.check("ledger_verify", invariants.ledger(conn))
            self.check("money_conserved", invariants.money(conn, self.outside))
            sends = self.head_end.sends[self.sends_checked :]
            self.sends_checked = len(self.head_end.sends)
            self.check("disconnection_rules", invariants.disconnections(conn, sends))
            self.check(
                "reconnection_rules",
                invariants.reconnections(
                    conn, head_end=self.head_end, now=self.clock, checked=self.checked_recharges
                ),
            )


def _event_body(paid: _Payment, kind: str) -> bytes:
    event = {
        "id": paid.event_id,
        "type": kind,
        "intent_id": paid.intent_id,
        "amount": paid.amount,
        "paid_at": paid.paid_at.isoformat() if kind == payments.SUCCEEDED_EVENT else None,
        "gateway_payment_id": f"pay_{paid.number:07d}",
    }
    return json.dumps(event, sort_keys=True).encode()


def _diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    return "; ".join(f"{key} changed" for key in before if before[key] != after.get(key))


def _at(day: dt.date, when: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, when, tzinfo=clock.IST)


def fresh(url: str, *, empty: bool = False) -> None:
    """Migrate the database the run will use; with `empty`, drop what it holds first (a database
    named with --db is the simulation's own)."""
    store = db.Store.from_url(url)
    try:
        if empty:
            schema.metadata.drop_all(store.engine)
            with store.engine.begin() as conn:
                conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        migrate.upgrade(store.engine)
    finally:
        store.dispose()
