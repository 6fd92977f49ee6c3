"""The engine and its transactions, one code path for SQLite and PostgreSQL.

SQLite: WAL, foreign keys on, and write transactions opened with BEGIN IMMEDIATE so that two
writers queue for the lock up front instead of failing at commit time. PostgreSQL: READ COMMITTED
with explicit row locks (SELECT ... FOR UPDATE) on the rows that serialise money.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

DEFAULT_URL = "sqlite:///wattwallet.db"
_BEGIN_OPTION = "wattwallet_sqlite_begin"


def create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_engine(url: str) -> Engine:
    in_memory = url in ("sqlite://", "sqlite:///:memory:")
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 60, "check_same_thread": False}}
    if in_memory:
        kwargs["poolclass"] = StaticPool  # one shared connection, or each checkout sees an empty db
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Store:
    """Owns the engine; hands out transactions. Repositories take the `Connection` it yields."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(create_engine(url))

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that will write: commits on success, rolls back on any exception."""
        engine = self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        with engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure


def is_transient(exc: BaseException) -> bool:
    """A failure that a fresh attempt of the same transaction may not meet again. Statements sent
    straight to the driver (store.bulk) raise the driver's own error, not SQLAlchemy's wrapper."""
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    return getattr(orig, "sqlstate", None) in TRANSIENT_SQLSTATES
