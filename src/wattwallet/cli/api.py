"""`wattwallet serve` and the accounts the API needs: staff users (agents are in commands/agents)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Annotated

import typer
import uvicorn

from wattwallet.api import server as api_server
from wattwallet.cli import common
from wattwallet.jobs import background, runner
from wattwallet.staff import accounts as staff
from wattwallet.store import db, migrate

staff_app = typer.Typer(
    help="Staff accounts of the API (roles: admin, billing, helpline, ...).", no_args_is_help=True
)


def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (default WATTWALLET_API__HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default WATTWALLET_API__PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes (PostgreSQL).")] = 1,
    upgrade: Annotated[bool, typer.Option(help="Bring the schema up to date first.")] = True,
    jobs: Annotated[
        bool,
        typer.Option(help="Also run the scheduler, dispatcher and HES link (else: `wattwallet worker`)."),
    ] = True,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the HTTP API (OpenAPI description at /api/v1/openapi.json, docs at /api/v1/docs)."""
    settings = common.settings()
    if upgrade:
        store = db.Store.from_url(settings.database_url)
        try:
            migrate.upgrade(store.engine)
        finally:
            store.dispose()
    if workers > 1 and settings.database_url.startswith("sqlite"):
        typer.echo("note: SQLite takes one writer at a time; extra workers mostly wait", err=True)
    os.environ["WATTWALLET_API__BACKGROUND"] = "true" if jobs else "false"  # read by each worker process
    uvicorn.run(
        "wattwallet.api.server:app_from_environment",
        factory=True,
        host=host or settings.api.host,
        port=port or settings.api.port,
        workers=workers,
        log_level=log_level,
        access_log=log_level == "debug",
        **api_server.UVICORN_OPTIONS,
    )


def worker(
    once: Annotated[bool, typer.Option(help="Run one tick of due work and exit.")] = False,
) -> None:
    """Run the scheduled and background work (daily cycle, disconnection window, notices,
    terminations, HES sends and confirmations, message delivery) without the API. Several workers
    may run at once against PostgreSQL: each job occurrence is claimed by one of them."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    settings = common.settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with common.context() as ctx:
        if once:
            ran = runner.tick(ctx, now=common.now(), worker=runner.worker_name())
            typer.echo(f"ran: {', '.join(ran) or 'nothing was due'}")
            return
        linked, work = background.build(ctx, settings)
        del linked  # the parts hold the context they need
        work.start()
        typer.echo("worker running (Ctrl-C stops it)", err=True)
        stop.wait()
        work.stop()


@staff_app.command("add")
@common.friendly_errors
def staff_add(
    username: Annotated[str, typer.Argument(help="Sign-in name, e.g. 'ravi.k'")],
    role: Annotated[str, typer.Option(help="admin | billing | helpline | service_centre | field")],
    name: Annotated[str, typer.Option(help="Full name")],
    password_env: Annotated[
        str | None, typer.Option(help="Read the password from this environment variable (else stdin)")
    ] = None,
) -> None:
    """Add a staff user. The password comes from stdin or an environment variable, never an argument."""
    password = os.environ.get(password_env, "") if password_env else sys.stdin.readline().rstrip("\n")
    with common.context() as ctx:
        user = staff.add(
            ctx, username=username, name=name, role_name=role, password=password, now=common.now()
        )
    typer.echo(f"staff user {user.username} ({user.role.value}) added")
