"""Monthly e-bills (DOMAIN.md §6): make a month's bills, show them, render them, open them by link.

The public surface of `wattwallet.billing`: the CLI, the API, the scheduled job and scenario replay
call these functions and nothing else of the package.

`run_month` walks the prepaid connections in chunks of service numbers: one read per chunk
gathers everything (set-based queries, `_queries`), the statements are built in Python
(`_statement`), and one write per chunk stores the new bills with their `bill_ready` messages
(outbox). Idempotent: a connection whose bill of the month is there and still agrees with the ledger
gets nothing new; one whose figures changed since (a late catch-up reading, a released hold) is
reported as `stale`, and with `revise=True` gets a new revision naming the one it replaces.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import multiprocessing
import threading

import sqlalchemy as sa

from wattwallet.billing import _links, _postpaid, _queries, _render
from wattwallet.billing import _repository as repo
from wattwallet.billing import _statement as st
from wattwallet.billing import settings as bill_settings
from wattwallet.context import Context
from wattwallet.domain import clock, errors, policy, tariff
from wattwallet.domain import events as domain_events
from wattwallet.ledger import accounts
from wattwallet.messaging import outbox as notifications
from wattwallet.messaging import templates
from wattwallet.store import connections, db

Month = st.Month
Bill = repo.Bill
MonthInvalid = st.MonthInvalid
StatementDoesNotBalance = st.StatementDoesNotBalance
DEFAULT_CHUNK = 1_000
LANGUAGES = ("en", "te")
MODES = ("prepaid", "postpaid")


class MonthNotOver(errors.InvalidInput):
    code = "bill_month_not_over"


class MonthBeforeConnection(errors.InvalidInput):
    code = "bill_month_before_connection"


class NotPrepaid(errors.InvalidInput):
    code = "bill_not_prepaid"


class LanguageInvalid(errors.InvalidInput):
    code = "bill_language_invalid"


class ModeInvalid(errors.InvalidInput):
    code = "bill_mode_invalid"


class BillNotFound(errors.NotFound):
    code = "bill_not_found"


class BillLinkInvalid(errors.NotFound):
    """A tampered, expired or foreign link: one answer for all, so a caller learns nothing."""

    code = "bill_link_invalid"


@dataclasses.dataclass
class RunReport:
    month: str
    connections: int = 0
    created: int = 0
    revised: int = 0
    unchanged: int = 0
    stale: int = 0  # stored bills that no longer agree with the ledger (not revised: revise=False)
    pending: int = 0  # readings of the month not yet billed by the daily cycle: no bill yet
    chunks: int = 0

    def add(self, other: RunReport) -> None:
        for name in ("connections", "created", "revised", "unchanged", "stale", "pending", "chunks"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def parse_month(text: str) -> Month:
    return Month.parse(text)


def parse_language(text: str | None) -> str | None:
    if text is None:
        return None
    if text not in LANGUAGES:
        raise LanguageInvalid(f"a bill is in English (en) or Telugu (te), not {text!r}", language=text)
    return text


def parse_mode(text: str | None) -> str | None:
    """Which of a month's bills (a switch in the month gives a prepaid and a postpaid one)."""
    if text is None:
        return None
    if text not in MODES:
        raise ModeInvalid(f"a bill is prepaid or postpaid, not {text!r}", mode=text)
    return text


def check_month_over(month: Month, *, now: dt.datetime) -> None:
    if clock.ist_date(now) < month.end:
        raise MonthNotOver(
            f"{month} is not over yet: its bills can be made from {month.end.isoformat()}", month=str(month)
        )


def previous_month(now: dt.datetime) -> Month:
    return Month(clock.ist_date(now).replace(day=1)).previous()


# --- Making bills ----------------------------------------------------------------------------------


def run_month(
    ctx: Context,
    *,
    month: Month,
    now: dt.datetime,
    revise: bool = False,
    chunk: int = DEFAULT_CHUNK,
    workers: int = 1,
    events: domain_events.Log | None = None,
) -> RunReport:
    """Make the bills of `month`: every prepaid connection's statement (see the module doc), then
    every postpaid connection's bill."""
    check_month_over(month, now=now)
    if workers > 1:
        return _run_in_processes(ctx, month=month, now=now, revise=revise, chunk=chunk, workers=workers)
    report = _run_range(ctx, month=month, now=now, revise=revise, chunk=chunk, events=events)
    report.add(_run_postpaid_range(ctx, month=month, now=now, chunk=chunk, events=events))
    return report


class CycleNotFinished(errors.WattWalletError):
    """Some connections' readings of the month were not billed yet: the job is tried again later."""

    code = "bill_cycle_not_finished"


def run_scheduled(ctx: Context, *, now: dt.datetime, events: domain_events.Log) -> RunReport:
    """The job of the 1st: last month's bills. Raises CycleNotFinished (after making every bill it
    could) while the day's cycle has not billed everyone, so the worker runs it again later."""
    report = run_month(ctx, month=previous_month(now), now=now, events=events)
    if report.pending:
        raise CycleNotFinished(
            f"{report.pending} connections wait for the daily cycle", pending=report.pending
        )
    return report


def run_one(
    ctx: Context, *, service_no: str, month: Month, now: dt.datetime, revise: bool = False
) -> RunReport:
    """The bill of one connection's month (bad input: a specific error, nothing written)."""
    check_month_over(month, now=now)
    with ctx.store.read() as conn:
        postpaid = connections.get(conn, service_no).mode.value == "postpaid"
    if postpaid:
        return _run_postpaid_range(ctx, month=month, now=now, chunk=1, only=service_no)
    _check_connection(ctx, service_no, month)
    return _run_range(ctx, month=month, now=now, revise=revise, chunk=1, only=service_no)


def _check_connection(ctx: Context, service_no: str, month: Month) -> None:
    with ctx.store.read() as conn:
        connections.get(conn, service_no)
        keys = _queries.billable_keys(conn, month, after="", limit=1, only=service_no)
    if keys != [service_no]:
        raise MonthBeforeConnection(
            f"{service_no} was not connected (or was terminated before) {month}", service_no=service_no
        )


def _run_range(
    ctx: Context,
    *,
    month: Month,
    now: dt.datetime,
    revise: bool,
    chunk: int,
    events: domain_events.Log | None = None,
    after: str = "",
    upto: str | None = None,
    only: str | None = None,
) -> RunReport:
    report = RunReport(str(month))
    secret = _secret(ctx, now=now)
    while True:
        with ctx.store.read() as conn:
            keys = _queries.billable_keys(conn, month, after=after, limit=chunk, only=only, upto=upto)
        if not keys:
            return report
        for attempt in range(1, 4):
            try:
                part = _one_chunk(ctx, month, keys, now=now, revise=revise, secret=secret, events=events)
                break
            except sa.exc.IntegrityError:
                if attempt == 3:  # another run keeps writing the same bills: leave them to it
                    raise
        report.add(part)
        after = keys[-1]


def _one_chunk(
    ctx: Context,
    month: Month,
    keys: list[str],
    *,
    now: dt.datetime,
    revise: bool,
    secret: bytes,
    events: domain_events.Log | None,
) -> RunReport:
    report = RunReport(str(month), chunks=1)
    with ctx.store.read() as conn:
        inputs = _queries.inputs_for(conn, month, keys, short_bill_days=ctx.policy.short_bill_days)
        stored = repo.latest_in_range(conn, month, first=keys[0], last=keys[-1])
    new: list[repo.NewBill] = []
    for no in keys:
        if no not in inputs:
            continue
        report.connections += 1
        if inputs[no].cycle_pending:
            report.pending += 1
            continue
        statement = st.build(inputs[no], month, rules=ctx.policy)
        before = stored.get(no)
        language = inputs[no].connection.language
        if before is None:
            new.append(repo.NewBill(statement, 1, None, language))
        elif repo.content_hash(statement.canonical()) == before.content_hash:
            report.unchanged += 1
        elif revise:
            new.append(repo.NewBill(statement, before.revision + 1, before.id, language))
        else:
            report.stale += 1
    if not new:
        return report
    with ctx.store.write() as conn:
        made = repo.insert(conn, new, now=now)
        messages = [_message(bill, secret, ctx.policy, now) for bill in made]
        notifications.store(conn, [(m, m.render()) for m in messages], now=now)
    for bill in made:
        if bill.revision == 1:
            report.created += 1
        else:
            report.revised += 1
        if events is not None:
            events.append(issued(bill, now=now))
    return report


def _run_postpaid_range(
    ctx: Context,
    *,
    month: Month,
    now: dt.datetime,
    chunk: int,
    events: domain_events.Log | None = None,
    after: str = "",
    upto: str | None = None,
    only: str | None = None,
) -> RunReport:
    """The postpaid bills of `month`, a chunk of service numbers per transaction."""
    report = RunReport(str(month))
    secret = _secret(ctx, now=now)
    with ctx.store.write() as conn:
        accounts.ensure_system_accounts(
            conn, now=now, codes=accounts.charge_accounts([levy.name for levy in ctx.tariffs.levies])
        )
    while True:
        with ctx.store.read() as conn:
            keys = _queries.billable_keys(
                conn, month, after=after, limit=chunk, only=only, upto=upto, mode="postpaid"
            )
        if not keys:
            return report
        with ctx.store.write() as conn:
            done = _postpaid.run_chunk(conn, month, keys, now=now, rules=ctx.policy)
            messages = [_message(bill, secret, ctx.policy, now) for bill in done.bills]
            notifications.store(conn, [(m, m.render()) for m in messages], now=now)
        report.chunks += 1
        report.connections += done.connections
        report.pending += done.pending
        report.unchanged += done.unchanged
        report.created += len(done.bills)
        if events is not None:
            events.extend(issued(bill, now=now) for bill in done.bills)
        after = keys[-1]


def issued(bill: Bill, *, now: dt.datetime) -> domain_events.BillIssued | domain_events.PostpaidBillIssued:
    """What making a bill tells the caller (the scenario replay's `bill` line, SCENARIOS.md)."""
    c = bill.content
    if bill.mode == "postpaid":
        return domain_events.PostpaidBillIssued(
            at=now,
            connection=bill.service_no,
            month=str(bill.month),
            wh=bill.units_wh,
            charges=int(c["charges"]),
            arrears=int(c["arrears"]),
            advance=int(c["advance_applied"]),
            payable=int(c["payable"]),
            due_on=dt.date.fromisoformat(c["due_on"]),
            language=bill.language,
            bill_no=bill.bill_no,
        )
    return domain_events.BillIssued(
        at=now,
        connection=bill.service_no,
        month=str(bill.month),
        wh=bill.units_wh,
        amount=bill.amount,
        language=bill.language,
        bill_no=bill.bill_no,
        opening_balance=int(c["opening_balance"]),
        closing_balance=int(c["closing_balance"]),
        recharged=int(c["recharged"]),
        revision=bill.revision,
    )


def _message(bill: Bill, secret: bytes, rules: policy.Policy, now: dt.datetime) -> notifications.Message:
    token = _token(bill, secret, rules, now)
    if bill.mode == "postpaid":
        figures = {
            "amount": bill.amount,
            "month": bill.month.first,
            "due_on": bill.due_on,
            "bill_token": token,
        }
        return notifications.Message(bill.service_no, bill.language, "postpaid_bill_ready", figures)
    return notifications.Message(
        bill.service_no,
        bill.language,
        "bill_ready",
        {"amount": bill.amount, "month": bill.month.first, "bill_token": token},
    )


def _token(bill: Bill, secret: bytes, rules: policy.Policy, now: dt.datetime) -> str:
    expires = clock.ist_date(now) + dt.timedelta(days=rules.bill_link_days)
    return _links.sign(secret, bill_id=bill.id, expires_on=expires)


def _secret(ctx: Context, *, now: dt.datetime) -> bytes:
    configured = bill_settings.BillSettings().link_secret
    with ctx.store.write() as conn:
        return _links.key(conn, configured=configured.get_secret_value() if configured else None, now=now)


def link_for(ctx: Context, bill: Bill, *, now: dt.datetime) -> str:
    """A fresh signed link to `bill` (the full URL on the whitelisted host), e.g. for a reprint."""
    token = _token(bill, _secret(ctx, now=now), ctx.policy, now)
    return f"https://{templates.Whitelisted().bill_link_host}/api/v1/bills/{token}.pdf"


def _run_in_processes(
    ctx: Context, *, month: Month, now: dt.datetime, revise: bool, chunk: int, workers: int
) -> RunReport:
    with ctx.store.read() as conn:
        keys = sorted(
            _queries.billable_keys(conn, month, after="", limit=10**9)
            + _queries.billable_keys(conn, month, after="", limit=10**9, mode="postpaid")
        )
    if not keys:
        return RunReport(str(month))
    with ctx.store.write() as conn:  # made once here, not raced for by the workers
        accounts.ensure_system_accounts(
            conn, now=now, codes=accounts.charge_accounts([levy.name for levy in ctx.tariffs.levies])
        )
    bounds = [keys[len(keys) * k // workers - 1] for k in range(1, workers)]
    edges = ["", *bounds]
    ranges = list(zip(edges, [*bounds, None], strict=True))
    _secret(ctx, now=now)  # made once here, not raced for by the workers
    url = ctx.store.engine.url.render_as_string(hide_password=False)
    jobs = [(url, ctx.tariffs, ctx.policy, month.first, now, revise, chunk, lo, hi) for lo, hi in ranges]
    ctx.store.dispose()
    method = (
        "fork"
        if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
        else "spawn"
    )
    with multiprocessing.get_context(method).Pool(len(jobs)) as pool:
        parts = pool.starmap(_worker, jobs)
    total = RunReport(str(month))
    for part in parts:
        total.add(part)
    return total


def _worker(
    url: str,
    book: tariff.TariffBook,
    rules: policy.Policy,
    first: dt.date,
    now: dt.datetime,
    revise: bool,
    chunk: int,
    after: str,
    upto: str | None,
) -> RunReport:
    store = db.Store.from_url(url)
    try:
        ctx = Context(store=store, tariffs=book, policy=rules)
        report = _run_range(
            ctx, month=Month(first), now=now, revise=revise, chunk=chunk, after=after, upto=upto
        )
        report.add(_run_postpaid_range(ctx, month=Month(first), now=now, chunk=chunk, after=after, upto=upto))
        return report
    finally:
        store.dispose()


# --- Reading bills ---------------------------------------------------------------------------------


def show(
    ctx: Context, *, service_no: str, month: Month, revision: int | None = None, mode: str | None = None
) -> Bill:
    """The bill of a month; in a month with a switch, the postpaid bill unless `mode` says."""
    with ctx.store.read() as conn:
        connections.get(conn, service_no)
        found = repo.get(conn, service_no=service_no, month=month, revision=revision, mode=mode)
    if found is None:
        raise BillNotFound(f"no bill of {month} for {service_no}", service_no=service_no, month=str(month))
    return found


def listing(ctx: Context, *, service_no: str) -> list[Bill]:
    with ctx.store.read() as conn:
        connections.get(conn, service_no)
        return repo.listing(conn, service_no=service_no)


def replaces_bill_no(bill: Bill) -> str | None:
    """The number of the revision this one corrects (None for a first issue)."""
    return repo.bill_number(bill.service_no, bill.month, bill.revision - 1) if bill.revision > 1 else None


def by_code(ctx: Context, *, code: str) -> list[Bill]:
    """Bills with this verification code (staff checking a printed bill)."""
    with ctx.store.read() as conn:
        return repo.by_code(conn, code.strip().upper())


def pdf(ctx: Context, bill: Bill, *, language: str | None = None) -> bytes:
    """The bill's PDF in `language` (default: the consumer's language when it was issued)."""
    chosen = parse_language(language) or bill.language
    return _render.pdf(bill, language=chosen, settings=_render_settings())


@functools.cache
def _render_settings() -> bill_settings.BillSettings:
    return bill_settings.BillSettings()


def open_link(ctx: Context, token: str, *, now: dt.datetime) -> Bill:
    """The one bill a valid, unexpired link names; BillLinkInvalid for anything else."""
    configured = bill_settings.BillSettings().link_secret
    found = None
    with ctx.store.read() as conn:
        secret = _links.existing_key(conn, configured=configured.get_secret_value() if configured else None)
        bill_id = None if secret is None else _links.verify(secret, token, today=clock.ist_date(now))
        if bill_id is not None:
            found = repo.by_id(conn, bill_id)
    if found is None:
        raise BillLinkInvalid("this bill link is not valid or has expired; sign in to see your bills")
    return found
