"""Run a scenario against the real engine on a fresh in-memory store and print what happens."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any, TextIO

from wattwallet import tariffs
from wattwallet.billing import deposits, mode_switch, postpaid_payments
from wattwallet.consumers import mobile_change as mobile
from wattwallet.consumers import registration
from wattwallet.context import Context
from wattwallet.domain import billing_mode, clock, errors, money, recharge
from wattwallet.domain import events as domain_events
from wattwallet.domain import readings as reading_rules
from wattwallet.hes import simulator
from wattwallet.jobs import schedule
from wattwallet.ledger import accounts
from wattwallet.lifecycle import complaints, readings, short_bills
from wattwallet.scenario import model
from wattwallet.staff import reports
from wattwallet.store import connections, db, migrate
from wattwallet.wallet import agents, counter, recharges


def run(scenario: model.Scenario, out: TextIO) -> None:
    for line in replay(scenario):
        out.write(json.dumps(line, ensure_ascii=False) + "\n")


def replay(scenario: model.Scenario, *, compliance: bool = False) -> Iterator[dict[str, Any]]:
    """The observable effects of a scenario, in time order, as dictionaries; with `compliance`,
    a last line with the compliance report over the scenario's days."""
    ctx = _fresh_context(scenario)
    try:
        _add_connections(ctx, scenario)
        clock_at = scenario.start
        events = sorted(scenario.events, key=lambda e: (e.at, e.index))
        for event in events:
            yield from _run_jobs(ctx, after=clock_at, until=event.at)
            clock_at = event.at
            yield from _apply(ctx, event)
        end = scenario.end or (events[-1].at if events else scenario.start)
        yield from _run_jobs(ctx, after=clock_at, until=end)
        if compliance:
            report = reports.compliance(
                ctx, start=clock.ist_date(scenario.start), end=clock.ist_date(end), now=end
            )
            yield _line(end, "compliance", None, **report.as_dict())
    finally:
        ctx.store.dispose()


def _lines(happened: domain_events.Log) -> Iterator[dict[str, Any]]:
    """The replay lines of what happened, in order (SCENARIOS.md)."""
    for event in happened:
        yield event.line()


def _run_jobs(ctx: Context, *, after: dt.datetime, until: dt.datetime) -> Iterator[dict[str, Any]]:
    """Every scheduled job due between two events, at the time production would run it."""
    happened: domain_events.Log = []
    schedule.run_until(ctx, after=after, until=until, events=happened)
    yield from _lines(happened)


def _apply(ctx: Context, event: model.Event) -> Iterator[dict[str, Any]]:
    at, body = event.at, event.body
    if isinstance(body, model.RechargeEvent):
        yield from _recharge(ctx, at, body)
    elif isinstance(body, model.ReadingEvent):
        yield from _reading(ctx, at, body)
    elif isinstance(body, model.HesEvent):
        yield from _hes(ctx, at, body)
    elif isinstance(body, model.PaymentEvent):
        yield from _payment(ctx, at, body)
    else:
        happened: domain_events.Log = []
        try:
            if isinstance(body, model.ShortBillEvent):
                short_bills.raise_bill(
                    ctx,
                    service_no=body.connection,
                    amount_paise=body.amount_paise,
                    reason=body.reason,
                    ref=body.ref,
                    now=at,
                    events=happened,
                )
            elif isinstance(body, model.ComplaintEvent):
                with ctx.store.write() as conn:
                    connections.get(conn, body.connection)
                    complaints.open_complaint(
                        ctx,
                        conn,
                        service_no=body.connection,
                        kind=body.kind,
                        ref=body.ref,
                        source=body.source,
                        now=at,
                        events=happened,
                    )
            elif isinstance(body, model.ModeEvent):
                if body.withdraw:
                    mode_switch.withdraw(ctx, service_no=body.connection, now=at, events=happened)
                else:
                    assert body.mode is not None
                    mode_switch.request(
                        ctx,
                        service_no=body.connection,
                        to=body.mode,
                        effective_on=body.on,
                        via=billing_mode.Via.SCENARIO,
                        by="scenario",
                        now=at,
                        events=happened,
                    )
            elif isinstance(body, model.DepositEvent):
                deposits.set_deposit(
                    ctx,
                    service_no=body.connection,
                    amount_paise=deposits.parse_amount(body.amount),
                    by="scenario",
                    now=at,
                    events=happened,
                )
            elif isinstance(body, model.MobileChangeEvent):
                staff = body.via in mobile.STAFF
                mobile.change(
                    ctx,
                    service_no=body.connection,
                    new_mobile=body.new,
                    via=body.via,
                    now=at,
                    events=happened,
                    old_mobile=body.old,
                    # A scenario stands in for the executive: its call reference and name when not given.
                    reference=body.ref or (f"SCN-{event.index}" if staff else None),
                    by=body.by or ("scenario" if staff else None),
                )
            else:
                registration.set_language(
                    ctx, service_no=body.connection, language=body.language, now=at, events=happened
                )
        except errors.WattWalletError as exc:
            yield _line(
                at,
                f"{event.kind}.rejected",
                getattr(body, "connection", None),
                reason=exc.code,
                message=exc.message,
            )
            return
        yield from _lines(happened)


def _hes(ctx: Context, at: dt.datetime, event: model.HesEvent) -> Iterator[dict[str, Any]]:
    head_end = ctx.head_end
    assert isinstance(head_end, simulator.SimulatedHeadEnd)
    if event.mode == "fail":
        head_end.fail(event.count)
    elif event.mode == "delay":
        head_end.set_delay(event.minutes)
    else:
        head_end.ok()
    yield _line(
        at,
        "hes",
        None,
        mode=event.mode,
        **({"count": event.count} if event.mode == "fail" else {}),
        **({"minutes": event.minutes} if event.mode == "delay" else {}),
    )


def _reading(ctx: Context, at: dt.datetime, event: model.ReadingEvent) -> Iterator[dict[str, Any]]:
    with ctx.store.read() as conn:
        try:
            meter = connections.get(conn, event.connection).meter_serial
        except errors.WattWalletError as exc:
            yield _line(at, "reading.refused", event.connection, reason=exc.code, message=exc.message)
            return
    try:
        reading = reading_rules.parse(meter_serial=meter, read_at=at, kwh=event.kwh)
    except errors.WattWalletError as exc:
        yield _line(at, "reading.refused", event.connection, reason=exc.code, message=exc.message)
        return
    [outcome] = readings.record(ctx, [reading], now=at)
    if outcome.status == "refused":
        yield _line(
            at,
            "reading.refused",
            event.connection,
            kwh=str(event.kwh),
            reason=outcome.reason,
            message=outcome.message,
        )
    elif outcome.status == "duplicate":
        yield _line(at, "reading.duplicate", event.connection, kwh=str(event.kwh))


def _payment(ctx: Context, at: dt.datetime, event: model.PaymentEvent) -> Iterator[dict[str, Any]]:
    happened: domain_events.Log = []
    try:
        postpaid_payments.pay(
            ctx,
            service_no=event.connection,
            amount_paise=billing_mode.payment_amount(event.amount),
            channel=event.channel,
            reference=event.ref,
            now=at,
            paid_at=event.paid_at,
            events=happened,
        )
    except errors.WattWalletError as exc:
        yield _line(
            at,
            "payment.rejected",
            event.connection,
            ref=event.ref,
            channel=event.channel,
            amount=str(event.amount),
            reason=exc.code,
            message=exc.message,
            **({"minimum": exc.details["minimum"]} if "minimum" in exc.details else {}),
        )
        return
    yield from _lines(happened)


def _fresh_context(scenario: model.Scenario) -> Context:
    store = db.Store.from_url("sqlite://")
    migrate.upgrade(store.engine)
    with store.write() as conn:
        accounts.ensure_system_accounts(conn, now=scenario.start)
    return Context(store=store, tariffs=tariffs.book(scenario.tariff_book), policy=scenario.policy)


def _add_connections(ctx: Context, scenario: model.Scenario) -> None:
    for index, spec in enumerate(scenario.connections):
        fields = spec.fields
        try:
            new = registration.parse(
                ctx,
                service_no=spec.id,
                consumer_name=fields.get("name", f"Consumer {spec.id}"),
                category=fields["category"],
                load_kw=fields["load_kw"],
                mode=fields.get("mode", "prepaid"),
                mobile=fields["mobile"],
                language=fields.get("language", "en"),
                meter_serial=fields.get("meter", f"SM{spec.id}"),
                register_kwh=fields.get("register_kwh", 0),
                arrears_paise=spec.arrears_paise,
                first_recharge_done=spec.first_recharge_done,
                opening_balance_paise=spec.balance_paise,
                today=clock.ist_date(scenario.start),
            )
            registration.add(ctx, new, now=scenario.start)
            if spec.deposit_paise:
                deposits.set_deposit(
                    ctx,
                    service_no=new.service_no,
                    amount_paise=spec.deposit_paise,
                    by="scenario",
                    now=scenario.start,
                )
        except errors.WattWalletError as exc:
            raise model.ScenarioInvalid(f"connections[{index}]: {exc.message}", field=spec.path) from None


def _line(at: dt.datetime, kind: str, connection: str | None, **fields: Any) -> dict[str, Any]:
    line: dict[str, Any] = {"at": clock.ist_iso(at), "type": kind}
    if connection is not None:
        line["connection"] = connection
    line.update(fields)
    return line


# Who takes the cash in a scenario: one outlet and one kiosk with no practical daily limit, and a
# counter executive, so that replayed recharges go through the same takers' paths as real ones.
SCENARIO_AGENT_LIMIT_PAISE = 10**12
SCENARIO_EXECUTIVE = "scenario.counter"


def _scenario_agent(ctx: Context, kind: str, *, now: dt.datetime) -> agents.Agent:
    name = f"scenario {kind}"
    for listed in agents.all_agents(ctx, now=now):
        if listed.agent.name == name:
            return listed.agent
    issued = agents.create(
        ctx, name=name, kind_name=kind, daily_limit_paise=SCENARIO_AGENT_LIMIT_PAISE, now=now
    )
    return issued.agent


def _take(
    ctx: Context, at: dt.datetime, event: model.RechargeEvent, follow: domain_events.Log
) -> recharges.Receipt:
    channel = recharge.channel(event.channel)
    if channel is recharge.Channel.COUNTER:
        return counter.recharge(
            ctx,
            by=SCENARIO_EXECUTIVE,
            service_no=event.connection,
            amount_paise=event.amount_paise,
            reference=event.ref,
            now=at,
            paid_at=event.paid_at,
            events=follow,
        )
    if channel in (recharge.Channel.RETAIL, recharge.Channel.KIOSK):
        return agents.recharge_wallet(
            ctx,
            agent=_scenario_agent(ctx, channel.value, now=at),
            service_no=event.connection,
            amount_paise=event.amount_paise,
            reference=event.ref,
            now=at,
            paid_at=event.paid_at,
            events=follow,
        )
    return recharges.recharge_wallet(
        ctx,
        events=follow,
        service_no=event.connection,
        channel=event.channel,
        reference=event.ref,
        amount_paise=event.amount_paise,
        paid_at=event.paid_at,
        now=at,
    )


def _recharge(ctx: Context, at: dt.datetime, event: model.RechargeEvent) -> Iterator[dict[str, Any]]:
    follow: domain_events.Log = []
    try:
        receipt = _take(ctx, at, event, follow)
    except errors.WattWalletError as exc:
        extra = {"minimum": exc.details["minimum"]} if "minimum" in exc.details else {}
        yield _line(
            at,
            "recharge.rejected",
            event.connection,
            ref=event.ref,
            channel=event.channel,
            amount=money.rupees(event.amount_paise),
            reason=exc.code,
            message=exc.message,
            **extra,
        )
        return
    yield _line(
        at,
        "recharge.accepted",
        receipt.service_no,
        ref=receipt.reference,
        channel=receipt.channel.value,
        amount=money.rupees(receipt.amount),
        to_dues=money.rupees(receipt.to_dues),
        to_wallet=money.rupees(receipt.to_wallet),
        balance=money.rupees(receipt.balance),
        dues=money.rupees(receipt.dues_remaining),
        receipt=receipt.receipt_no,
        **({"repeat": True} if receipt.replayed else {}),
    )
    yield from _lines(follow)
