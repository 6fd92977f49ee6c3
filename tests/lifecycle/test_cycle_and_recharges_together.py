"""A recharge that arrives while the daily cycle holds the connection's batch must neither
deadlock nor lose a paisa (PostgreSQL, real parallel connections)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest

from tests.conftest import AddConnection
from wattwallet.context import Context
from wattwallet.domain import clock
from wattwallet.domain import readings as reading_rules
from wattwallet.ledger import postings, verify
from wattwallet.lifecycle import daily_cycle, readings
from wattwallet.wallet import recharges
from wattwallet.wallet import views as wallets


@pytest.fixture(params=["postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: SQLite runs one writer at a time, so there is nothing to interleave."""
    return str(request.param)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 6, day, hour, minute, tzinfo=clock.IST)


def test_a_recharge_during_the_cycle_waits_and_both_complete(
    ctx: Context, add_connection: AddConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    sn = add_connection(meter_serial="SM-RACE", load_kw="5")
    recharges.recharge_wallet(
        ctx, service_no=sn, channel="portal", reference="R1", amount_paise=50_000, now=at(2, 9)
    )
    readings.record(ctx, [reading_rules.Reading("SM-RACE", at(3, 0, 10), 120_000)], now=at(3, 0, 10))
    daily_cycle.run(ctx, now=at(3, 6))  # heavy use: the low-balance alerts go out
    readings.record(ctx, [reading_rules.Reading("SM-RACE", at(4, 0, 10), 126_000)], now=at(4, 0, 10))
    before = wallets.view(ctx, service_no=sn, now=at(4, 6)).balance

    # Hold the cycle right after it has locked the batch's money, while a recharge (which re-arms
    # the alerts, so it writes the same state row) arrives.
    locked, release = threading.Event(), threading.Event()
    original = postings.lock_range

    def lock_then_wait(conn: Any, **kwargs: Any) -> dict[str, postings.Book]:
        books = original(conn, **kwargs)
        if kwargs.get("lock", True):  # the write phase, not the plain read before rating
            locked.set()
            release.wait(10)
        return books

    monkeypatch.setattr(postings, "lock_range", lock_then_wait)
    failures: dict[str, BaseException] = {}
    results: dict[str, Any] = {}

    def run(name: str, work: Any) -> None:
        try:
            results[name] = work()
        except BaseException as exc:
            failures[name] = exc

    cycle = threading.Thread(target=run, args=("cycle", lambda: daily_cycle.run(ctx, now=at(4, 6))))
    cycle.start()
    assert locked.wait(10)
    recharge = threading.Thread(
        target=run,
        args=(
            "recharge",
            lambda: recharges.recharge_wallet(
                ctx, service_no=sn, channel="app", reference="R2", amount_paise=100_000, now=at(4, 6)
            ),
        ),
    )
    recharge.start()
    recharge.join(1.0)
    assert recharge.is_alive()  # it waits for the cycle's lock on the connection's money ...
    release.set()
    cycle.join(20)
    recharge.join(20)
    assert failures == {}  # ... and neither side deadlocks
    assert results["cycle"].connections == 1
    deducted = results["cycle"].deducted_paise
    assert wallets.view(ctx, service_no=sn, now=at(4, 7)).balance == before - deducted + 100_000
    with ctx.store.read() as conn:
        report = verify.verify(conn)
    assert report.ok, report.discrepancies
