"""Many callers recharging one connection at once: no paisa lost or doubled, a reference used once.

Threads share the store's engine pool, so on PostgreSQL they are real parallel sessions and on
SQLite they queue on BEGIN IMMEDIATE. OS processes ('spawn') each open their own Store from the
URL, as separate workers of a deployment would. A barrier releases the callers of every round
together. Where a race must really happen (duplicate references on PostgreSQL), a gate holds the
wallet locks until every caller has looked the reference up and queued on the lock.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import multiprocessing
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import pytest
import sqlalchemy as sa

from tests.conftest import AddConnection, agents_for_tests, take_recharge
from wattwallet import tariffs
from wattwallet.context import Context
from wattwallet.domain import errors, policy, recharge
from wattwallet.ledger import accounts, verify
from wattwallet.store import db, schema
from wattwallet.wallet import dues, recharges
from wattwallet.wallet import views as wallets

# service_no, channel, reference, amount in paise: plain data, so it crosses process boundaries.
Job = tuple[str, str, str, int]

CHANNELS = [c.value for c in recharge.Channel]
BARRIER_TIMEOUT_S = 60
# Overrides the `backend` fixture's parameters: OS processes and the gate need PostgreSQL.
on_postgresql = pytest.mark.parametrize("backend", ["postgresql"])


class _Barrier(Protocol):
    def wait(self, timeout: float | None = None) -> int: ...

    def abort(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class Outcome:
    job: Job
    receipt: recharges.Receipt | None = None
    error: str | None = None  # the WattWalletError code; "crash: ..." for anything unanticipated


def _call(ctx: Context, job: Job, now: dt.datetime) -> Outcome:
    service_no, channel, reference, amount = job
    try:
        receipt = take_recharge(
            ctx, service_no=service_no, channel=channel, reference=reference, amount_paise=amount, now=now
        )
    except errors.WattWalletError as exc:
        return Outcome(job, error=exc.code)
    except Exception as exc:
        # Recorded rather than raised: the tests assert that no caller ever gets one.
        return Outcome(job, error=f"crash: {exc!r}")
    return Outcome(job, receipt=receipt)


def _worker(ctx: Context, jobs: Sequence[Job], barrier: _Barrier, now: dt.datetime) -> list[Outcome]:
    outcomes = []
    for job in jobs:
        barrier.wait(timeout=BARRIER_TIMEOUT_S)  # every worker fires its i-th call together
        outcomes.append(_call(ctx, job, now))
    return outcomes


def _run_threads(
    ctx: Context,
    per_worker: Sequence[Sequence[Job]],
    now: dt.datetime,
    while_running: Callable[[], None] = lambda: None,
) -> list[Outcome]:
    agents_for_tests(ctx, now=now)  # the outlet and kiosk exist before the workers race
    barrier = threading.Barrier(len(per_worker))
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(per_worker)) as pool:
        futures = [pool.submit(_worker, ctx, jobs, barrier, now) for jobs in per_worker]
        while_running()
        return [outcome for future in futures for outcome in future.result(timeout=120)]


def _serve(index: int, inbox: Any, results: Any, barrier: _Barrier) -> None:
    """One OS process of the fleet: its own engine per URL, tariff book and policy, fed plain data."""
    stores: dict[str, db.Store] = {}
    try:
        while (task := inbox.get()) is not None:
            url, jobs, now_iso, dues_share = task
            try:
                if url not in stores:
                    stores[url] = db.Store.from_url(url)
                store = stores[url]
                rules = policy.Policy(dues_max_share_percent=dues_share)
                ctx = Context(store=store, tariffs=tariffs.book("sample"), policy=rules)
                results.put((index, "ok", _worker(ctx, jobs, barrier, dt.datetime.fromisoformat(now_iso))))
            except BaseException:
                barrier.abort()  # do not leave the siblings waiting for a caller that is gone
                results.put((index, "crash", traceback.format_exc()))
    finally:
        for store in stores.values():
            store.dispose()


class Fleet:
    """Worker processes started ('spawn') once per module: each start costs about a second here."""

    def __init__(self, size: int) -> None:
        mp = multiprocessing.get_context("spawn")
        self.barrier = mp.Barrier(size)
        self.results = mp.Queue()
        self.inboxes = [mp.Queue() for _ in range(size)]
        self.children = [
            mp.Process(target=_serve, args=(n, inbox, self.results, self.barrier), daemon=True)
            for n, inbox in enumerate(self.inboxes)
        ]
        for child in self.children:
            child.start()

    def run(
        self,
        url: str,
        per_worker: Sequence[Sequence[Job]],
        now: dt.datetime,
        *,
        dues_share: int = 100,
        while_running: Callable[[], None] = lambda: None,
    ) -> list[Outcome]:
        assert len(per_worker) == len(self.children), "every process takes part in every round"
        self.barrier.reset()  # in case a failed run before this one broke it
        store = db.Store.from_url(url)
        try:  # the outlet and kiosk exist before the workers race
            agents_for_tests(
                Context(store=store, tariffs=tariffs.book("sample"), policy=policy.Policy()), now=now
            )
        finally:
            store.dispose()
        for inbox, jobs in zip(self.inboxes, per_worker, strict=True):
            inbox.put((url, list(jobs), now.isoformat(), dues_share))
        while_running()
        reports = sorted(self.results.get(timeout=120) for _ in self.children)
        crashes = [detail for _, status, detail in reports if status != "ok"]
        assert not crashes, crashes[0]
        return [outcome for _, _, outcomes in reports for outcome in outcomes]

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for child in self.children:
            child.join(timeout=30)
            if child.is_alive():
                child.kill()
        assert [child.exitcode for child in self.children] == [0] * len(self.children)


@pytest.fixture(scope="module")
def fleet(pg_url: str) -> Iterator[Fleet]:
    # Depends on pg_url so that it is skipped, not started, when PostgreSQL is unreachable.
    processes = Fleet(4)
    yield processes
    processes.close()


@contextlib.contextmanager
def _gate(url: str, service_nos: Sequence[str]) -> Iterator[Callable[[int], None]]:
    """Hold the wallet locks; `release(n)` lets go once n sessions queue behind them.

    A caller only queues on the wallet lock after looking its reference up, so once all of them
    queue, every one has seen "no recharge with this reference yet": the race is certain.
    """
    engine = sa.create_engine(url)
    holder = engine.connect()
    holding = holder.begin()
    a = schema.ledger_accounts
    codes = [accounts.wallet(s) for s in service_nos]
    holder.execute(sa.select(a.c.code).where(a.c.code.in_(codes)).with_for_update()).all()

    def release(waiters: int) -> None:
        deadline = time.monotonic() + 60
        try:
            with engine.connect() as probe:
                while True:
                    queued = probe.execute(
                        sa.text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        )
                    ).scalar_one()
                    probe.rollback()  # pg_stat_activity is a per-transaction snapshot
                    if queued >= waiters:
                        break
                    assert time.monotonic() < deadline, f"only {queued} of {waiters} callers queued"
                    time.sleep(0.01)
        finally:
            holding.rollback()  # always: the callers' threads cannot finish while it is held

    try:
        yield release
    finally:
        if holding.is_active:
            holding.rollback()
        holder.close()
        engine.dispose()


def _rows(ctx: Context, service_no: str) -> list[sa.Row[Any]]:
    r = schema.recharges
    with ctx.store.read() as conn:
        return list(conn.execute(sa.select(r).where(r.c.service_no == service_no).order_by(r.c.id)))


def _assert_ledger_ok(ctx: Context) -> None:
    with ctx.store.read() as conn:
        report = verify.verify(conn)
    assert report.ok, report.discrepancies


def _assert_no_crash(outcomes: Sequence[Outcome]) -> None:
    crashes = [o for o in outcomes if o.error and o.error.startswith("crash")]
    assert not crashes, crashes[:3]


def _assert_serial_history(
    ctx: Context, service_no: str, *, wallet: int, dues_owed: int, dues_share: int
) -> list[sa.Row[Any]]:
    """The recharges, in the order the lock let them through, replay as if made one by one.

    Any lost update (two callers reading the same balance) breaks this running sum.
    """
    rows = _rows(ctx, service_no)
    for row in rows:
        to_dues = min(dues_owed, row.amount * dues_share // 100)
        wallet += row.amount - to_dues
        dues_owed -= to_dues
        assert (row.to_dues, row.to_wallet) == (to_dues, row.amount - to_dues), row
        assert (row.balance_after, row.dues_after) == (wallet, dues_owed), row
    return rows


def _distinct_jobs(service_no: str, workers: int, per_worker: int, tag: str) -> list[list[Job]]:
    return [
        [
            (service_no, CHANNELS[w % len(CHANNELS)], f"{tag}-{w}-{i}", 10_000 * (1 + (w * 7 + i) % 9))
            for i in range(per_worker)
        ]
        for w in range(workers)
    ]


def _assert_all_credited(
    ctx: Context, service_no: str, per_worker: list[list[Job]], outcomes: list[Outcome], now: dt.datetime
) -> None:
    _assert_no_crash(outcomes)
    jobs = [job for jobs in per_worker for job in jobs]
    assert [o.error for o in outcomes] == [None] * len(jobs)
    receipts = [o.receipt for o in outcomes if o.receipt]
    assert len({r.receipt_no for r in receipts}) == len(jobs)
    assert not any(r.replayed for r in receipts)
    total = sum(job[3] for job in jobs)
    rows = _assert_serial_history(ctx, service_no, wallet=0, dues_owed=0, dues_share=100)
    assert len(rows) == len(jobs)
    # Each caller was told the balance its own recharge left, as the row recorded it.
    by_no = {recharges.receipt_number(row.id): row.balance_after for row in rows}
    assert all(by_no[r.receipt_no] == r.balance for r in receipts)
    view = wallets.view(ctx, service_no=service_no, now=now)
    assert (view.balance, view.dues) == (total, 0)
    _assert_ledger_ok(ctx)


def test_threads_recharging_one_connection_lose_no_paisa(
    ctx: Context, add_connection: AddConnection, now: dt.datetime
) -> None:
    service_no = add_connection(first_recharge_done=True)
    per_worker = _distinct_jobs(service_no, workers=8, per_worker=25, tag="T")
    outcomes = _run_threads(ctx, per_worker, now)
    _assert_all_credited(ctx, service_no, per_worker, outcomes, now)


@on_postgresql
@pytest.mark.postgres_only
def test_processes_recharging_one_connection_lose_no_paisa(
    ctx: Context, store_url: str, fleet: Fleet, add_connection: AddConnection, now: dt.datetime
) -> None:
    service_no = add_connection(first_recharge_done=True)
    per_worker = _distinct_jobs(service_no, workers=4, per_worker=25, tag="P")
    outcomes = fleet.run(store_url, per_worker, now)
    _assert_all_credited(ctx, service_no, per_worker, outcomes, now)


def _duplicate_jobs(a: str, b: str, reference: str, amount: int, callers: int) -> list[list[Job]]:
    """Most callers repeat one request; some reuse its reference for another amount or connection."""
    variants = [
        (a, "portal", reference, amount),
        (a, "portal", reference, amount),
        (a, "portal", reference, amount + 10_000),
        (b, "portal", reference, amount),
    ]
    return [[variants[i % len(variants)]] for i in range(callers)]


def _balances(ctx: Context, service_nos: Sequence[str], now: dt.datetime) -> dict[str, int]:
    return {s: wallets.view(ctx, service_no=s, now=now).balance for s in service_nos}


def _assert_answered_once(
    ctx: Context, outcomes: Sequence[Outcome], before: dict[str, int], reference: str, now: dt.datetime
) -> None:
    """One recharge row; its request's callers share one receipt, the others get a conflict."""
    _assert_no_crash(outcomes)
    r = schema.recharges
    with ctx.store.read() as conn:
        rows = conn.execute(sa.select(r).where(r.c.reference == reference)).all()
    assert len(rows) == 1
    (row,) = rows
    winner = (row.service_no, row.channel, row.reference, row.amount)
    same = [o for o in outcomes if o.job == winner]
    others = [o for o in outcomes if o.job != winner]
    assert same, "the recorded recharge matches nobody's request"
    assert [o.error for o in same] == [None] * len(same)
    receipts = [o.receipt for o in same if o.receipt]
    assert [rc.replayed for rc in receipts].count(False) == 1
    original = next(rc for rc in receipts if not rc.replayed)
    assert original.receipt_no == recharges.receipt_number(row.id)
    assert all(dataclasses.replace(rc, replayed=False) == original for rc in receipts)
    assert [o.error for o in others] == ["duplicate_conflict"] * len(others)
    # The money moved once, and only on the connection of the recorded request.
    expected = {s: b + (original.to_wallet if s == row.service_no else 0) for s, b in before.items()}
    assert _balances(ctx, list(before), now) == expected
    _assert_ledger_ok(ctx)


def _race_duplicates(
    ctx: Context,
    backend: str,
    store_url: str,
    per_worker: list[list[Job]],
    service_nos: Sequence[str],
    now: dt.datetime,
    *,
    fleet: Fleet | None = None,
) -> list[Outcome]:
    # On PostgreSQL the gate makes every caller miss the reference before anyone commits it.
    gate = _gate(store_url, service_nos) if backend == "postgresql" else contextlib.nullcontext(None)
    with gate as release:
        opened = (lambda: release(len(per_worker))) if release else (lambda: None)
        if fleet:
            return fleet.run(store_url, per_worker, now, while_running=opened)
        return _run_threads(ctx, per_worker, now, while_running=opened)


def test_threads_racing_one_reference_credit_once(
    ctx: Context, backend: str, store_url: str, add_connection: AddConnection, now: dt.datetime
) -> None:
    a, b = add_connection(first_recharge_done=True), add_connection(first_recharge_done=True)
    for n, amount in enumerate([20_000, 30_000, 50_000]):
        reference = f"DUP-{n}"
        before = _balances(ctx, [a, b], now)
        per_worker = _duplicate_jobs(a, b, reference, amount, callers=8)
        outcomes = _race_duplicates(ctx, backend, store_url, per_worker, [a, b], now)
        _assert_answered_once(ctx, outcomes, before, reference, now)
    assert len(_rows(ctx, a)) + len(_rows(ctx, b)) == 3


@on_postgresql
@pytest.mark.postgres_only
def test_processes_racing_one_reference_credit_once(
    ctx: Context,
    backend: str,
    store_url: str,
    fleet: Fleet,
    add_connection: AddConnection,
    now: dt.datetime,
) -> None:
    a, b = add_connection(first_recharge_done=True), add_connection(first_recharge_done=True)
    for n, amount in enumerate([40_000, 60_000]):
        reference = f"DUP-P{n}"
        before = _balances(ctx, [a, b], now)
        per_worker = _duplicate_jobs(a, b, reference, amount, callers=len(fleet.children))
        outcomes = _race_duplicates(ctx, backend, store_url, per_worker, [a, b], now, fleet=fleet)
        _assert_answered_once(ctx, outcomes, before, reference, now)


def test_racing_repeats_of_a_first_recharge_get_its_receipt(
    ctx: Context, backend: str, store_url: str, add_connection: AddConnection, now: dt.datetime
) -> None:
    # A first recharge need not be a multiple of ₹100 (only later ones must), so a repeat queued
    # behind it must be recognised as a repeat before the later-recharge rules judge it: with the
    # reference looked up only before the lock, the repeats got not_multiple_of_100 on PostgreSQL.
    # Every variant here is a valid first recharge of its connection, whichever of them wins.
    a, b = add_connection(), add_connection()
    per_worker = _duplicate_jobs(a, b, "FIRST-1", 55_050, callers=8)
    outcomes = _race_duplicates(ctx, backend, store_url, per_worker, [a, b], now)
    _assert_answered_once(ctx, outcomes, {a: 0, b: 0}, "FIRST-1", now)


@pytest.mark.parametrize(
    "rules", [policy.Policy(), policy.Policy(dues_max_share_percent=35)], ids=["cap100", "cap35"]
)
def test_threads_racing_with_dues_recover_them_once(
    ctx: Context, add_connection: AddConnection, now: dt.datetime
) -> None:
    arrears, adjustment = 123_456, 7_890
    service_no = add_connection(first_recharge_done=True, arrears_paise=arrears)
    dues.add(
        ctx,
        service_no=service_no,
        kind="technical_adjustment",
        amount_paise=adjustment,
        reason="meter tamper reassessment",
        reference="ADJ-1",
        now=now,
    )
    owed = arrears + adjustment
    per_worker = _distinct_jobs(service_no, workers=8, per_worker=6, tag="D")
    outcomes = _run_threads(ctx, per_worker, now)
    _assert_no_crash(outcomes)
    assert [o.error for o in outcomes] == [None] * len(outcomes)
    receipts = [o.receipt for o in outcomes if o.receipt]
    total = sum(r.amount for r in receipts)
    assert sum(r.to_dues for r in receipts) == owed
    share = ctx.policy.dues_max_share_percent
    rows = _assert_serial_history(ctx, service_no, wallet=0, dues_owed=owed, dues_share=share)
    assert len(rows) == len(receipts)
    view = wallets.view(ctx, service_no=service_no, now=now)
    assert (view.balance, view.dues) == (total - owed, 0)
    _assert_ledger_ok(ctx)


@on_postgresql
@pytest.mark.postgres_only
def test_processes_racing_with_dues_recover_them_once(
    ctx: Context, store_url: str, fleet: Fleet, add_connection: AddConnection, now: dt.datetime
) -> None:
    owed = 98_765
    service_no = add_connection(first_recharge_done=True, arrears_paise=owed)
    per_worker = _distinct_jobs(service_no, workers=4, per_worker=5, tag="DP")
    outcomes = fleet.run(store_url, per_worker, now, dues_share=50)
    _assert_no_crash(outcomes)
    receipts = [o.receipt for o in outcomes if o.receipt]
    assert len(receipts) == 20
    assert sum(r.to_dues for r in receipts) == owed
    _assert_serial_history(ctx, service_no, wallet=0, dues_owed=owed, dues_share=50)
    view = wallets.view(ctx, service_no=service_no, now=now)
    assert (view.balance, view.dues) == (sum(r.amount for r in receipts) - owed, 0)
    _assert_ledger_ok(ctx)
