"""Set-based reads of everything a chunk of connections' month statements are made of.

One chunk is a range of service numbers [first, last]: each query below reads the whole range at
once (a range scan of its service-number index), never one connection at a time, so a million
bills cost a few thousand statements.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.billing import _statement as st
from wattwallet.domain import clock
from wattwallet.ledger import postings
from wattwallet.store import schema

# How far before the month the opening register is looked for (a meter silent longer shows none).
READING_LOOKBACK_DAYS = 35


def billable_keys(
    conn: Connection,
    month: st.Month,
    *,
    after: str,
    limit: int,
    only: str | None = None,
    upto: str | None = None,
    mode: str = "prepaid",
) -> list[str]:
    """The next `limit` service numbers after `after` of connections that had the month (connected
    before it ended, not terminated before it began) in `mode`: prepaid for all of it or until a
    switch to postpaid, or postpaid now. (Postpaid ones billed already are skipped by the bill run,
    a range read of its chunk's bills: an anti-join here is planned badly while the run itself
    fills the bills table.)"""
    c, t = schema.connections, schema.terminations
    query = (
        sa.select(c.c.service_no)
        .select_from(c.outerjoin(t, t.c.service_no == c.c.service_no))
        .where(
            c.c.service_no > after,
            c.c.service_no == only if only is not None else sa.true(),
            c.c.service_no <= upto if upto is not None else sa.true(),
            c.c.billing_mode == "postpaid"
            if mode == "postpaid"
            else sa.or_(c.c.billing_mode == "prepaid", _prepaid_into(month)),
            c.c.created_at < month.end_utc(),
            sa.or_(t.c.at.is_(None), t.c.at >= month.start_utc()),
        )
        .order_by(c.c.service_no)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def _prepaid_into(month: st.Month) -> sa.sql.elements.ColumnElement[bool]:
    """Postpaid now, but prepaid for part of the month: switched to postpaid after it began."""
    m, c = schema.mode_switches, schema.connections
    return sa.exists().where(
        m.c.service_no == c.c.service_no,
        m.c.status == "done",
        m.c.from_mode == "prepaid",
        m.c.effective_on > month.first,
    )


def inputs_for(
    conn: Connection, month: st.Month, service_nos: Sequence[str], *, short_bill_days: int
) -> dict[str, st.Inputs]:
    """The inputs of every connection in `service_nos` (sorted; one contiguous chunk)."""
    if not service_nos:
        return {}
    first, last = service_nos[0], service_nos[-1]
    wanted = set(service_nos)
    c, k, m = schema.connections, schema.consumers, schema.meters
    rows = conn.execute(
        sa.select(
            c.c.service_no,
            k.c.name,
            c.c.category,
            c.c.sanctioned_load_w,
            m.c.serial,
            c.c.language,
            c.c.created_at,
        )
        .select_from(c.join(k, k.c.id == c.c.consumer_id).join(m, m.c.service_no == c.c.service_no))
        .where(c.c.service_no >= first, c.c.service_no <= last)
    ).all()
    books = postings.lock_range(conn, first=first, last=last, lock=False)
    found: dict[str, st.Inputs] = {}
    for no, name, category, load_w, serial, language, created_at in rows:
        if no not in wanted or no not in books:
            continue
        book = books[no]
        connected = st.Connection(no, name, category, load_w, serial, language, clock.ist_date(created_at))
        found[no] = st.Inputs(connection=connected, wallet_now=book.wallet, dues_now=book.dues)
    _pending(conn, month, first, last, found)
    _days(conn, month, first, last, found)
    _later_deductions(conn, month, first, last, found)
    _lines(conn, month, first, last, found)
    _recharges(conn, month, first, last, found)
    _registers(conn, month, first, last, found)
    _usage(conn, month.previous(), first, last, found, "last_month")
    _usage(conn, month.year_before(), first, last, found, "last_year")
    _short_bills(conn, month, first, last, found, short_bill_days)
    _held(conn, month, first, last, found)
    return found


def _pending(conn: Connection, month: st.Month, first: str, last: str, found: dict[str, st.Inputs]) -> None:
    """Connections whose readings up to the month's end are in but not yet billed by the cycle (a
    bill made now would miss days: it waits until the cycle has run)."""
    s, c = schema.prepaid_state, schema.connections
    query = (
        sa.select(s.c.service_no)
        .select_from(s.join(c, c.c.service_no == s.c.service_no))
        .where(
            s.c.service_no >= first,
            s.c.service_no <= last,
            s.c.billed_through < month.end,
            s.c.last_read_date > s.c.billed_through,
            c.c.state != "terminated",
        )
    )
    for no in conn.execute(query).scalars():
        if no in found:
            found[no].cycle_pending = True


def _wallet_line(d: sa.Table) -> sa.sql.elements.ColumnElement[bool]:
    line = schema.ledger_lines
    return sa.and_(
        line.c.posting_id == d.c.posting_id, line.c.account_code == sa.literal("wallet:") + d.c.service_no
    )


def _days(conn: Connection, month: st.Month, first: str, last: str, found: dict[str, st.Inputs]) -> None:
    d, line = schema.daily_deductions, schema.ledger_lines
    query = (
        sa.select(
            d.c.service_no,
            d.c.day,
            d.c.wh,
            d.c.amount,
            d.c.balance_after,
            d.c["items"],
            sa.type_coerce(d.c.created_at, sa.types.NullType()),  # raw: see _ist_day
            line.c.amount,
        )
        .select_from(d.outerjoin(line, _wallet_line(d)))
        .where(d.c.service_no >= first, d.c.service_no <= last, d.c.day >= month.first, d.c.day < month.end)
    )
    for no, day, wh, amount, balance_after, items, created_at, ledger_amount in conn.execute(query).all():
        inputs = found.get(no)
        if inputs is not None:
            billed_on = _ist_day(created_at)
            inputs.days.append(st.DayRow(day, wh, amount, balance_after, items, billed_on, ledger_amount))


@functools.lru_cache(maxsize=4096)
def _ist_day(raw: object) -> dt.date:
    """The IST date of a created_at as the driver returns it, untyped (a whole month of rows shares
    a few dozen values: one per cycle run, so each is converted once): SQLite's naive UTC text or
    PostgreSQL's aware datetime."""
    if isinstance(raw, str):
        raw = dt.datetime.fromisoformat(raw).replace(tzinfo=dt.UTC)
    assert isinstance(raw, dt.datetime)
    return clock.ist_date(raw if raw.tzinfo else raw.replace(tzinfo=dt.UTC))


def _later_deductions(
    conn: Connection, month: st.Month, first: str, last: str, found: dict[str, st.Inputs]
) -> None:
    d, line = schema.daily_deductions, schema.ledger_lines
    query = (
        sa.select(d.c.service_no, sa.func.sum(line.c.amount))
        .select_from(d.join(line, _wallet_line(d)))
        .where(d.c.service_no >= first, d.c.service_no <= last, d.c.day >= month.end)
        .group_by(d.c.service_no)
    )
    for no, total in conn.execute(query):
        if no in found:
            found[no].later_deductions = int(total or 0)


def _lines(conn: Connection, month: st.Month, first: str, last: str, found: dict[str, st.Inputs]) -> None:
    """The wallet and dues lines of every posting but the daily deductions that occurred in or after
    the month (recharges, short bills, released holds, dues, settlements)."""
    p, line = schema.ledger_postings, schema.ledger_lines
    query = (
        sa.select(
            p.c.service_no,
            p.c.kind,
            p.c.occurred_at,
            p.c.reference,
            p.c.memo,
            line.c.account_code,
            line.c.amount,
        )
        .select_from(p.join(line, line.c.posting_id == p.c.id))
        .where(
            p.c.service_no >= first,
            p.c.service_no <= last,
            p.c.kind != "deduction",
            p.c.occurred_at >= month.start_utc(),
        )
        .order_by(p.c.service_no, p.c.seq, line.c.id)
    )
    for no, kind, occurred_at, reference, memo, code, amount in conn.execute(query).all():
        inputs = found.get(no)
        if inputs is None:
            continue
        if code == f"wallet:{no}":
            account = "wallet"
        elif code == f"dues:{no}":
            account = "dues"
        else:
            continue
        inputs.lines.append(st.PostingLine(kind, occurred_at, reference, memo, account, amount))


def _recharges(conn: Connection, month: st.Month, first: str, last: str, found: dict[str, st.Inputs]) -> None:
    r = schema.recharges
    query = sa.select(
        r.c.service_no, r.c.paid_at, r.c.channel, r.c.reference, r.c.amount, r.c.to_dues, r.c.to_wallet
    ).where(
        r.c.service_no >= first,
        r.c.service_no <= last,
        r.c.paid_at >= month.start_utc(),
        r.c.paid_at < month.end_utc(),
    )
    for no, paid_at, channel, reference, amount, to_dues, to_wallet in conn.execute(query):
        if no in found:
            found[no].recharges.append(st.Recharge(paid_at, channel, reference, amount, to_dues, to_wallet))


def _registers(conn: Connection, month: st.Month, first: str, last: str, found: dict[str, st.Inputs]) -> None:
    """The register at the start of the month (the newest reading on or before its first day) and
    at its end (the newest on or before the next month's first day, the midnight that ends it)."""
    r = schema.meter_readings
    day = dt.timedelta(days=1)
    bounds = (
        ("opening_reading", month.start_utc() - day * READING_LOOKBACK_DAYS, month.start_utc() + day),
        ("closing_reading", month.start_utc() + day, month.end_utc() + day),
    )
    for attribute, low, high in bounds:
        newest = (
            sa.select(r.c.service_no, sa.func.max(r.c.read_at).label("at"))
            .where(r.c.service_no >= first, r.c.service_no <= last, r.c.read_at >= low, r.c.read_at < high)
            .group_by(r.c.service_no)
            .subquery()
        )
        query = sa.select(r.c.service_no, r.c.read_date, r.c.register_wh).select_from(
            r.join(newest, sa.and_(r.c.service_no == newest.c.service_no, r.c.read_at == newest.c.at))
        )
        for no, read_date, register_wh in conn.execute(query):
            if no in found:
                setattr(found[no], attribute, st.Reading(read_date, register_wh))
    # A meter installed during the month (or shortly before) starts from its commissioned register.
    m = schema.meters
    unread = {no for no, inputs in found.items() if inputs.opening_reading is None}
    if unread:
        query = sa.select(m.c.service_no, m.c.installed_at, m.c.commissioned_register_wh).where(
            m.c.service_no >= first,
            m.c.service_no <= last,
            m.c.installed_at >= month.start_utc() - day * READING_LOOKBACK_DAYS,
            m.c.installed_at < month.end_utc(),
        )
        for no, installed_at, register_wh in conn.execute(query):
            if no in unread:
                found[no].opening_reading = st.Reading(clock.ist_date(installed_at), register_wh)


def _usage(
    conn: Connection, month: st.Month, first: str, last: str, found: dict[str, st.Inputs], attribute: str
) -> None:
    d = schema.daily_deductions
    query = (
        sa.select(d.c.service_no, sa.func.sum(d.c.wh), sa.func.sum(d.c.amount))
        .where(d.c.service_no >= first, d.c.service_no <= last, d.c.day >= month.first, d.c.day < month.end)
        .group_by(d.c.service_no)
    )
    for no, wh, amount in conn.execute(query):
        if no in found:
            setattr(found[no], attribute, st.Usage(int(wh or 0), int(amount or 0)))


def _short_bills(
    conn: Connection, month: st.Month, first: str, last: str, found: dict[str, st.Inputs], days: int
) -> None:
    """Short bills still open when the month ended, with the day each is (or was) to be deducted."""
    sb = schema.short_bills
    query = (
        sa.select(sb.c.service_no, sb.c.ref, sb.c.amount, sb.c.reason, sb.c.raised_on)
        .where(
            sb.c.service_no >= first,
            sb.c.service_no <= last,
            sb.c.raised_at < month.end_utc(),
            sa.or_(sb.c.status == "open", sb.c.deducted_at >= month.end_utc()),
        )
        .order_by(sb.c.raised_at)
    )
    rows = conn.execute(query).all()
    for no, ref, amount, reason, raised_on in rows:
        if no in found:
            # DOMAIN.md §4: deducted on day 15 (the policy's short_bill_days) after it was raised.
            due = raised_on + dt.timedelta(days=days)
            found[no].open_short_bills.append(st.OpenShortBill(ref, amount, reason, raised_on, due))


def _held(conn: Connection, month: st.Month, first: str, last: str, found: dict[str, st.Inputs]) -> None:
    h = schema.held_consumption
    query = (
        sa.select(
            h.c.service_no, h.c.kind, h.c.from_date, h.c.to_date, h.c.from_register_wh, h.c.to_register_wh
        )
        .where(
            h.c.service_no >= first,
            h.c.service_no <= last,
            h.c.created_at < month.end_utc(),
            sa.or_(h.c.status == "open", h.c.reviewed_at >= month.end_utc()),
        )
        .order_by(h.c.id)
    )
    for no, kind, from_date, to_date, from_wh, to_wh in conn.execute(query):
        if no in found:
            found[no].held.append(st.Held(kind, from_date, to_date, to_wh - from_wh))
