"""The `wattwallet` command: operators' admin tasks and scenario replay.

Commands only translate arguments into use-case calls and results or errors back into text;
the rules live in wattwallet.domain and wattwallet.services.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from wattwallet.cli import agents as agent_commands
from wattwallet.cli import api as api_commands
from wattwallet.cli import bills as bill_commands
from wattwallet.cli import calendar as calendar_commands
from wattwallet.cli import common
from wattwallet.cli import lifecycle as lifecycle_commands
from wattwallet.cli import postpaid as postpaid_commands
from wattwallet.cli import refunds as refund_commands
from wattwallet.cli import simulate as simulate_commands
from wattwallet.cli import templates as template_commands
from wattwallet.consumers import registration
from wattwallet.domain import clock, money, recharge
from wattwallet.ledger import verify as ledger_verify
from wattwallet.scenario import model as scenario_model
from wattwallet.scenario import runner as scenario_runner
from wattwallet.store import db, migrate
from wattwallet.wallet import agents, counter, dues, recharges
from wattwallet.wallet import views as wallets

app = typer.Typer(
    help="WattWallet: the prepayment engine for prepaid smart meters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Create and upgrade the database schema.", no_args_is_help=True)
connection_app = typer.Typer(help="Register and look up service connections.", no_args_is_help=True)
dues_app = typer.Typer(help="Pending dues that recharges recover first.", no_args_is_help=True)
ledger_app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)
scenario_app = typer.Typer(
    help="Replay scenarios (shared/SCENARIOS.md) against the real engine.", no_args_is_help=True
)
for sub, name in (
    (db_app, "db"),
    (connection_app, "connection"),
    (dues_app, "dues"),
    (ledger_app, "ledger"),
    (scenario_app, "scenario"),
):
    app.add_typer(sub, name=name)
app.add_typer(calendar_commands.app, name="calendar")
app.add_typer(api_commands.staff_app, name="staff")
app.add_typer(agent_commands.app, name="agent")
app.add_typer(template_commands.app, name="templates")
app.add_typer(refund_commands.app, name="refunds")
app.add_typer(bill_commands.app, name="bills")
app.add_typer(postpaid_commands.mode_app, name="mode")
app.add_typer(postpaid_commands.deposit_app, name="deposit")
app.add_typer(postpaid_commands.postpaid_app, name="postpaid")
app.command("pay")(common.friendly_errors(postpaid_commands.pay))
app.command("serve")(api_commands.serve)
app.command("worker")(api_commands.worker)
app.command("simulate-meters")(simulate_commands.simulate_meters)
app.command("demo")(simulate_commands.demo)
app.add_typer(simulate_commands.group, name="simulate")
app.add_typer(lifecycle_commands.reading_app, name="reading")
app.add_typer(lifecycle_commands.cycle_app, name="cycle")
app.add_typer(lifecycle_commands.jobs_app, name="jobs")
app.add_typer(lifecycle_commands.short_bill_app, name="short-bill")
app.add_typer(lifecycle_commands.complaint_app, name="complaint")
app.add_typer(lifecycle_commands.holds_app, name="holds")
app.add_typer(lifecycle_commands.hes_app, name="hes")
app.add_typer(lifecycle_commands.queue_app, name="disconnections")
app.add_typer(lifecycle_commands.report_app, name="report")
app.add_typer(lifecycle_commands.connection_language, name="language")

# --- db ------------------------------------------------------------------------------------


@db_app.command("upgrade")
@common.friendly_errors
def db_upgrade() -> None:
    """Create the schema or bring it to the latest version (WATTWALLET_DATABASE_URL)."""
    settings = common.settings()
    store = db.Store.from_url(settings.database_url)
    try:
        migrate.upgrade(store.engine)
    finally:
        store.dispose()
    with common.context():
        pass  # opening the context creates the DISCOM-side ledger accounts
    typer.echo(f"database is at schema {migrate.head_revision()}")


@db_app.command("status")
@common.friendly_errors
def db_status() -> None:
    """Show the schema version of the database and the latest one this release knows."""
    store = db.Store.from_url(common.settings().database_url)
    try:
        current = migrate.current_revision(store.engine)
    finally:
        store.dispose()
    head = migrate.head_revision()
    typer.echo(f"database schema: {current or 'none'}; latest: {head}")
    if current != head:
        raise typer.Exit(1)


# --- connections ---------------------------------------------------------------------------


@connection_app.command("add")
@common.friendly_errors
def connection_add(
    service_no: Annotated[str, typer.Argument(help="The DISCOM's service number (the customer ID).")],
    name: Annotated[str, typer.Option(help="Consumer's name as on the DISCOM's records.")],
    category: Annotated[str, typer.Option(help="Tariff category key, e.g. LT-I or LT-II.")],
    load_kw: Annotated[str, typer.Option(help="Sanctioned load in kW, e.g. 2 or 3.5.")],
    mobile: Annotated[str, typer.Option(help="Registered Indian mobile number, e.g. +919876543210.")],
    meter: Annotated[str, typer.Option(help="Smart meter serial number.")],
    mode: Annotated[str, typer.Option(help="prepaid or postpaid.")] = "prepaid",
    language: Annotated[str, typer.Option(help="Bill and alert language: en or te.")] = "en",
    arrears: Annotated[str, typer.Option(help="Rupees already owed (e.g. postpaid arrears).")] = "0",
    register_kwh: Annotated[str, typer.Option(help="Meter register at installation, kWh.")] = "0",
) -> None:
    """Register a service connection with its smart meter and e-wallet."""
    now = common.now()
    with common.context() as ctx:
        new = registration.parse(
            ctx,
            service_no=service_no,
            consumer_name=name,
            category=category,
            load_kw=load_kw,
            mode=mode,
            mobile=mobile,
            language=language,
            meter_serial=meter,
            register_kwh=register_kwh,
            arrears_paise=money.parse_rupees(arrears, allow_zero=True),
            today=clock.ist_date(now),
        )
        registration.add(ctx, new, now=now)
    typer.echo(f"connection {new.service_no} added ({new.category}, {new.load_kw} kW, {new.mode.value})")


# --- recharge, dues, wallet ----------------------------------------------------------------


@app.command("recharge")
@common.friendly_errors
def recharge_command(
    service_no: Annotated[str, typer.Argument(help="Service number to recharge.")],
    amount: Annotated[str, typer.Argument(help="Rupees, e.g. 500 or 750.50.")],
    ref: Annotated[str, typer.Option(help="The channel's own unique reference for this payment.")],
    channel: Annotated[str, typer.Option(help="portal, app, retail, kiosk or counter.")],
    executive: Annotated[
        str | None, typer.Option(help="counter: the staff username of the executive who took the cash.")
    ] = None,
    agent: Annotated[
        str | None, typer.Option(help="retail or kiosk: the agent id; counts against its daily limit.")
    ] = None,
    paid_at: Annotated[
        str | None, typer.Option(help="When the payer paid (ISO 8601 with offset); default now.")
    ] = None,
    as_json: common.JsonOption = False,
) -> None:
    """Credit a recharge. Dues are recovered first; the same --ref again returns the first receipt.

    A counter recharge records its executive (--executive); a retail or kiosk one is taken by its
    agent (--agent) and counts against that agent's daily limit, as from the agent's own till."""
    now = common.now()
    paid = common.parse_instant(paid_at, "--paid-at") if paid_at else None
    taken = recharge.channel(channel)
    amount_paise = money.parse_rupees(amount)
    by_agent = taken in (recharge.Channel.RETAIL, recharge.Channel.KIOSK)
    if taken is recharge.Channel.COUNTER and not executive:
        raise recharges.TakerMissing(
            "--channel counter needs --executive: the staff member who took the cash"
        )
    if by_agent and not agent:
        raise recharges.TakerMissing(
            f"--channel {taken.value} needs --agent: the agent id that took the cash"
        )
    if executive and taken is not recharge.Channel.COUNTER:
        raise common.OptionNotForChannel("--executive is for --channel counter only")
    if agent and not by_agent:
        raise common.OptionNotForChannel("--agent is for --channel retail or kiosk only")
    with common.context() as ctx:
        if taken is recharge.Channel.COUNTER:
            assert executive is not None
            receipt = counter.recharge(
                ctx,
                by=executive,
                service_no=service_no,
                amount_paise=amount_paise,
                reference=ref,
                now=now,
                paid_at=paid,
            )
        elif agent:
            taker = agents.get(ctx, agent_id=agent)
            if taker.kind.value != taken.value:
                raise common.OptionNotForChannel(
                    f"agent {taker.id} is a {taker.kind.value}, not a {taken.value}"
                )
            receipt = agents.recharge_wallet(
                ctx,
                agent=taker,
                service_no=service_no,
                amount_paise=amount_paise,
                reference=ref,
                now=now,
                paid_at=paid,
            )
        else:
            receipt = recharges.recharge_wallet(
                ctx,
                service_no=service_no,
                channel=taken.value,
                reference=ref,
                amount_paise=amount_paise,
                paid_at=paid,
                now=now,
            )
    if as_json:
        common.echo_json(_receipt_dict(receipt))
        return
    repeat = " (repeat of an earlier request: nothing new was credited)" if receipt.replayed else ""
    typer.echo(
        f"receipt {receipt.receipt_no}{repeat}\n"
        f"  connection {receipt.service_no}, {receipt.channel.value} ref {receipt.reference}\n"
        f"  paid {money.inr(receipt.amount)}: {money.inr(receipt.to_dues)} to dues, "
        f"{money.inr(receipt.to_wallet)} to the wallet\n"
        f"  wallet balance {money.inr(receipt.balance)}; dues remaining {money.inr(receipt.dues_remaining)}"
    )


def _receipt_dict(receipt: recharges.Receipt) -> dict[str, Any]:
    data = dataclasses.asdict(receipt)
    for key in ("amount", "to_dues", "to_wallet", "balance", "dues_remaining"):
        data[key] = money.rupees(data[key])
    data["channel"] = receipt.channel.value
    data["paid_at"] = receipt.paid_at.isoformat()
    data["recorded_at"] = receipt.recorded_at.isoformat()
    return data


@dues_app.command("add")
@common.friendly_errors
def dues_add(
    service_no: Annotated[str, typer.Argument(help="Service number.")],
    amount: Annotated[str, typer.Argument(help="Rupees owed.")],
    reason: Annotated[str, typer.Option(help="Why the consumer owes this (shown to them).")],
    ref: Annotated[str, typer.Option(help="A unique reference; repeating it does not add dues twice.")],
    kind: Annotated[str, typer.Option(help="arrears or technical_adjustment.")] = "technical_adjustment",
) -> None:
    """Raise pending dues on a connection; the next recharges recover them first."""
    with common.context() as ctx:
        added = dues.add(
            ctx,
            service_no=service_no,
            kind=kind,
            amount_paise=money.parse_rupees(amount),
            reason=reason,
            reference=ref,
            now=common.now(),
        )
    note = " (already recorded)" if added.replayed else ""
    typer.echo(
        f"dues {added.reference}{note}: {money.inr(added.amount)}; "
        f"total dues now {money.inr(added.dues_total)}"
    )


@app.command("wallet")
@common.friendly_errors
def wallet_command(
    service_no: Annotated[str, typer.Argument(help="Service number.")],
    as_json: common.JsonOption = False,
) -> None:
    """Show a connection's wallet: balance, dues, state and recent recharges."""
    with common.context() as ctx:
        view = wallets.view(ctx, service_no=service_no, now=common.now())
    c = view.connection
    if as_json:
        common.echo_json(
            {
                "service_no": c.service_no,
                "consumer": c.consumer_name,
                "category": c.category,
                "load_kw": str(c.load_kw),
                "mode": c.mode.value,
                "state": c.state.value,
                "language": c.language.value,
                "mobile": c.mobile,
                "meter": c.meter_serial,
                "relay": c.relay,
                "balance": money.rupees(view.balance),
                "dues": money.rupees(view.dues),
                "first_recharge_done": c.first_recharge_done,
                "first_recharge_minimum": (
                    None if view.first_recharge_minimum is None else money.rupees(view.first_recharge_minimum)
                ),
                "recent_recharges": [_receipt_dict(r) for r in view.recent_recharges],
            }
        )
        return
    typer.echo(
        f"{c.service_no}  {c.consumer_name}  ({c.category}, {c.load_kw} kW, {c.mode.value}, {c.state.value})"
    )
    typer.echo(f"  balance {money.inr(view.balance)}   dues {money.inr(view.dues)}")
    if view.first_recharge_minimum is not None:
        typer.echo(f"  first recharge pending: at least {money.inr(view.first_recharge_minimum)}")
    for r in view.recent_recharges:
        typer.echo(
            f"  {r.paid_at.astimezone(clock.IST):%Y-%m-%d %H:%M} IST  {r.receipt_no}  "
            f"{r.channel.value:<7} {money.inr(r.amount):>12}"
            f"  (dues {money.inr(r.to_dues)}, wallet {money.inr(r.to_wallet)})"
        )


# --- ledger ----------------------------------------------------------------------------------


@ledger_app.command("verify")
@common.friendly_errors
def ledger_verify_command(as_json: common.JsonOption = False) -> None:
    """Check every ledger invariant; exit 1 naming the first discrepancy found."""
    with common.context() as ctx, ctx.store.read() as conn:
        report = ledger_verify.verify(conn)
    if as_json:
        common.echo_json(
            {
                "ok": report.ok,
                "postings": report.postings,
                "lines": report.lines,
                "accounts": report.accounts,
                "discrepancies": [dataclasses.asdict(d) for d in report.discrepancies],
            }
        )
    elif report.ok:
        typer.echo(
            f"ledger OK: {report.postings} postings, {report.lines} lines, {report.accounts} accounts; "
            "every posting balances, all accounts sum to zero, stored balances match, no posting changed"
        )
    else:
        first = report.discrepancies[0]
        typer.echo(f"ledger FAILED [{first.check}]: {first.message}", err=True)
        if len(report.discrepancies) > 1:
            typer.echo(f"  ... and {len(report.discrepancies) - 1} more discrepancies", err=True)
    if not report.ok:
        raise typer.Exit(1)


# --- scenarios -------------------------------------------------------------------------------


@scenario_app.command("run")
def scenario_run(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file (see SCENARIOS.md).")],
    compliance: Annotated[
        bool,
        typer.Option(
            "--compliance", help="End with a `compliance` line: the report over the scenario's days."
        ),
    ] = False,
) -> None:
    """Replay a scenario on a fresh in-memory store; print each effect as a JSON line."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"error: cannot read {file}: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        scenario = scenario_model.load(text, default_book=common.settings().discom)
        lines = list(scenario_runner.replay(scenario, compliance=compliance))
    except scenario_model.ScenarioInvalid as exc:
        typer.echo(f"error: {file}: {exc.message}", err=True)
        raise typer.Exit(2) from None
    for line in lines:
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
