"""The daily cycle: bill every connection's new readings, update its ADC, send the alerts it
has crossed, grant emergency credit, and mark it due for disconnection (DOMAIN.md §2, §3).

A postpaid connection's days are rated by the very same code (one engine, two schedules, DOMAIN.md
§8) and kept as `postpaid_charges` for its monthly bill instead of being deducted; it has no
alerts, emergency credit or balance-driven disconnection.

Built for millions of connections: each batch is one transaction that reads its connections'
state and locks their books in two statements, rates them in Python, and writes postings, lines,
deductions, alerts, notifications and the new state in a handful of multi-row statements.
Idempotent and resumable by construction: a connection is picked only while its newest reading is
past what it was billed through, and the batch that bills it also moves that mark, so a re-run
(or a restart after a kill) finds nothing left to do for the batches that committed.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import functools
import gc
import multiprocessing
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import alerts, clock, policy, rating, tariff, tod, working_days
from wattwallet.domain import events as domain_events
from wattwallet.ledger import accounts, postings
from wattwallet.lifecycle import consequences as balance_rules
from wattwallet.lifecycle import holds, unbilled
from wattwallet.messaging import outbox as notifications
from wattwallet.store import bulk, calendar_repo, db, schema

Emit = Callable[[domain_events.Event], None]
DEFAULT_BATCH = 2_000


@dataclasses.dataclass
class Report:
    connections: int = 0
    days: int = 0
    deducted_paise: int = 0
    held: int = 0
    alerts: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    due: int = 0
    notifications: int = 0
    batches: int = 0


def run(
    ctx: Context,
    *,
    now: dt.datetime,
    batch_size: int = DEFAULT_BATCH,
    emit: Emit | None = None,
    on_batch: Callable[[int], None] | None = None,
    workers: int = 1,
) -> Report:
    """Bill everything billable as of `now`. `on_batch` hears the count after each committed batch.

    With `workers` > 1 the service numbers are split into that many ranges, each billed by its own
    process (PostgreSQL runs them side by side; SQLite takes their writes one at a time); their
    replay lines are not gathered (`emit` is for one process, as scenario replay bills)."""
    with ctx.store.write() as conn:
        accounts.ensure_system_accounts(
            conn, now=now, codes=accounts.charge_accounts([levy.name for levy in ctx.tariffs.levies])
        )
    if workers > 1:
        return _run_in_processes(ctx, now=now, batch_size=batch_size, workers=workers)
    return _run_range(ctx, now=now, batch_size=batch_size, emit=emit, on_batch=on_batch)


def _run_range(
    ctx: Context,
    *,
    now: dt.datetime,
    batch_size: int,
    emit: Emit | None = None,
    on_batch: Callable[[int], None] | None = None,
    after: str = "",
    upto: str | None = None,
) -> Report:
    """Bill the connections with service numbers in (after, upto], batch by batch."""
    report = Report()
    today = clock.ist_date(now)
    with ctx.store.write() as conn:  # loading may seed a calendar year: a write, once per run
        days = calendar_repo.load(
            conn, start=today - dt.timedelta(days=7), end=today + dt.timedelta(days=62), now=now
        )
    # SQLite has one writer at a time: rate outside its lock so workers overlap. PostgreSQL locks
    # rows: rate under the lock, which saves the second read.
    one_batch = functools.partial(
        _rate_then_write if ctx.store.dialect == "sqlite" else _rate_under_lock,
        ctx,
        upto=upto,
        today=today,
        size=batch_size,
        days=days,
        now=now,
        emit=emit,
    )
    while True:
        for attempt in range(1, 4):
            try:
                with _no_cyclic_gc():
                    done = one_batch(after=after)
                break
            except sa.exc.DBAPIError as exc:
                if attempt == 3 or not db.is_transient(exc):
                    raise
        if done is None:
            return report
        batch, after = done
        _add(report, batch.report)
        report.batches += 1
        if on_batch:
            on_batch(report.batches)


BatchDone = tuple["_Batch", str] | None


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Hold the cyclic garbage collector off for one batch. A batch allocates hundreds of thousands
    of small objects that reference counting frees; left on, the collector walked them (and every
    so often the whole heap) thousands of times a run: a sixth of the cycle's Python time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _rate_under_lock(
    ctx: Context,
    *,
    after: str,
    upto: str | None,
    today: dt.date,
    size: int,
    days: working_days.WorkingDays,
    now: dt.datetime,
    emit: Emit | None,
) -> BatchDone:
    with ctx.store.write() as conn:
        # Only the range to lock, from the state's primary key alone (the rows, with their
        # connections, are read again under the lock, and may be fewer).
        candidates = _next_keys(conn, after=after, upto=upto, today=today, size=size)
        if not candidates:
            return None
        first, last = candidates[0], candidates[-1]
        # Money rows first, then state rows: the order recharges and short bills use too.
        books = postings.lock_range(conn, first=first, last=last)
        rows = _next_batch(conn, after=after, upto=last, today=today, size=size, lock=True)
        batch = _Batch(ctx, rows, books, days=days, now=now, emit=emit, profiles=_profiles(conn, ctx, rows))
        batch.compute()
        batch.write(conn, books)
    return batch, last


def _rate_then_write(
    ctx: Context,
    *,
    after: str,
    upto: str | None,
    today: dt.date,
    size: int,
    days: working_days.WorkingDays,
    now: dt.datetime,
    emit: Emit | None,
) -> BatchDone:
    """Rate from a plain read, outside the write lock; write only if the books and states are still
    as read (checked under the lock), else rate again from what is there now."""
    with ctx.store.read() as conn:
        rows = _next_batch(conn, after=after, upto=upto, today=today, size=size, lock=False)
        if not rows:
            return None
        first, last = rows[0].service_no, rows[-1].service_no
        books = postings.lock_range(conn, first=first, last=last, lock=False)
        profiles = _profiles(conn, ctx, rows)
    batch = _Batch(ctx, rows, books, days=days, now=now, emit=emit, profiles=profiles)
    batch.compute()
    with ctx.store.write() as conn:
        locked_books = postings.lock_range(conn, first=first, last=last)
        locked_rows = _next_batch(conn, after=after, upto=last, today=today, size=size, lock=True)
        if locked_books != batch.books or locked_rows != batch.rows:
            profiles = _profiles(conn, ctx, locked_rows)
            batch = _Batch(ctx, locked_rows, locked_books, days=days, now=now, emit=emit, profiles=profiles)
            batch.compute()
        batch.write(conn, locked_books)
    return batch, last


def _add(total: Report, part: Report) -> None:
    for name in ("connections", "days", "deducted_paise", "held", "due", "notifications", "batches"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.alerts.update(part.alerts)


def _run_in_processes(ctx: Context, *, now: dt.datetime, batch_size: int, workers: int) -> Report:
    s = schema.prepaid_state
    with ctx.store.read() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(s)).scalar_one()
        bounds = (
            [
                conn.execute(
                    sa.select(s.c.service_no).order_by(s.c.service_no).offset(count * k // workers).limit(1)
                ).scalar_one()
                for k in range(1, workers)
            ]
            if count
            else []
        )
    edges = ["", *bounds]
    ranges = [(lo, hi) for lo, hi in zip(edges, [*bounds, None], strict=True)]
    url = ctx.store.engine.url.render_as_string(hide_password=False)
    jobs = [(url, ctx.tariffs, ctx.policy, now, batch_size, lo, hi) for lo, hi in ranges]
    ctx.store.dispose()  # no worker inherits an open database connection (each opens its own)
    with multiprocessing.get_context(_start_method()).Pool(len(jobs)) as pool:
        parts = pool.starmap(_worker, jobs)
    total = Report()
    for part in parts:
        _add(total, part)
    return total


def _start_method() -> str:
    """fork where it is safe, in a single-threaded process (no other thread can hold a lock the
    child would inherit): the worker starts in milliseconds with everything already imported,
    where spawn takes about a second of CPU per worker to import it all again."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def _worker(
    url: str,
    book: tariff.TariffBook,
    rules: policy.Policy,
    now: dt.datetime,
    batch_size: int,
    after: str,
    upto: str | None,
) -> Report:
    store = db.Store.from_url(url)
    try:
        return _run_range(
            Context(store=store, tariffs=book, policy=rules),
            now=now,
            batch_size=batch_size,
            after=after,
            upto=upto,
        )
    finally:
        store.dispose()


def _next_keys(conn: Connection, *, after: str, upto: str | None, today: dt.date, size: int) -> list[str]:
    """The service numbers of the next `size` states with days to bill, in key order: a walk of the
    state's primary key, whatever the planner thinks of the join with connections."""
    s = schema.prepaid_state
    query = (
        sa.select(s.c.service_no)
        .where(
            s.c.service_no > after,
            s.c.service_no <= upto if upto is not None else sa.true(),
            s.c.last_read_date > s.c.billed_through,
            s.c.last_read_date <= today,
        )
        .order_by(s.c.service_no)
        .limit(size)
    )
    return list(conn.execute(query).scalars())


def _next_batch(
    conn: Connection, *, after: str, upto: str | None, today: dt.date, size: int, lock: bool
) -> list[_Row]:
    s, c = schema.prepaid_state, schema.connections
    query = (
        sa.select(*(s.c[name] for name in _BATCH_COLUMNS), *(c.c[name] for name in _CONNECTION_COLUMNS))
        .select_from(s.join(c, c.c.service_no == s.c.service_no))
        .where(
            s.c.service_no > after,
            s.c.service_no <= upto if upto is not None else sa.true(),
            # The same bounds on connections: both tables then scan just the range.
            c.c.service_no > after,
            c.c.service_no <= upto if upto is not None else sa.true(),
            s.c.last_read_date > s.c.billed_through,
            s.c.last_read_date <= today,
            c.c.state != "terminated",
        )
        .order_by(s.c.service_no)
        .limit(size)
    )
    if lock and conn.dialect.name != "sqlite":
        query = query.with_for_update(of=s)
    return [_Row._make(row) for row in conn.execute(query)]


# (service_no, read_date) -> (ends_at, "v1,v2,...,v48"): the load profiles a batch's ToD days need.
Profiles = dict[tuple[str, dt.date], tuple[dt.datetime, str]]


def _profiles(conn: Connection, ctx: Context, rows: Sequence[_Row]) -> Profiles:
    """The half-hourly profiles of the days the batch bills, for connections in a category with
    Time-of-Day charges only (one query, and none at all for a batch without them). A day D is
    described by the first profile whose reading falls on D+1 (the midnight reading that ends it)."""
    with_tod = ctx.tariffs.has_tod()
    wanted = [r for r in rows if r.category in with_tod] if with_tod else []
    if not wanted:
        return {}
    p = schema.meter_load_profiles
    query = (
        sa.select(p.c.service_no, p.c.read_date, p.c.ends_at, p.c.profile_wh)
        .where(
            p.c.service_no.in_([r.service_no for r in wanted]),
            p.c.read_date > min(r.billed_through for r in wanted),
            p.c.read_date <= max(r.last_read_date for r in wanted),
            p.c.profile_wh.is_not(None),
        )
        .order_by(p.c.ends_at.desc())
    )
    # Newest first, so the earliest reading of each date is the one kept.
    return {(no, day): (ends_at, values) for no, day, ends_at, values in conn.execute(query)}


class _Batch:
    """One batch of connections: rated in `compute` (no database), written in `write`."""

    def __init__(
        self,
        ctx: Context,
        rows: Sequence[_Row],
        books: dict[str, postings.Book],
        *,
        days: working_days.WorkingDays,
        now: dt.datetime,
        emit: Emit | None,
        profiles: Profiles | None = None,
    ) -> None:
        self.ctx, self.rows, self.books, self.days = ctx, rows, books, days
        self.now, self.emit = now, emit
        self.profiles = profiles or {}
        self.with_tod = ctx.tariffs.has_tod()
        self.report = Report()
        self.at = clock.ist_iso(now)
        self.entries: list[postings.Entry] = []
        self.deductions: list[dict[str, Any]] = []
        self.states: list[dict[str, Any]] = []
        self.holds: list[dict[str, Any]] = []
        self.alert_rows: list[dict[str, Any]] = []
        self.messages: list[tuple[notifications.Message, Any]] = []
        self.postpaid_charges: list[tuple[Any, ...]] = []
        self.events: domain_events.Log = []

    def compute(self) -> None:
        for row in self.rows:
            self._bill(row, self.books[row.service_no])

    def write(self, conn: Connection, books: dict[str, postings.Book]) -> None:
        """Write what `compute` decided, with `books` locked and equal to those it rated from."""
        ids = postings.post_many(conn, books, self.entries, recorded_at=self.now)
        self._write(conn, ids)

    def _bill(self, row: _Row, book: postings.Book) -> None:
        first_day, last_day = row.billed_through, row.last_read_date - dt.timedelta(days=1)
        days = (row.last_read_date - row.billed_through).days
        wh = row.last_register_wh - row.billed_register_wh
        state: dict[str, Any] = {
            "key": row.service_no,
            "billed_through": row.last_read_date,
            "billed_register_wh": row.last_register_wh,
            "month_start": row.month_start,
            "month_first_day": row.month_first_day,
            "mtd_wh": row.mtd_wh,
            "mtd_peak_wh": row.mtd_peak_wh,
            "mtd_off_peak_wh": row.mtd_off_peak_wh,
            "recent_daily_paise": row.recent_daily_paise,
            "adc_paise": row.adc_paise,
        }
        self.report.connections += 1
        # The book's balance moves only when post_many writes; follow it here for the alerts.
        balance = book.wallet
        limit = int(self.ctx.policy.plausible_daily_load_factor * row.sanctioned_load_w * 24 * days)
        if wh > limit:
            # The energy waits for staff; the days still carry their fixed charges.
            self._hold(row, first_day, last_day, wh)
            wh = 0
        recent = [int(v) for v in row.recent_daily_paise.split(",") if v]
        for day, day_wh in rating.spread(first_day=first_day, last_day=last_day, wh=wh):
            charge = self._rate(row, state, day, day_wh)
            if row.billing_mode == _POSTPAID:
                self._accrue(row, day, day_wh, charge)
            else:
                balance = self._deduct(row, balance, day, day_wh, charge)
            recent.append(charge.total_paise)
        recent = recent[-alerts.history_days_kept(self.ctx.policy) :]
        state["recent_daily_paise"] = ",".join(map(str, recent))
        default = alerts.default_adc(
            category=row.category, load_w=row.sanctioned_load_w, rules=self.ctx.policy
        )
        state["adc_paise"] = alerts.average_daily(recent=recent, default=default, rules=self.ctx.policy)
        if row.billing_mode == _POSTPAID:  # no balance-driven rules: the state stays as it is
            state.update(balance_rules.state_values(balance_rules.state_of(row)))
        else:
            self._alert(row, state, balance)
        self.states.append(state)

    def _rate(self, row: _Row, state: dict[str, Any], day: dt.date, wh: int) -> rating.DayCharge:
        """One day's charge, whatever the billing mode, moving the month-to-date figures on."""
        month = day.replace(day=1)
        if month != state["month_start"]:
            state.update(month_start=month, month_first_day=day, mtd_wh=0, mtd_peak_wh=0, mtd_off_peak_wh=0)
        # Time-of-Day needs the day's half-hourly split; other categories skip reading it.
        tod: dict[str, Any] = {}
        if row.category in self.with_tod:
            tod = {
                "tod_wh": self._tod_wh(row, day, wh),
                "mtd_tod_wh_before": (state["mtd_peak_wh"], state["mtd_off_peak_wh"]),
            }
        charge = rating.rate_day(
            self.ctx.tariffs,
            category=row.category,
            load_w=row.sanctioned_load_w,
            day=day,
            wh=wh,
            mtd_wh_before=state["mtd_wh"],
            month_first_day=state["month_first_day"],
            **tod,
        )
        if tod:
            state["mtd_peak_wh"] += charge.tod_wh[0]
            state["mtd_off_peak_wh"] += charge.tod_wh[1]
        state["mtd_wh"] += wh
        return charge

    def _accrue(self, row: _Row, day: dt.date, wh: int, charge: rating.DayCharge) -> None:
        """A postpaid day: kept for the monthly bill, posted when a bill (or a switch) takes it."""
        total = charge.total_paise
        items = tuple((i.component, i.amount_paise) for i in charge.items)
        self.postpaid_charges.append((row.service_no, day, wh, total, _items_json(charge.items), items))
        self.report.days += 1
        if self.emit:
            self.events.append(
                domain_events.Charged(
                    at=self.now,
                    connection=row.service_no,
                    day=day,
                    wh=wh,
                    amount=total,
                    items=items,
                )
            )

    def _deduct(self, row: _Row, balance: int, day: dt.date, wh: int, charge: rating.DayCharge) -> int:
        total = charge.total_paise
        balance -= total
        if total:
            by_account: dict[str, int] = collections.defaultdict(int)
            for item in charge.items:
                by_account[accounts.for_charge(item.component)] -= item.amount_paise
            # Plain (account, amount) pairs: building millions of Line objects a night shows up.
            lines = [(accounts.wallet(row.service_no), total)]
            lines += [(code, amount) for code, amount in by_account.items() if amount]
            self.entries.append(
                postings.Entry(
                    row.service_no, "deduction", lines, self.now, f"deduction:{day}", f"daily deduction {day}"
                )
            )
        self.deductions.append(
            {
                "service_no": row.service_no,
                "day": day,
                "wh": wh,
                "amount": total,
                "balance_after": balance,
                "items": _items_json(charge.items),
                "entry": len(self.entries) - 1 if total else None,
                "created_at": self.now,
            }
        )
        self.report.days += 1
        self.report.deducted_paise += total
        if self.emit:
            self.events.append(
                domain_events.Deducted(
                    at=self.now,
                    connection=row.service_no,
                    day=day,
                    wh=wh,
                    amount=total,
                    balance=balance,
                    items=tuple((i.component, i.amount_paise) for i in charge.items),
                )
            )
        return balance

    def _tod_wh(self, row: _Row, day: dt.date, wh: int) -> tuple[int, int] | None:
        """The day's (peak, off-peak) Wh from its load profile; None when it has none (or the
        category has no ToD that day), and the day is then billed at the normal rate."""
        found = self.profiles.get((row.service_no, day + dt.timedelta(days=1)))
        if found is None:
            return None
        try:
            schedule = self.ctx.tariffs.category(row.category, on=day).tod
        except (tariff.UnknownCategory, tariff.NoTariffInForce):
            return None
        if schedule is None:
            return None
        ends_at, text = found
        start = (ends_at - dt.timedelta(days=1)).astimezone(clock.IST)
        try:
            slots = [int(v) for v in text.split(",")]
            return schedule.split(
                slots_wh=slots, first_slot_minute=start.hour * 60 + start.minute, billed_wh=wh
            )
        except (ValueError, tod.ProfileInvalid):
            return None  # a profile ingestion let through but that does not parse: normal rate

    def _hold(self, row: _Row, first_day: dt.date, last_day: dt.date, wh: int) -> None:
        """Too much for the sanctioned load: keep it for staff; the consumer pays nothing yet."""
        self.holds.append(
            {
                "service_no": row.service_no,
                "meter_serial": "",  # filled from the meter below, in one query for the batch
                "kind": "implausible",
                "from_date": first_day,
                "to_date": last_day,
                "from_register_wh": row.billed_register_wh,
                "to_register_wh": row.last_register_wh,
                "status": holds.Status.OPEN,
                "created_at": self.now,
            }
        )
        self.report.held += 1
        if self.emit:
            self.events.append(
                domain_events.ConsumptionHeld(
                    at=self.now,
                    connection=row.service_no,
                    kind="implausible",
                    first=first_day,
                    last=last_day,
                    wh=wh,
                )
            )

    def _alert(self, row: _Row, state: dict[str, Any], balance: int) -> None:
        before = balance_rules.state_of(row)
        outcome = alerts.evaluate(
            balance=balance,
            adc=state["adc_paise"],
            state=before,
            now=self.now,
            rules=self.ctx.policy,
        )
        state.update(balance_rules.state_values(outcome.state))
        if outcome.state == before and not outcome.alerts:
            return  # the usual night: nothing crossed, nothing re-armed
        follow = balance_rules.consequences(
            outcome,
            service_no=row.service_no,
            language=row.language,
            balance=balance,
            now=self.now,
            days=self.days,
            rules=self.ctx.policy,
        )
        self.alert_rows += follow.alert_rows
        for level in outcome.alerts:
            self.report.alerts[level.kind] += 1
        self.report.due += outcome.became_due
        if self.emit:
            self.events += follow.events
        for message in follow.messages:
            rendered = message.render()
            self.messages.append((message, rendered))
            self.report.notifications += 1
            if self.emit:
                self.events.append(notifications.event(message, rendered, now=self.now))

    def _write(self, conn: Connection, posting_ids: list[int]) -> None:
        bulk.insert(
            conn,
            schema.daily_deductions,
            ("service_no", "day", "wh", "amount", "balance_after", "items", "posting_id", "created_at"),
            [
                (
                    d["service_no"],
                    d["day"],
                    d["wh"],
                    d["amount"],
                    d["balance_after"],
                    d["items"],
                    None if d["entry"] is None else posting_ids[d["entry"]],
                    self.now,
                )
                for d in self.deductions
            ],
        )
        if self.holds:
            serials = conn.execute(
                sa.select(schema.meters.c.service_no, schema.meters.c.serial).where(
                    schema.meters.c.service_no.in_([h["service_no"] for h in self.holds])
                )
            )
            meters = {service_no: serial for service_no, serial in serials}
            conn.execute(
                sa.insert(schema.held_consumption),
                [{**h, "meter_serial": meters[h["service_no"]]} for h in self.holds],
            )
        bulk.insert(
            conn,
            schema.alerts,
            ("service_no", "kind", "threshold", "balance", "sent_at"),
            [
                (a["service_no"], a["kind"], a["threshold"], a["balance"], a["sent_at"])
                for a in self.alert_rows
            ],
        )
        notifications.store(conn, self.messages, now=self.now)
        if self.postpaid_charges:
            # Ids reserved in order: a connection's rows rise with the day (billing/_charges.py).
            ids = sorted(bulk.reserve_ids(conn, schema.postpaid_charges, len(self.postpaid_charges)))
            bulk.insert(
                conn,
                schema.postpaid_charges,
                ("id", "service_no", "day", "wh", "amount", "items", "created_at"),
                [
                    (i, no, day, wh, amount, text, self.now)
                    for i, (no, day, wh, amount, text, _) in zip(ids, self.postpaid_charges, strict=True)
                ],
            )
            unbilled.add(
                conn,
                [
                    (i, no, day, wh, amount, items)
                    for i, (no, day, wh, amount, _, items) in zip(ids, self.postpaid_charges, strict=True)
                ],
            )
        bulk.update(
            conn,
            schema.prepaid_state,
            "service_no",
            (*_STATE_COLUMNS, "updated_at"),
            [(*(state[c] for c in _STATE_COLUMNS), self.now, state["key"]) for state in self.states],
        )
        if self.emit:
            for event in self.events:
                self.emit(event)


def _items_json(items: Sequence[Any]) -> str:
    """[[component, paise], ...] as JSON, built directly (json.dumps per row is a hot spot). Safe
    without escaping: components are slab bounds, fixed names and levy names the tariff loader
    restricts to letters, digits and . _ + -."""
    return "[" + ",".join([f'["{i.component}",{i.amount_paise}]' for i in items]) + "]"


class _Row(NamedTuple):
    """What the cycle reads of a connection: its state (not the bookkeeping columns it never uses),
    then three columns of the connection. A plain tuple: its fields read at a tenth of the cost of
    a SQLAlchemy Row's, and the cycle reads each a few times for every connection."""

    service_no: str
    billed_through: dt.date
    billed_register_wh: int
    last_read_date: dt.date
    last_register_wh: int
    month_start: dt.date
    month_first_day: dt.date
    mtd_wh: int
    mtd_peak_wh: int
    mtd_off_peak_wh: int
    recent_daily_paise: str
    adc_paise: int
    alerts_sent: int
    zero_alert_at: dt.datetime | None
    emergency_credit_paise: int
    disconnect_due_at: dt.datetime | None
    category: str
    sanctioned_load_w: int
    language: str
    billing_mode: str


_POSTPAID = "postpaid"
_CONNECTION_COLUMNS = ("category", "sanctioned_load_w", "language", "billing_mode")
_BATCH_COLUMNS = tuple(c for c in _Row._fields if c not in _CONNECTION_COLUMNS)
# What it writes back: all it read but the key and the newest reading (ingestion's to move).
_STATE_COLUMNS = tuple(
    c for c in _BATCH_COLUMNS if c not in ("service_no", "last_read_date", "last_register_wh")
)
