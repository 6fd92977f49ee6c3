"""Staff review of held consumption: implausible days and registers that ran backwards.

Held consumption is never deducted and never leads to a disconnection while it is open. Staff
either dismiss it (the consumer never pays it) or release implausible consumption that proves
real: it is then deducted, energy and per-unit charges only (the cycle billed the held days' fixed charges),
priced at the connection's current month position, and the usual alert rules follow.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa

from wattwallet.context import Context
from wattwallet.domain import clock, connection, errors, rating
from wattwallet.domain import events as domain_events
from wattwallet.ledger import accounts, postings
from wattwallet.lifecycle import consequences as balance
from wattwallet.store import connections, schema


class Status(enum.StrEnum):
    """held_consumption.status, checked by the database."""

    OPEN = "open"  # waiting for staff; never deducted, never leads to a disconnection
    RELEASED = "released"  # the consumption was real: deducted on release
    DISMISSED = "dismissed"  # the consumer never pays it


class UnknownHold(errors.NotFound):
    code = "unknown_hold"


class HoldClosed(errors.Conflict):
    code = "hold_already_reviewed"


class ReleaseNotPossible(errors.RuleViolation):
    code = "release_not_possible"


@dataclasses.dataclass(frozen=True)
class Hold:
    id: int
    service_no: str
    kind: str
    from_date: dt.date
    to_date: dt.date
    units_wh: int
    status: str
    created_at: dt.datetime


def listing(ctx: Context, *, open_only: bool = True) -> list[Hold]:
    h = schema.held_consumption
    query = sa.select(h).order_by(h.c.id)
    if open_only:
        query = query.where(h.c.status == Status.OPEN)
    with ctx.store.read() as conn:
        return [_hold(row) for row in conn.execute(query)]


def dismiss(ctx: Context, *, hold_id: int, by: str, note: str, now: dt.datetime) -> Hold:
    """The consumption was not real (a meter fault): it is never billed."""
    with ctx.store.write() as conn:
        row = _open(conn, hold_id)
        _close(conn, row.id, Status.DISMISSED, by=by, note=note, now=now)
        return dataclasses.replace(_hold(row), status=Status.DISMISSED)


@dataclasses.dataclass(frozen=True)
class Released:
    hold: Hold
    deducted: int  # paise taken from the wallet for the released consumption
    balance: int  # wallet balance afterwards, paise


def release(
    ctx: Context,
    *,
    hold_id: int,
    by: str,
    note: str,
    now: dt.datetime,
    events: domain_events.Log | None = None,
) -> Released:
    """The consumption was real: deduct it now (see the module docstring for how it is priced)."""
    follow: domain_events.Log = []
    with ctx.store.write() as conn:
        row = _open(conn, hold_id)
        if row.kind != "implausible":
            raise ReleaseNotPossible(
                "a backwards register has no consumption to bill: dismiss it after the meter check"
            )
        target = connections.get(conn, row.service_no)
        postpaid = target.mode is connection.BillingMode.POSTPAID
        if postpaid:
            accounts.open_postpaid_accounts(conn, service_nos=[row.service_no], now=now)
        book = postings.lock(conn, service_no=row.service_no, postpaid=postpaid)
        s = schema.prepaid_state
        state = conn.execute(sa.select(s).where(s.c.service_no == row.service_no)).one()
        today = clock.ist_date(now)
        month = today.replace(day=1)
        mtd, first_day = (state.mtd_wh, state.month_first_day) if state.month_start == month else (0, today)
        wh = row.to_register_wh - row.from_register_wh
        load_w = int(target.load_kw * 1000)

        def charge(units: int) -> rating.DayCharge:
            return rating.rate_day(
                ctx.tariffs,
                category=target.category,
                load_w=load_w,
                day=today,
                wh=units,
                mtd_wh_before=mtd,
                month_first_day=first_day,
            )

        with_units = charge(wh)
        without = {i.component: i.amount_paise for i in charge(0).items}
        items = [(i.component, i.amount_paise - without.get(i.component, 0)) for i in with_units.items]
        items = [(component, amount) for component, amount in items if amount]
        total = sum(amount for _, amount in items)
        if total:
            by_account: dict[str, int] = {}
            for component, amount in items:
                code = accounts.for_charge(component)
                by_account[code] = by_account.get(code, 0) - amount
            # Prepaid: from the wallet. Postpaid: owed on the next bill, due like a bill.
            charged = accounts.receivable(row.service_no) if postpaid else accounts.wallet(row.service_no)
            postings.post(
                conn,
                book,
                kind="deduction.released",
                lines=[postings.Line(charged, total)]
                + [postings.Line(code, amount) for code, amount in by_account.items() if amount],
                occurred_at=now,
                recorded_at=now,
                reference=f"hold:{row.id}",
                memo=f"held consumption {row.from_date}..{row.to_date} released by {by}",
            )
        if state.month_start == month:  # the released units count towards this month's slabs
            conn.execute(
                sa.update(s).where(s.c.service_no == row.service_no).values(mtd_wh=mtd + wh, updated_at=now)
            )
        if postpaid and total:
            conn.execute(
                sa.insert(schema.postpaid_items).values(
                    service_no=row.service_no,
                    kind="released",
                    label=f"held consumption {row.from_date}..{row.to_date}",
                    due_on=today + dt.timedelta(days=ctx.policy.postpaid_due_days),
                    amount=total,
                    paid=0,
                    created_at=now,
                )
            )
        _close(conn, row.id, Status.RELEASED, by=by, note=note, now=now)
        follow.append(
            domain_events.Deducted(
                at=now,
                connection=row.service_no,
                day=today,
                wh=wh,
                amount=total,
                balance=book.wallet,
                items=tuple(items),
                released_hold=row.id,
            )
        )
        if not postpaid:  # a postpaid connection has no balance-driven rules
            balance.after_change(
                ctx,
                conn,
                service_no=row.service_no,
                language=target.language.value,
                balance=book.wallet,
                now=now,
                events=follow,
            )
    if events is not None:
        events.extend(follow)
    return Released(
        dataclasses.replace(_hold(row), status=Status.RELEASED), deducted=total, balance=book.wallet
    )


def any_open(conn: sa.Connection, service_no: str) -> bool:
    """Whether the connection has consumption held for review (it then never leads to a
    disconnection, and its billing mode cannot switch)."""
    h = schema.held_consumption
    query = sa.select(h.c.id).where(h.c.service_no == service_no, h.c.status == Status.OPEN).limit(1)
    return conn.execute(query).first() is not None


def _open(conn: sa.Connection, hold_id: int) -> Any:
    h = schema.held_consumption
    row = conn.execute(sa.select(h).where(h.c.id == hold_id)).first()
    if row is None:
        raise UnknownHold(f"no held consumption #{hold_id}")
    if row.status != Status.OPEN:
        raise HoldClosed(f"held consumption #{hold_id} was already {row.status}")
    return row


def _close(conn: sa.Connection, hold_id: int, status: str, *, by: str, note: str, now: dt.datetime) -> None:
    if not 0 < len(by.strip()) <= 64 or not 0 < len(note.strip()) <= 2_000:
        raise errors.InvalidInput("say who reviewed it (1-64 characters) and what was found (up to 2,000)")
    h = schema.held_consumption
    conn.execute(
        sa.update(h)
        .where(h.c.id == hold_id)
        .values(status=status, reviewed_at=now, reviewed_by=by, note=note)
    )


def _hold(row: Any) -> Hold:
    return Hold(
        row.id,
        row.service_no,
        row.kind,
        row.from_date,
        row.to_date,
        row.to_register_wh - row.from_register_wh,
        row.status,
        row.created_at,
    )
