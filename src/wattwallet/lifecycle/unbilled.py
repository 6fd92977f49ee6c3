"""The running totals of each postpaid connection's rated days not billed yet (`postpaid_unbilled`).

The rows of `postpaid_charges` are the truth; these totals let a month's bill read one row per
connection instead of thirty. The daily cycle adds each night's days (`add`); a bill takes the
totals whole when they hold only days of its month or earlier (`usable`), and starts them again
(`forget`). A day of a later month that arrives before its predecessor's bill (a bill run that is
late) is left out and the totals marked `overflow`: that bill then reads the rows, and the totals
are made again from what is left (`rebuild`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.store import bulk, schema


@dataclasses.dataclass
class Totals:
    service_no: str
    month: dt.date
    days: int
    wh: int
    amount: int
    first_day: dt.date
    last_day: dt.date
    components: dict[str, int]
    upto_id: int
    overflow: bool = False

    def usable_for(self, month_end: dt.date) -> bool:
        """Whether these totals are exactly the days a bill of the month ending before `month_end`
        takes: no day of a later month held, none left out."""
        return not self.overflow and self.month < month_end

    def add(
        self, *, charge_id: int, day: dt.date, wh: int, amount: int, items: Sequence[tuple[str, int]]
    ) -> None:
        if day.replace(day=1) > self.month:
            self.overflow = True  # for the rows to carry until this month is billed
            return
        self.days += 1
        self.wh += wh
        self.amount += amount
        self.first_day, self.last_day = min(self.first_day, day), max(self.last_day, day)
        for component, paise in items:
            self.components[component] = self.components.get(component, 0) + paise
        self.upto_id = max(self.upto_id, charge_id)


_COLUMNS = (
    "service_no",
    "month",
    "days",
    "wh",
    "amount",
    "first_day",
    "last_day",
    "components",
    "upto_id",
    "overflow",
)


def read(conn: Connection, service_nos: Sequence[str]) -> dict[str, Totals]:
    if not service_nos:
        return {}
    u = schema.postpaid_unbilled
    rows = conn.execute(
        sa.select(*(u.c[c] for c in _COLUMNS)).where(u.c.service_no.in_(list(service_nos)))
    ).all()
    return {row[0]: _totals(row) for row in rows}


def read_range(conn: Connection, *, first: str, last: str) -> dict[str, Totals]:
    u = schema.postpaid_unbilled
    query = sa.select(*(u.c[c] for c in _COLUMNS)).where(u.c.service_no >= first, u.c.service_no <= last)
    return {row[0]: _totals(row) for row in conn.execute(query).all()}


def _totals(row: Any) -> Totals:
    no, month, days, wh, amount, first_day, last_day, components, upto_id, overflow = row
    return Totals(
        no, month, days, wh, amount, first_day, last_day, orjson.loads(components), upto_id, bool(overflow)
    )


def add(
    conn: Connection, charges: Sequence[tuple[int, str, dt.date, int, int, Sequence[tuple[str, int]]]]
) -> None:
    """Add rated days (charge id, service number, day, Wh, paise, items), each connection's in day
    order, to their connections' totals: one read and one write for the lot."""
    if not charges:
        return
    found = read(conn, sorted({c[1] for c in charges}))
    for charge_id, no, day, wh, amount, items in charges:
        totals = found.get(no)
        if totals is None:
            found[no] = totals = Totals(no, day.replace(day=1), 0, 0, 0, day, day, {}, 0)
        totals.add(charge_id=charge_id, day=day, wh=wh, amount=amount, items=items)
    write(conn, found.values())


def write(conn: Connection, totals: Iterable[Totals]) -> None:
    kept = list(totals)
    forget(conn, [t.service_no for t in kept])
    bulk.insert(
        conn,
        schema.postpaid_unbilled,
        _COLUMNS,
        [
            (
                t.service_no,
                t.month,
                t.days,
                t.wh,
                t.amount,
                t.first_day,
                t.last_day,
                orjson.dumps(t.components).decode(),
                t.upto_id,
                t.overflow,
            )
            for t in kept
            if t.days or t.overflow
        ],
    )


def forget(conn: Connection, service_nos: Sequence[str]) -> None:
    if service_nos:
        u = schema.postpaid_unbilled
        conn.execute(sa.delete(u).where(u.c.service_no.in_(list(service_nos))))


def rebuild(conn: Connection, days: Sequence[Any]) -> None:
    """Totals made again from the rows still not taken (`_charges.Day`s, each connection's oldest
    first), for the connections they are of."""
    totals: dict[str, Totals] = {}
    for d in days:
        t = totals.get(d.service_no)
        if t is None:
            totals[d.service_no] = t = Totals(
                d.service_no, d.day.replace(day=1), 0, 0, 0, d.day, d.day, {}, 0
            )
        t.add(charge_id=d.id, day=d.day, wh=d.wh, amount=d.amount, items=orjson.loads(d.items))
    write(conn, totals.values())
