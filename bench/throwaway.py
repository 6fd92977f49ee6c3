"""A database that a benchmark builds and drops: a temporary SQLite file, or a fresh PostgreSQL
database on the local server (postgresql+psycopg://postgres@127.0.0.1:5432); the context over it;
a free local port for the servers a benchmark starts."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from wattwallet import tariffs
from wattwallet.context import Context
from wattwallet.domain import policy
from wattwallet.store import db, migrate

PG_ADMIN = os.environ.get("WATTWALLET_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def fresh_database(kind: str) -> tuple[str, Callable[[], None]]:
    """The new database's URL, and the function that drops it."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="ww-bench-")
        return f"sqlite:///{Path(folder) / 'bench.db'}", lambda: shutil.rmtree(folder, ignore_errors=True)
    name = f"wattwallet_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def migrated_context(url: str) -> Context:
    """The schema brought up to date at `url`, and a context over it with the built-in tariffs."""
    store = db.Store.from_url(url)
    migrate.upgrade(store.engine)
    return Context(store=store, tariffs=tariffs.book(tariffs.DEFAULT_DISCOM), policy=policy.Policy())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
