"""Fixtures: a migrated store on each backend, a context, a fixed clock, connection factories.

Every test that takes `store` or `ctx` runs twice: on SQLite and on PostgreSQL. PostgreSQL is
used when reachable (WATTWALLET_TEST_PG_URL, default 127.0.0.1:5432); under CI=true an
unreachable server fails the run instead of skipping.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from wattwallet import tariffs
from wattwallet.consumers import registration
from wattwallet.context import Context
from wattwallet.domain import clock, policy
from wattwallet.ledger import accounts
from wattwallet.store import db, migrate, schema

PG_ADMIN_URL = os.environ.get("WATTWALLET_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"

# A Monday morning in IST, inside FY2025-26 (the sample tariff and FPPCA window).
NOW = dt.datetime(2025, 6, 2, 9, 0, tzinfo=clock.IST)


def _pg_reachable() -> str | None:
    engine = sa.create_engine(PG_ADMIN_URL)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return None
    except sa.exc.OperationalError as exc:
        return str(exc.orig).strip().splitlines()[0]
    finally:
        engine.dispose()


def _seed(store: db.Store) -> None:
    with store.write() as conn:
        accounts.ensure_system_accounts(conn, now=NOW)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    store = db.Store.from_url(f"sqlite:///{path}")
    migrate.upgrade(store.engine)
    _seed(store)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    problem = _pg_reachable()
    if problem:
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {problem}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    name = f"wattwallet_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = db.create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _truncate_all(store: db.Store) -> None:
    tables = ", ".join(t.name for t in schema.metadata.sorted_tables)
    with store.write() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        path = tmp_path / "wattwallet.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    store = db.Store.from_url(url)
    _truncate_all(store)
    _seed(store)
    store.dispose()
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[db.Store]:
    store = db.Store.from_url(store_url)
    yield store
    store.dispose()


@pytest.fixture
def rules() -> policy.Policy:
    return policy.Policy()


@pytest.fixture
def ctx(store: db.Store, rules: policy.Policy) -> Context:
    return Context(store=store, tariffs=tariffs.book("sample"), policy=rules)


@pytest.fixture
def now() -> dt.datetime:
    return NOW


AddConnection = Callable[..., str]


@pytest.fixture
def add_connection(ctx: Context) -> AddConnection:
    """Register a connection with sensible defaults; keyword arguments override them."""
    counter = iter(range(1, 10_000))

    def add(**overrides: Any) -> str:
        n = next(counter)
        fields: dict[str, Any] = {
            "service_no": f"{1234567890000 + n}",
            "consumer_name": f"Consumer {n}",
            "category": "LT-I",
            "load_kw": "2",
            "mode": "prepaid",
            "mobile": "+919876543210",
            "language": "en",
            "meter_serial": f"SM{n:06d}",
            "today": NOW.date(),
        }
        fields.update(overrides)
        new = registration.parse(ctx, **fields)
        registration.add(ctx, new, now=NOW)
        return new.service_no

    return add


def table_counts(store: db.Store) -> dict[str, int]:
    """Row counts of every table: a rejected request must leave all of them unchanged."""
    with store.read() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in schema.metadata.sorted_tables
        }


def free_port() -> int:
    """A local port nobody listens on, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- recharges by any channel, through the taker each channel needs --------------------------------

TEST_EXECUTIVE = "sc.test"
TEST_AGENT_LIMIT_PAISE = 10**12


def agents_for_tests(ctx: Context, *, now: dt.datetime) -> dict[str, Any]:
    """One retail outlet and one kiosk (created on first use, so call this once before threads race)."""
    from wattwallet.wallet import agents

    found = {listed.agent.name: listed.agent for listed in agents.all_agents(ctx, now=now)}
    for kind in ("retail", "kiosk"):
        name = f"test {kind}"
        if name not in found:
            issued = agents.create(
                ctx, name=name, kind_name=kind, daily_limit_paise=TEST_AGENT_LIMIT_PAISE, now=now
            )
            found[name] = issued.agent
    return {"retail": found["test retail"], "kiosk": found["test kiosk"]}


def take_recharge(ctx: Context, *, channel: str, **call: Any) -> Any:
    """A recharge on `channel` as it is really taken: a counter's by its executive, a retail or kiosk
    one by its agent (within its limit), an online one as the payment path posts it."""
    from wattwallet.wallet import agents, counter, recharges

    if channel == "counter":
        return counter.recharge(ctx, by=TEST_EXECUTIVE, **call)
    if channel in ("retail", "kiosk"):
        agent = agents_for_tests(ctx, now=call["now"])[channel]
        return agents.recharge_wallet(ctx, agent=agent, **call)
    return recharges.recharge_wallet(ctx, channel=channel, **call)
