"""A postpaid connection's rated days not billed yet (`postpaid_charges` rows after its
`prepaid_state.postpaid_taken_id`): what a bill or a switch to prepaid takes, and marking them taken.

A connection's days are rated in day order (the cycle never bills a day before one it has billed),
so its rows' ids rise with the day: "taken" is one id per connection, moved in one statement for a
whole chunk, instead of a mark on each of a month's thirty rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.store import bulk, schema


class Day(NamedTuple):
    id: int
    service_no: str
    day: dt.date
    wh: int
    amount: int
    items: str  # JSON [[component, paise], ...]


def untaken(
    conn: Connection, *, first: str, last: str, before: dt.date | None = None, since: dt.date | None = None
) -> list[Day]:
    """The days not taken yet of the connections in [first, last], oldest first (only days in
    [since, before), where given), in one range read."""
    pc, s = schema.postpaid_charges, schema.prepaid_state
    query = (
        sa.select(pc.c.id, pc.c.service_no, pc.c.day, pc.c.wh, pc.c.amount, pc.c["items"])
        .select_from(pc.join(s, s.c.service_no == pc.c.service_no))
        .where(
            pc.c.service_no >= first,
            pc.c.service_no <= last,
            s.c.service_no >= first,
            s.c.service_no <= last,
            pc.c.id > s.c.postpaid_taken_id,
            pc.c.day < before if before is not None else sa.true(),
            pc.c.day >= since if since is not None else sa.true(),
        )
        .order_by(pc.c.service_no, pc.c.id)
    )
    return [Day._make(row) for row in conn.execute(query).all()]  # one fetch: rows by the thousand


def untaken_total(conn: Connection, service_no: str) -> int:
    return sum(d.amount for d in untaken(conn, first=service_no, last=service_no))


def take(conn: Connection, upto: Mapping[str, int]) -> None:
    """Mark each connection's days up to and including the id given as taken."""
    bulk.update(
        conn, schema.prepaid_state, "service_no", ("postpaid_taken_id",), [(i, no) for no, i in upto.items()]
    )


def last_ids(days: Sequence[Day]) -> dict[str, int]:
    """The newest id of each connection among `days` (sorted by service number and id)."""
    return {d.service_no: d.id for d in days}
