"""Multi-row writes straight to the driver, for the batch jobs.

SQLAlchemy's per-row parameter processing costs more than the database work when a batch writes
tens of thousands of rows, so these helpers take plain tuples and hand them to the DBAPI's
executemany. Values must already be what the column stores: aware datetimes are converted here
exactly as `types.UTCDateTime` converts them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def _adapt(conn: Connection, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    if conn.dialect.name != "sqlite":
        return [tuple(row) for row in rows]
    # Only the columns that hold dates need converting; find them once, convert each value once.
    dated = {i for row in rows[:50] for i, v in enumerate(row) if isinstance(v, dt.date)}
    if not dated:
        return [tuple(row) for row in rows]
    seen: dict[Any, Any] = {}
    adapted = []
    for row in rows:
        values = list(row)
        for i in dated:
            value = values[i]
            if value not in seen:
                seen[value] = _sqlite_value(value)
            values[i] = seen[value]
        adapted.append(tuple(values))
    return adapted


def _sqlite_value(value: Any) -> Any:
    """SQLite keeps naive UTC text for instants (as types.UTCDateTime writes them) and ISO dates."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


_FEW = 8  # rows up to which a plain INSERT beats COPY on PostgreSQL


def insert(conn: Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql" and len(rows) <= _FEW:
        # A handful of rows (a recharge's posting, lines and message): one plain INSERT is one round
        # trip where COPY takes three, and psycopg prepares it once it has seen it a few times.
        marks = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {marks}"  # noqa: S608 (our own names)
        with _raw(conn).cursor() as cursor:
            cursor.execute(sql, [value for row in rows for value in row])
        return
    if conn.dialect.name == "postgresql":
        # COPY is an order of magnitude faster than even a pipelined executemany.
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with _raw(conn).cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join(["?"] * len(columns))
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 (our own schema names)
    conn.exec_driver_sql(sql, _adapt(conn, rows))


def update(
    conn: Connection, table: sa.Table, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """UPDATE table SET columns... WHERE key = ?; each row is (*column values, key value)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql" and len(rows) == 1:
        # One row (a recharge's wallet, or its dues): a plain UPDATE straight to the driver costs less
        # than building the array form below (and psycopg prepares it after a few uses).
        sets = ", ".join(f"{column} = %s" for column in columns)
        sql = f"UPDATE {table.name} SET {sets} WHERE {key} = %s"  # noqa: S608 (our own schema names)
        with _raw(conn).cursor() as cursor:
            cursor.execute(sql, tuple(rows[0]))
        return
    if conn.dialect.name == "postgresql":
        # One statement: the new values travel as one array per column.
        names = [*columns, key]
        arrays = ", ".join(f"%s::{table.c[name].type.compile(conn.dialect)}[]" for name in names)
        sets = ", ".join(f"{column} = v.{column}" for column in columns)
        sql = (
            f"UPDATE {table.name} AS t SET {sets} FROM unnest({arrays}) AS v({', '.join(names)}) "  # noqa: S608
            f"WHERE t.{key} = v.{key}"
        )
        # Each array as its text literal, built here: psycopg's list dumper walks every element in
        # Python and cost more than the UPDATE itself.
        columns_values = list(zip(*rows, strict=True))
        try:
            arrays_values: tuple[Any, ...] = tuple(_array_literal(values) for values in columns_values)
        except TypeError:  # a value of another type: let psycopg adapt the lists
            arrays_values = tuple(list(values) for values in columns_values)
        conn.exec_driver_sql(sql, arrays_values)
        return
    sets = ", ".join(f"{column} = ?" for column in columns)
    sql = f"UPDATE {table.name} SET {sets} WHERE {key} = ?"  # noqa: S608 (our own schema names)
    conn.exec_driver_sql(sql, _adapt(conn, rows))


def _array_literal(values: Sequence[Any]) -> str:
    """A PostgreSQL array literal ('{1,NULL,"a b"}') of ints, texts, dates, aware datetimes."""
    kinds = set(map(type, values))
    if kinds == {int}:
        return "{" + ",".join(map(str, values)) + "}"
    if kinds == {str}:
        joined = '","'.join(values)
        if "\\" not in joined and '"' not in joined:
            return '{"' + joined + '"}'
    elif kinds == {dt.date}:
        return "{" + ",".join(map(dt.date.isoformat, values)) + "}"
    # Few distinct values (one updated_at, mostly NULLs): convert each once.
    elements = {v: _element(v) for v in set(values)}
    return "{" + ",".join([elements[v] for v in values]) + "}"


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware datetime")
        return '"' + value.isoformat() + '"'
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"no array literal for {type(value).__name__}")


def _raw(conn: Connection) -> Any:
    """The driver's own connection, inside the same transaction as `conn`."""
    return conn.connection.driver_connection


def reserve_ids(conn: Connection, table: sa.Table, count: int) -> list[int]:
    """Ids for `count` new rows, so children can be written without RETURNING round trips.
    Call inside a write transaction (SQLite's write lock keeps max(id) stable until commit)."""
    if count == 0:
        return []
    if conn.dialect.name == "sqlite":
        top = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table.name}").scalar_one()  # noqa: S608
        return list(range(top + 1, top + 1 + count))
    if count == 1:
        # The recharge path: straight to the driver, SQLAlchemy's own work would cost more than this.
        with _raw(conn).cursor() as cursor:
            row = cursor.execute(f"SELECT nextval('{table.name}_id_seq')").fetchone()
        return [row[0]]
    sql = f"SELECT nextval('{table.name}_id_seq') FROM generate_series(1, %(n)s)"  # noqa: S608
    return list(conn.exec_driver_sql(sql, {"n": count}).scalars())
