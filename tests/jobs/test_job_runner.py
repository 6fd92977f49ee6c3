"""The real-time scheduler: each clock-driven occurrence runs once however many workers look, a
missed 06:00 cycle runs when a worker comes back, and a failed occurrence is taken up again."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from wattwallet.context import Context
from wattwallet.domain import clock
from wattwallet.jobs import runner, schedule
from wattwallet.store import schema


def _runs(ctx: Context) -> list[tuple[str, dt.datetime, str]]:
    r = schema.job_runs
    with ctx.store.read() as conn:
        return [(row.job, row.due_at, row.status) for row in conn.execute(sa.select(r).order_by(r.c.job))]


def test_each_occurrence_runs_once_across_workers(ctx: Context) -> None:
    now = dt.datetime(2025, 6, 2, 10, 20, tzinfo=clock.IST)
    runner.tick(ctx, now=now, worker="a")
    second = runner.tick(ctx, now=now + dt.timedelta(seconds=5), worker="b")
    assert schedule.DAILY_CYCLE not in second and schedule.WINDOW not in second
    runs = _runs(ctx)
    jobs = {job for job, _, _ in runs}
    assert jobs == {
        schedule.DAILY_CYCLE,
        schedule.MODE_SWITCHES,
        schedule.TERMINATIONS,
        schedule.BILLS,
        schedule.NOTICES,
        schedule.WINDOW,
    }
    assert all(status == "done" for _, _, status in runs)
    due = {job: at for job, at, _ in runs}
    assert due[schedule.DAILY_CYCLE] == dt.datetime(2025, 6, 2, 6, 0, tzinfo=clock.IST)
    assert due[schedule.NOTICES] == dt.datetime(2025, 6, 2, 9, 0, tzinfo=clock.IST)
    assert due[schedule.WINDOW] == dt.datetime(2025, 6, 2, 10, 15, tzinfo=clock.IST)
    assert due[schedule.BILLS] == dt.datetime(2025, 6, 1, 7, 0, tzinfo=clock.IST)  # May's bills


def test_racing_workers_claim_each_occurrence_once(ctx: Context) -> None:
    now = dt.datetime(2025, 6, 2, 10, 20, tzinfo=clock.IST)
    won: list[tuple[str, str]] = []
    barrier = threading.Barrier(4)

    def work(name: str) -> None:
        barrier.wait()
        for job in runner.CLOCK_JOBS:
            due_at = runner.latest_occurrence(ctx, job, now=now)
            assert due_at is not None
            if runner.claim(ctx, job, due_at, worker=name, now=now, settings=runner.RunnerSettings()):
                won.append((job, name))

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(job for job, _ in won) == sorted(runner.CLOCK_JOBS)


def test_the_window_is_not_due_outside_it_or_on_a_holiday(ctx: Context) -> None:
    assert (
        runner.latest_occurrence(ctx, schedule.WINDOW, now=dt.datetime(2025, 6, 2, 9, 59, tzinfo=clock.IST))
        is None
    )
    assert (
        runner.latest_occurrence(ctx, schedule.WINDOW, now=dt.datetime(2025, 6, 2, 13, 0, tzinfo=clock.IST))
        is None
    )
    sunday = dt.datetime(2025, 6, 8, 11, 0, tzinfo=clock.IST)
    assert runner.latest_occurrence(ctx, schedule.WINDOW, now=sunday) is None


def test_before_six_the_missed_cycle_is_yesterdays(ctx: Context) -> None:
    early = dt.datetime(2025, 6, 2, 5, 0, tzinfo=clock.IST)
    assert runner.latest_occurrence(ctx, schedule.DAILY_CYCLE, now=early) == dt.datetime(
        2025, 6, 1, 6, 0, tzinfo=clock.IST
    )


def test_a_failed_occurrence_is_claimed_again_after_a_while(ctx: Context) -> None:
    settings = runner.RunnerSettings(retry_failed_after=dt.timedelta(minutes=5))
    due = dt.datetime(2025, 6, 2, 6, 0, tzinfo=clock.IST)
    now = dt.datetime(2025, 6, 2, 6, 1, tzinfo=clock.IST)
    assert runner.claim(ctx, "daily_cycle", due, worker="a", now=now, settings=settings)
    r = schema.job_runs
    with ctx.store.write() as conn:
        conn.execute(sa.update(r).values(status="failed", finished_at=now))
    assert not runner.claim(
        ctx, "daily_cycle", due, worker="b", now=now + dt.timedelta(minutes=1), settings=settings
    )
    assert runner.claim(
        ctx, "daily_cycle", due, worker="b", now=now + dt.timedelta(minutes=6), settings=settings
    )
    # Running and not stale: nobody else takes it.
    assert not runner.claim(
        ctx, "daily_cycle", due, worker="c", now=now + dt.timedelta(minutes=7), settings=settings
    )


def test_two_worker_processes_do_each_occurrence_once(ctx: Context, store_url: str) -> None:
    """Two real `wattwallet worker` processes on one database, ticking fast for a few seconds."""
    env = {**os.environ, "WATTWALLET_DATABASE_URL": store_url, "WATTWALLET_JOBS_TICK_SECONDS": "0.2"}
    wattwallet = Path(sys.executable).with_name("wattwallet")
    workers = [
        subprocess.Popen(
            [str(wattwallet), "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for _ in range(2)
    ]
    now = dt.datetime.now(dt.UTC)
    expected = {job for job in runner.CLOCK_JOBS if runner.latest_occurrence(ctx, job, now=now) is not None}
    deadline = time.monotonic() + 60
    while {
        job for job, _, status in _runs(ctx) if status == "done"
    } != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.5)  # both keep ticking over the same occurrences meanwhile
    for process in workers:
        process.send_signal(signal.SIGTERM)
    outputs = [process.communicate(timeout=30)[0].decode() for process in workers]
    assert all(process.returncode == 0 for process in workers), outputs
    assert all("worker running" in out for out in outputs), outputs
    runs = _runs(ctx)
    assert sorted(job for job, _, _ in runs) == sorted(expected)  # one row each: no occurrence twice
    assert all(status == "done" for _, _, status in runs), runs
