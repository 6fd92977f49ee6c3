"""`wattwallet demo`: a DISCOM's fleet living D days on an accelerated clock, through the real engine.

Demo consumers are registered (simulation.population); each simulated day their virtual meters
report the day before at midnight (ingested in one batch, as the HES link does), every scheduled
job runs at its production time (schedule.run_until: the 06:00 daily cycle, notices, the
disconnection window's ticks on working days, HES sends and confirmations through the in-process
simulator), consumers recharge by habit (online through a payment intent and the gateway's
webhook path, cash through a retail outlet or kiosk agent, or at the counter), and every message
goes through the real dispatcher to a fake SMS / WhatsApp / push gateway over HTTP. The summary
is read back from the database, so it shows what the engine did, not what the simulation meant.

Work is batched per day and per decision point (one query for everybody's balance, one ingest
for everybody's readings); only recharges, which are one consumer's act each, go one by one.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import heapq
import os
import random
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from wattwallet import tariffs
from wattwallet.context import Context
from wattwallet.domain import clock, errors, money, policy, readings
from wattwallet.hes import adapter, simulator
from wattwallet.hes.mqtt import link as hes_link
from wattwallet.hes.mqtt import settings as hes_settings
from wattwallet.jobs import schedule
from wattwallet.ledger import accounts
from wattwallet.ledger import verify as ledger_verify
from wattwallet.lifecycle import ingest
from wattwallet.messaging import channels as channel_adapters
from wattwallet.messaging import deliveries, dispatcher, fake_gateway
from wattwallet.messaging.channels import base
from wattwallet.simulation import habits, meters, mqtt_meters, population
from wattwallet.staff import reports
from wattwallet.store import db, schema
from wattwallet.wallet import agents, counter, payments

DEFAULT_START = dt.date(2025, 5, 5)  # a Monday in AP's summer; 10 May is a second Saturday, 12 May a holiday
MORNING = dt.time(7, 0)  # after the 06:00 cycle's alerts: early and late payers look at their balance
AFTERNOON = dt.time(13, 30)  # after the disconnection window: the disconnected decide to pay
DEMO_EXECUTIVE = "demo.counter"  # the service-centre executive on record for the demo's cash recharges
DELIVERY_BATCH = 500
WEBHOOK_SECONDS = 4  # from the payer's payment to the gateway's webhook
Progress = Callable[[str], None]
_MQTT_DELAY_SECONDS = 0.2  # the simulated HES carries out a command within this (real time)
_MQTT_WAIT_SECONDS = 30.0  # for the link to take a day's readings or a command's answer


class StoreNotEmpty(errors.Conflict):
    code = "demo_store_not_empty"


class BrokerUnreachable(errors.Unavailable):
    code = "broker_unreachable"


@dataclasses.dataclass(frozen=True)
class Spec:
    meters: int
    days: int
    seed: int = 1
    start: dt.date = DEFAULT_START
    hes_delay_minutes: int = 2  # how long the simulated HES takes to confirm a command
    broker_url: str | None = None  # meters and commands over MQTT through the real link instead
    prefix: str = "wattwallet/hes"

    def __post_init__(self) -> None:
        if not 1 <= self.meters <= 100_000:
            raise errors.InvalidInput(f"--meters must be 1 to 100,000, got {self.meters}")
        if not 1 <= self.days <= 366:
            raise errors.InvalidInput(f"--days must be 1 to 366, got {self.days}")


@dataclasses.dataclass
class Summary:
    counts: dict[str, Any]
    lines: list[str]
    people: list[population.Person]
    seconds: float


def run(*, store: db.Store, spec: Spec, progress: Progress | None = None) -> Summary:
    """Simulate `spec` on `store` (migrated, with no connections yet) and summarise it."""
    started = time.perf_counter()
    head_end = simulator.SimulatedHeadEnd()
    head_end.set_delay(spec.hes_delay_minutes)
    ctx = Context(
        store=store, tariffs=tariffs.book(tariffs.DEFAULT_DISCOM), policy=policy.Policy(), head_end=head_end
    )
    with store.read() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(schema.connections)).scalar_one():
            raise StoreNotEmpty("the demo needs a database without connections: give it an empty one")
    with fake_gateway.FakeGateway() as gateway:
        settings = gateway.delivery_settings()
        adapters = channel_adapters.build(settings)
        world = _World(ctx, spec, adapters, deliveries.Retry.of(settings), progress or (lambda _: None))
        try:
            if spec.broker_url:
                world.connect(spec.broker_url)
            world.live()
        finally:
            world.disconnect()
            channel_adapters.close_all(adapters)
        received = collections.Counter(item["channel"] for item in gateway.received())
    counts = _counts(ctx, spec, world, received)
    seconds = time.perf_counter() - started
    return Summary(counts, _lines(counts, seconds), world.people, seconds)


class _World:
    """The simulation's state between steps: the clock, the meters, the recharges still to come."""

    def __init__(
        self,
        ctx: Context,
        spec: Spec,
        adapters: dict[str, base.Channel],
        retry: deliveries.Retry,
        progress: Progress,
    ) -> None:
        self.ctx, self.spec, self.adapters, self.retry, self.progress = ctx, spec, adapters, retry, progress
        self.clock = _midnight(spec.start)
        self.people = population.generate(ctx, count=spec.meters, seed=spec.seed, start=spec.start)
        self.habit = {p.service_no: p.habit for p in self.people}
        self.meters = {
            p.service_no: meters.VirtualMeter(p.meter_serial, p.profile, p.register_wh) for p in self.people
        }
        self.plans: list[tuple[dt.datetime, int, habits.Plan]] = []
        self.relay_at_midnight: dict[str, str] = {}  # as the day to report began (default closed)
        self.planned: set[tuple[str, dt.date]] = set()
        self.readings: collections.Counter[str] = collections.Counter()
        self.refused: collections.Counter[str] = collections.Counter()
        self.recharge_outcomes: collections.Counter[str] = collections.Counter()
        self.sequence = 0
        self.retail: agents.Agent | None = None
        self.kiosk: agents.Agent | None = None
        self.link: hes_link.HesLink | None = None
        self.fleet: mqtt_meters.MeterFleet | None = None
        self.head_end: _Timed | None = None

    # --- over MQTT (--broker) ----------------------------------------------------------------

    def connect(self, broker_url: str) -> None:
        """Meters behind a simulated HES on the broker, WattWallet's real link consuming it: readings
        are published and ingested by the link, commands published and acknowledged. The link's
        clock is the simulation's (as far as the scheduler has got, sends included)."""
        spec, pid = self.spec, os.getpid()
        config = hes_settings.HesSettings(
            broker_url=broker_url,
            topic_prefix=spec.prefix,
            client_id=f"wattwallet-demo-{pid}",
            session_expiry_seconds=60,
            flush_interval_seconds=0.05,
        )
        self.link = hes_link.HesLink(settings=config, rules=self.ctx.policy, clock=self.link_now)
        self.head_end = _Timed(self.link.head_end)
        self.link.start(dataclasses.replace(self.ctx, head_end=self.link.head_end))
        self.ctx = dataclasses.replace(self.ctx, head_end=self.head_end)
        if not self.link.wait_ready(10):
            raise BrokerUnreachable(f"the MQTT link could not connect and subscribe at {broker_url}")
        fleet = mqtt_meters.FleetSettings(
            broker_url=broker_url,
            prefix=spec.prefix,
            start=spec.start,
            days=spec.days,
            interval_seconds=0,
            fail_rate=0,
            max_delay_seconds=_MQTT_DELAY_SECONDS,
            seed=spec.seed,
            client_id=f"wattwallet-demo-meters-{pid}",
            command_clock=True,
        )
        self.fleet = mqtt_meters.MeterFleet(list(self.meters.values()), settings=fleet)
        try:
            self.fleet.start()
        except TimeoutError as exc:
            raise BrokerUnreachable(str(exc)) from None

    def disconnect(self) -> None:
        if self.fleet is not None:
            self.fleet.stop()
        if self.link is not None:
            self.link.stop()

    def link_now(self) -> dt.datetime:
        latest = self.head_end.latest if self.head_end is not None else None
        if latest is None:
            return self.clock
        return max(self.clock, latest + dt.timedelta(seconds=_MQTT_DELAY_SECONDS + 1))

    def settle(self) -> None:
        """Over MQTT, wait until every command sent has its answer applied by the link."""
        if self.link is None:
            return
        h = schema.hes_commands
        deadline = time.monotonic() + _MQTT_WAIT_SECONDS
        while time.monotonic() < deadline:
            with self.ctx.store.read() as conn:
                if not conn.execute(sa.select(sa.func.count()).where(h.c.status == "sent")).scalar_one():
                    return
            time.sleep(0.02)

    # --- the days ----------------------------------------------------------------------------

    def live(self) -> None:
        start = self.clock
        with self.ctx.store.write() as conn:
            accounts.ensure_system_accounts(conn, now=start)
        population.register(self.ctx, self.people, now=start)
        limit = 10**11  # ₹100 crore: the demo's agents never reach their limit
        self.retail = agents.create(
            self.ctx, name="Sri Sai Kirana Stores", kind_name="retail", daily_limit_paise=limit, now=start
        ).agent
        self.kiosk = agents.create(
            self.ctx, name="APSPDCL Kiosk, Bus Stand", kind_name="kiosk", daily_limit_paise=limit, now=start
        ).agent
        self.progress(f"registered {len(self.people)} consumers")
        for index in range(self.spec.days):
            day = self.spec.start + dt.timedelta(days=index)
            midnight = _midnight(day)
            if index:
                self.read(day - dt.timedelta(days=1), at=midnight)
            self.advance(until=_at(day, MORNING))
            self.decide(day, (habits.Habit.EARLY, habits.Habit.AFTER_ZERO_ALERT))
            self.advance(until=_at(day, AFTERNOON))
            self.decide(day, (habits.Habit.AFTER_DISCONNECTION,))
            self.advance(until=midnight + dt.timedelta(days=1))
            self.progress(f"day {index + 1} of {self.spec.days} ({day}) done")
        # The last day is read at its midnight and billed by the next morning's cycle.
        end = self.spec.start + dt.timedelta(days=self.spec.days)
        self.read(end - dt.timedelta(days=1), at=_midnight(end))
        self.advance(until=_at(end, MORNING))

    def advance(self, *, until: dt.datetime) -> None:
        """Run every job and every planned recharge due up to `until`, in time order, then send
        the messages they recorded."""
        while self.plans and self.plans[0][0] <= until:
            at, _, plan = heapq.heappop(self.plans)
            self.jobs(until=at)
            self.recharge(plan)
            self.settle()
        self.jobs(until=until)
        self.deliver(now=until)

    def jobs(self, *, until: dt.datetime) -> None:
        if until > self.clock:
            schedule.run_until(self.ctx, after=self.clock, until=until)
            self.clock = until
            self.settle()

    def deliver(self, *, now: dt.datetime) -> None:
        while True:
            counts = dispatcher.dispatch_due(
                self.ctx, self.adapters, now=now, limit=DELIVERY_BATCH, retry=self.retry, workers=4
            )
            if counts.claimed < DELIVERY_BATCH:
                return

    # --- meters ------------------------------------------------------------------------------

    def read(self, day: dt.date, *, at: dt.datetime) -> None:
        """Every meter reports `day` at the midnight `at` that ends it: one ingest for the lot.
        Supply follows the relay as the HES operated it during the day."""
        self.jobs(until=at)
        changes = self._relay_changes(day)
        masks = {}
        for service_no, meter in self.meters.items():
            moves = changes.get(service_no, [])
            at_midnight = self.relay_at_midnight.get(service_no, meters.CLOSED)
            masks[meter.serial] = meters.supply_mask(
                day, closed_at_start=at_midnight == meters.CLOSED, changes=moves
            )
            if moves:
                # Over MQTT the simulated HES has moved the meter's relay already; in process, here.
                self.relay_at_midnight[service_no] = meter.relay = max(moves)[1]
        if self.fleet is not None and self.link is not None:
            self._publish(day, masks)
            return
        messages = []
        for meter in self.meters.values():
            reading = meter.read_day(day, seed=self.spec.seed, supplied=masks[meter.serial])
            messages.append(
                ingest.Message(
                    msg_id=reading.msg_id(),
                    reading=readings.Reading(reading.meter_serial, reading.read_at, reading.register_wh),
                    profile_wh=reading.profile_wh,
                    topic=f"demo/readings/{reading.meter_serial}",
                )
            )
        for outcome in ingest.ingest(self.ctx, messages, now=at + dt.timedelta(minutes=5)):
            self.readings[outcome.status] += 1
            if outcome.reason and outcome.status == ingest.REFUSED:
                self.refused[outcome.reason] += 1

    def _publish(self, day: dt.date, masks: dict[str, tuple[bool, ...]]) -> None:
        """The meters publish the day; wait until the link has taken every reading."""
        assert self.fleet is not None and self.link is not None
        kinds = (ingest.STORED, ingest.DUPLICATE, ingest.REFUSED)
        before = self.link.stats()
        self.fleet.day = day
        published = len(self.fleet.publish_day(supplied=masks))
        deadline = time.monotonic() + _MQTT_WAIT_SECONDS
        while time.monotonic() < deadline:
            now = self.link.stats()
            taken = {kind: now.get(f"reading_{kind}", 0) - before.get(f"reading_{kind}", 0) for kind in kinds}
            if sum(taken.values()) >= published:
                break
            time.sleep(0.02)
        self.readings.update(taken)
        if taken[ingest.REFUSED]:
            self.refused["see hes_rejects"] += taken[ingest.REFUSED]

    def _relay_changes(self, day: dt.date) -> dict[str, list[tuple[dt.datetime, str]]]:
        e = schema.connection_events
        lower, upper = _midnight(day), _midnight(day + dt.timedelta(days=1))
        found: dict[str, list[tuple[dt.datetime, str]]] = collections.defaultdict(list)
        with self.ctx.store.read() as conn:
            for row in conn.execute(
                sa.select(e.c.service_no, e.c.to_state, e.c.at).where(e.c.at >= lower, e.c.at < upper)
            ):
                found[row.service_no].append(
                    (row.at, meters.CLOSED if row.to_state == "active" else meters.OPEN)
                )
        return found

    # --- consumers ---------------------------------------------------------------------------

    def decide(self, day: dt.date, kinds: tuple[habits.Habit, ...]) -> None:
        """Everyone with one of these habits looks at their balance (one query for all)."""
        for seen in snapshots(self.ctx):
            habit = self.habit.get(seen.service_no)
            if habit not in kinds or (seen.service_no, day) in self.planned:
                continue
            rng = random.Random(f"{self.spec.seed}/habit/{seen.service_no}/{day.isoformat()}")
            plan = habits.decide(
                habit, seen, day=day, rng=rng, step_paise=self.ctx.policy.recharge_multiple_paise
            )
            if plan is not None:
                self.planned.add((seen.service_no, day))
                self.sequence += 1
                heapq.heappush(self.plans, (plan.at, self.sequence, plan))

    def recharge(self, plan: habits.Plan) -> None:
        """One consumer pays, by the channel they use; a refusal is counted, not raised."""
        self.sequence += 1
        number = self.sequence
        try:
            if plan.channel in habits.ONLINE:
                self._online(plan, number)
            elif plan.channel == "counter":
                counter.recharge(
                    self.ctx,
                    by=DEMO_EXECUTIVE,
                    service_no=plan.service_no,
                    reference=f"SC-{plan.at:%Y%m%d}-{number:06d}",
                    amount_paise=plan.amount_paise,
                    now=plan.at,
                )
            else:
                agent = self.retail if plan.channel == "retail" else self.kiosk
                assert agent is not None
                agents.recharge_wallet(
                    self.ctx,
                    agent=agent,
                    service_no=plan.service_no,
                    amount_paise=plan.amount_paise,
                    reference=f"R-{number:06d}",
                    now=plan.at,
                )
            self.recharge_outcomes["accepted"] += 1
        except errors.WattWalletError as exc:
            self.recharge_outcomes[f"refused_{exc.code}"] += 1

    def _online(self, plan: habits.Plan, number: int) -> None:
        """Intent first (rules checked before paying), then the gateway's webhook event, as the
        payments API takes it once the signature is verified."""
        intent = payments.create_intent(
            self.ctx,
            service_no=plan.service_no,
            amount_paise=plan.amount_paise,
            channel=plan.channel,
            now=plan.at - dt.timedelta(minutes=1),
            minutes=self.ctx.policy.recharge_reflection_minutes * 2,
        )
        event = payments.Event(
            event_id=f"evt_demo_{number:08d}",
            type=payments.SUCCEEDED_EVENT,
            intent_id=intent.id,
            amount=plan.amount_paise,
            paid_at=plan.at,
            gateway_payment_id=f"pay_demo_{number:08d}",
        )
        payments.take_event(self.ctx, event=event, now=plan.at + dt.timedelta(seconds=WEBHOOK_SECONDS))


def snapshots(ctx: Context) -> list[habits.Snapshot]:
    """What every consumer not terminated sees on their app (one query for all)."""
    c, s, a = schema.connections, schema.prepaid_state, schema.ledger_accounts
    with ctx.store.read() as conn:
        rows = conn.execute(
            sa.select(c.c.service_no, c.c.state, a.c.balance, s.c.adc_paise, s.c.zero_alert_at)
            .select_from(
                c.join(s, s.c.service_no == c.c.service_no).join(
                    a, sa.and_(a.c.service_no == c.c.service_no, a.c.kind == accounts.Kind.WALLET.value)
                )
            )
            .where(c.c.state != "terminated")
            .order_by(c.c.service_no)
        ).all()
    return [
        habits.Snapshot(
            service_no=row.service_no,
            balance=row.balance,
            adc=row.adc_paise,
            disconnected=row.state == "disconnected",
            zero_alert=row.zero_alert_at is not None,
        )
        for row in rows
    ]


class _Timed:
    """The link's head end, noting the latest simulated time a command went out at: the link's
    clock must not lag behind the scheduler's (an ack is applied at the earlier of its time and
    the link's now)."""

    def __init__(self, inner: adapter.HeadEnd) -> None:
        self.inner = inner
        self.latest: dt.datetime | None = None

    def send(self, command: adapter.Command, *, now: dt.datetime) -> None:
        self.latest = now if self.latest is None else max(self.latest, now)
        self.inner.send(command, now=now)

    def confirmations(self, *, until: dt.datetime) -> list[adapter.Confirmation]:
        return self.inner.confirmations(until=until)

    def next_confirmation_at(self) -> dt.datetime | None:
        return self.inner.next_confirmation_at()


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=clock.IST)


def _at(day: dt.date, when: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, when, tzinfo=clock.IST)


# --- the summary ---------------------------------------------------------------------------------


def _grouped(conn: sa.Connection, *columns: sa.ColumnElement[Any]) -> list[Any]:
    return list(conn.execute(sa.select(*columns, sa.func.count()).group_by(*columns)).all())


def _counts(ctx: Context, spec: Spec, world: _World, received: collections.Counter[str]) -> dict[str, Any]:
    end = spec.start + dt.timedelta(days=spec.days)
    r, d, e, n, dl = (
        schema.recharges,
        schema.daily_deductions,
        schema.connection_events,
        schema.notifications,
        schema.deliveries,
    )
    with ctx.store.read() as conn:
        deducted = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(d.c.amount), 0),
                sa.func.coalesce(sa.func.sum(d.c.wh), 0),
            )
        ).one()
        by_channel = {
            row.channel: {"count": row.count, "amount": money.rupees(int(row.amount))}
            for row in conn.execute(
                sa.select(
                    r.c.channel, sa.func.count().label("count"), sa.func.sum(r.c.amount).label("amount")
                )
                .group_by(r.c.channel)
                .order_by(r.c.channel)
            )
        }
        alert_kinds = dict(sorted((kind, count) for kind, count in _grouped(conn, schema.alerts.c.kind)))
        by_kind: dict[str, int] = dict(sorted((k, c) for k, c in _grouped(conn, n.c.kind)))
        notified = {
            "total": conn.execute(sa.select(sa.func.count()).select_from(n)).scalar_one(),
            "by_kind": by_kind,
            "by_language": dict(sorted((k, c) for k, c in _grouped(conn, n.c.language))),
        }
        delivered: dict[str, dict[str, int]] = collections.defaultdict(dict)
        statuses: collections.Counter[str] = collections.Counter()
        for channel, language, status, count in conn.execute(
            sa.select(dl.c.channel, n.c.language, dl.c.status, sa.func.count())
            .select_from(dl.join(n, n.c.id == dl.c.notification_id))
            .group_by(dl.c.channel, n.c.language, dl.c.status)
        ):
            statuses[status] += count
            if status == deliveries.SENT:
                delivered[channel][language] = delivered[channel].get(language, 0) + count
        commands = {
            f"{action}_{status}": count
            for action, status, count in sorted(
                _grouped(conn, schema.hes_commands.c.command, schema.hes_commands.c.status)
            )
        }
        intents = dict(sorted((k, c) for k, c in _grouped(conn, schema.payment_intents.c.status)))
        disconnections = conn.execute(
            sa.select(sa.func.count()).where(e.c.to_state == "disconnected")
        ).scalar_one()
        reconnections = conn.execute(
            sa.select(sa.func.count()).where(e.c.from_state == "disconnected", e.c.to_state == "active")
        ).scalar_one()
        stored = conn.execute(sa.select(sa.func.count()).select_from(schema.meter_readings)).scalar_one()
        ledger = ledger_verify.verify(conn)
    report = reports.compliance(ctx, start=spec.start, end=end, now=_at(end, MORNING)).as_dict()
    people = world.people
    return {
        "meters": spec.meters,
        "days": spec.days,
        "seed": spec.seed,
        "from": spec.start.isoformat(),
        "to": end.isoformat(),
        "consumers": {
            "LT-I": sum(p.category == "LT-I" for p in people),
            "LT-II": sum(p.category == "LT-II" for p in people),
            "te": sum(p.language == "te" for p in people),
            "en": sum(p.language == "en" for p in people),
            "habits": {h.value: sum(p.habit is h for p in people) for h in habits.Habit},
        },
        "readings": {"ingested": world.readings[ingest.STORED], "stored": stored, **_refusals(world)},
        "deductions": {
            "count": deducted[0],
            "amount": money.rupees(int(deducted[1])),
            "kwh": int(deducted[2]) // 1000,
        },
        "alerts": alert_kinds,
        "emergency_credits": by_kind.get("emergency_credit", 0),
        "disconnections": disconnections,
        "reconnections": reconnections,
        "hes_commands": commands,
        "recharges": {
            "count": sum(c["count"] for c in by_channel.values()),
            "by_channel": by_channel,
            "refused": sum(v for k, v in world.recharge_outcomes.items() if k != "accepted"),
            "payment_intents": intents,
        },
        "notifications": {
            **notified,
            "delivered": {channel: dict(sorted(v.items())) for channel, v in sorted(delivered.items())},
            "deliveries": dict(sorted(statuses.items())),
            "gateway_received": dict(sorted(received.items())),
        },
        "compliance": report,
        "ledger_ok": ledger.ok,
    }


def _refusals(world: _World) -> dict[str, Any]:
    refused = sum(world.refused.values())
    return {"refused": refused, **({"refused_by_reason": dict(world.refused)} if refused else {})}


def _lines(counts: dict[str, Any], seconds: float) -> list[str]:
    """The human summary printed before the JSON line."""
    c = counts
    people, recharges_ = c["consumers"], c["recharges"]
    comp = c["compliance"]
    notes = c["notifications"]
    reflected, reconnected = (
        comp["recharges_reflected_within_15_min"],
        comp["reconnections_within_15_min_of_payment"],
    )

    def pct(measure: dict[str, Any]) -> str:
        if not measure["total"]:
            return "none"
        share = f"{measure['within']}/{measure['total']} ({measure['percent']}%"
        return f"{share}, worst {measure['worst_minutes']} min)"

    lines = [
        f"WattWallet demo: {c['meters']} meters, {c['days']} days from {c['from']} (seed {c['seed']}), "
        f"{seconds:.1f} s",
        f"  consumers: {people['LT-I']} LT-I homes, {people['LT-II']} LT-II shops; "
        f"Telugu {people['te']}, English {people['en']}; habits "
        + ", ".join(f"{k} {v}" for k, v in people["habits"].items()),
        f"  readings ingested: {c['readings']['ingested']} (refused {c['readings']['refused']})",
        f"  deductions: {c['deductions']['count']} days billed, {c['deductions']['kwh']} kWh, "
        f"₹{c['deductions']['amount']}",
        "  alerts: " + (", ".join(f"{k} {v}" for k, v in c["alerts"].items()) or "none"),
        f"  emergency credits: {c['emergency_credits']}; disconnections: {c['disconnections']}; "
        f"reconnections: {c['reconnections']}",
        f"  recharges: {recharges_['count']} ("
        + ", ".join(f"{k} {v['count']} = ₹{v['amount']}" for k, v in recharges_["by_channel"].items())
        + f"); refused {recharges_['refused']}",
        f"  notifications: {notes['total']} recorded ("
        + ", ".join(f"{k} {v}" for k, v in notes["by_language"].items())
        + "); delivered "
        + "; ".join(
            f"{channel} " + ", ".join(f"{lang} {n}" for lang, n in by_lang.items())
            for channel, by_lang in notes["delivered"].items()
        ),
        "  at the fake gateway: " + ", ".join(f"{k} {v}" for k, v in notes["gateway_received"].items()),
        f"  compliance {comp['from']} to {comp['to']}: recharges reflected within 15 min {pct(reflected)}; "
        f"reconnections within 15 min {pct(reconnected)}",
        f"    disconnections {comp['disconnections']}, outside the window "
        f"{comp['disconnections_outside_window']}, without alerts and emergency credit "
        f"{comp['disconnections_without_alerts_and_emergency_credit']}; terminations {comp['terminations']}",
        f"  ledger: {'OK' if c['ledger_ok'] else 'FAILED'}",
    ]
    return lines
