"""The connection record as every capability reads it: one query for one or many service numbers."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.domain import connection, errors
from wattwallet.store import schema


class UnknownConnection(errors.NotFound):
    code = "unknown_connection"


@dataclasses.dataclass(frozen=True)
class ConnectionRow:
    service_no: str
    consumer_name: str
    category: str
    load_kw: Decimal
    mode: connection.BillingMode
    mobile: str
    language: connection.Language
    state: connection.State
    first_recharge_done: bool
    meter_serial: str
    relay: str


def get(conn: Connection, service_no: str) -> ConnectionRow:
    found = get_many(conn, [service_no])
    if service_no not in found:
        raise UnknownConnection(f"no connection with service number {service_no}", service_no=service_no)
    return found[service_no]


def _by_numbers() -> sa.Select[Any]:
    c, m, cons = schema.connections, schema.meters, schema.consumers
    return (
        sa.select(c, cons.c.name, m.c.serial, m.c.relay)
        .select_from(c.join(cons, cons.c.id == c.c.consumer_id).join(m, m.c.service_no == c.c.service_no))
        .where(c.c.service_no.in_(sa.bindparam("service_nos", expanding=True)))
    )


# Built once: the recharge path reads its connections on every request.
_BY_NUMBERS = _by_numbers()


def get_many(conn: Connection, service_nos: Sequence[str]) -> dict[str, ConnectionRow]:
    """The connections among `service_nos` that exist, by service number (one query)."""
    if not service_nos:
        return {}
    return {
        row.service_no: ConnectionRow(
            service_no=row.service_no,
            consumer_name=row.name,
            category=row.category,
            load_kw=Decimal(row.sanctioned_load_w) / 1000,
            mode=connection.BillingMode(row.billing_mode),
            mobile=row.mobile,
            language=connection.Language(row.language),
            state=connection.State(row.state),
            first_recharge_done=row.first_recharge_done,
            meter_serial=row.serial,
            relay=row.relay,
        )
        for row in conn.execute(_BY_NUMBERS, {"service_nos": list(service_nos)})
    }


def mark_first_recharge_done(conn: Connection, service_no: str, *, now: dt.datetime) -> None:
    c = schema.connections
    conn.execute(
        sa.update(c).where(c.c.service_no == service_no).values(first_recharge_done=True, updated_at=now)
    )
