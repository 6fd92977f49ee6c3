"""`wattwallet simulate-meters` and `wattwallet demo`: a simulated meter fleet over MQTT, and a whole
DISCOM's days on an accelerated clock. They translate options into wattwallet.simulation calls."""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import tempfile
import threading
from pathlib import Path
from typing import Annotated

import typer

from wattwallet.cli import common
from wattwallet.domain import errors
from wattwallet.simulation import chaos, faults, mqtt_meters
from wattwallet.simulation import demo as demo_run
from wattwallet.store import db, migrate

DEFAULT_DEMO_DB = Path("var/demo-simulation.db")


def _day(text: str | None, what: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise errors.InvalidInput(f"{what} must be a date like 2025-05-05, got {text!r}") from None


@common.friendly_errors
def simulate_meters(
    count: Annotated[int, typer.Option("--count", min=1, help="How many meters to simulate.")],
    broker: Annotated[str, typer.Option(help="The MQTT broker, mqtt://host:port.")] = "mqtt://127.0.0.1:1883",
    prefix: Annotated[str, typer.Option(help="Topic prefix, as WattWallet's link uses.")] = "wattwallet/hes",
    days: Annotated[int, typer.Option(min=0, help="Simulated days each meter reports.")] = 1,
    start: Annotated[
        str | None,
        typer.Option(help="First day reported (YYYY-MM-DD); default: so that the last day ends today."),
    ] = None,
    days_per_second: Annotated[
        float | None, typer.Option(min=0.001, help="Accelerated clock: this many simulated days a second.")
    ] = None,
    interval_seconds: Annotated[
        float | None, typer.Option(min=0, help="Real seconds between two simulated days (default 1).")
    ] = None,
    fail_rate: Annotated[float, typer.Option(min=0, max=1, help="Share of commands that fail.")] = 0.02,
    delay_seconds: Annotated[
        float, typer.Option(min=0, help="A command is carried out after a random delay up to this.")
    ] = 2.0,
    seed: Annotated[int, typer.Option(help="The same seed gives the same consumption and outcomes.")] = 1,
    serials_from_db: Annotated[
        bool,
        typer.Option(
            "--serials-from-db", help="Take the meters the DISCOM registered (WATTWALLET_DATABASE_URL)."
        ),
    ] = False,
    serial_prefix: Annotated[str, typer.Option(help="Else meters <prefix>000001, ...")] = "SM-AP-",
    first_serial: Annotated[int, typer.Option(min=0, help="Number of the first meter.")] = 1,
    run_seconds: Annotated[
        float | None,
        typer.Option(
            min=0, help="Keep answering commands this long after the last day (default: until Ctrl-C)."
        ),
    ] = None,
    client_id: Annotated[
        str, typer.Option(help="MQTT client id of the simulated HES.")
    ] = "wattwallet-meter-simulator",
) -> None:
    """Virtual meters behind a simulated HES: readings out, relay commands obeyed (docs/hes-mqtt.md)."""
    if days_per_second is not None and interval_seconds is not None:
        raise errors.InvalidInput("give --days-per-second or --interval-seconds, not both")
    interval = (
        1 / days_per_second if days_per_second else 1.0 if interval_seconds is None else interval_seconds
    )
    first_day = _day(start, "--start")
    if serials_from_db:
        store = db.Store.from_url(common.settings().database_url)
        try:
            fleet, newest = mqtt_meters.from_store(store, count=count, seed=seed)
        finally:
            store.dispose()
        if not fleet:
            raise errors.NotFound("the database has no meters to simulate")
        first_day = first_day or newest
    else:
        fleet = mqtt_meters.numbered(count=count, prefix=serial_prefix, first=first_serial, seed=seed)
    try:
        settings = mqtt_meters.FleetSettings(
            broker_url=broker,
            prefix=prefix.strip("/"),
            start=first_day,
            days=days,
            interval_seconds=interval,
            fail_rate=fail_rate,
            max_delay_seconds=delay_seconds,
            seed=seed,
            client_id=client_id,
        )
    except ValueError as exc:
        raise errors.InvalidInput(str(exc)) from None
    simulation = mqtt_meters.MeterFleet(fleet, settings=settings)
    try:
        simulation.start()
    except TimeoutError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    typer.echo(f"{len(fleet)} meters on {broker} under {settings.prefix}/, from {simulation.day}", err=True)
    try:
        simulation.run(stop=stop, serve_seconds=run_seconds, report=lambda line: typer.echo(line, err=True))
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        simulation.stop()
    typer.echo(json.dumps(simulation.stats(), sort_keys=True))


@common.friendly_errors
def demo(
    meters: Annotated[int, typer.Option(min=1, max=100_000, help="How many consumers and meters.")] = 200,
    days: Annotated[int, typer.Option(min=1, max=366, help="How many days to simulate.")] = 10,
    seed: Annotated[int, typer.Option(help="The same seed gives the same demo.")] = 1,
    start: Annotated[
        str, typer.Option(help="First simulated day (YYYY-MM-DD).")
    ] = demo_run.DEFAULT_START.isoformat(),
    json_only: Annotated[
        bool, typer.Option("--json-only", help="Print only the JSON line of counts.")
    ] = False,
    broker: Annotated[
        str | None,
        typer.Option(help="Run the meters over MQTT through the real HES link (mqtt://host:1883)."),
    ] = None,
    prefix: Annotated[str, typer.Option(help="Topic prefix with --broker.")] = "wattwallet/hes",
    database: Annotated[
        Path | None,
        typer.Option(
            help=f"SQLite file made afresh; default {DEFAULT_DEMO_DB}, or WATTWALLET_DATABASE_URL if set."
        ),
    ] = None,
) -> None:
    """Simulate a DISCOM's consumers for some days through the real engine and summarise; the last
    line is one JSON object of the counts."""
    first = _day(start, "--start")
    assert first is not None
    spec = demo_run.Spec(
        meters=meters, days=days, seed=seed, start=first, broker_url=broker, prefix=prefix.strip("/")
    )
    settings = common.settings()
    if database is None and "database_url" in settings.model_fields_set:
        url = settings.database_url  # the operator's database: used only if it has no connections
    else:
        url = _fresh_sqlite(database or DEFAULT_DEMO_DB)
    store = db.Store.from_url(url)
    try:
        migrate.upgrade(store.engine)
        progress = None if json_only else (lambda line: typer.echo(line, err=True))
        summary = demo_run.run(store=store, spec=spec, progress=progress)
    finally:
        store.dispose()
    if not json_only:
        for line in summary.lines:
            typer.echo(line)
        typer.echo(f"  database: {url}")
    typer.echo(json.dumps(summary.counts, ensure_ascii=False))


def _fresh_sqlite(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path.resolve()}"


group = typer.Typer(help="Deterministic fleet simulation with fault injection.", no_args_is_help=True)


@group.command("run")
@common.friendly_errors
def run(
    seed: Annotated[int, typer.Option(help="The seed: the same seed and code give the same run.")] = 1,
    connections: Annotated[int, typer.Option(min=1, max=10_000, help="How many connections.")] = 50,
    days: Annotated[int, typer.Option(min=1, max=366, help="How many days to simulate.")] = 30,
    fault_profile: Annotated[
        str, typer.Option("--faults", help="Fault profile: " + ", ".join(faults.PROFILES) + ".")
    ] = "heavy",
    database: Annotated[
        str | None,
        typer.Option("--db", help="Database URL (made empty first); default a temporary SQLite file."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress lines.")] = False,
) -> None:
    """Run the real engine on a simulated clock under faults, checking every rule throughout; print
    the report (exit 1 on any violation, with the command that replays it)."""
    profile = faults.PROFILES.get(fault_profile)
    if profile is None:
        raise errors.InvalidInput(
            f"--faults must be one of {', '.join(faults.PROFILES)}, got {fault_profile!r}"
        )
    logging.disable(logging.ERROR)  # the engine logs each fault it meets; the report says what mattered
    try:
        with tempfile.TemporaryDirectory(prefix="wattwallet-sim-") as folder:
            url = database or f"sqlite:///{Path(folder) / 'simulation.db'}"
            chaos.fresh(url, empty=database is not None)
            spec = chaos.Spec(seed=seed, connections=connections, days=days, profile=profile, url=url)
            progress = None if quiet else (lambda line: typer.echo(line, err=True))
            result = chaos.run(spec, database_option=database, progress=progress)
    finally:
        logging.disable(logging.NOTSET)
    for line in result.lines():
        typer.echo(line)
    if not result.ok:
        raise typer.Exit(1)
