"""Scheduled work in real time, safe with several workers: the loop behind `wattwallet worker`
and the jobs thread of `wattwallet serve`.

Clock-driven jobs (the 06:00 daily cycle and terminations, the 09:00 short-bill notices, each
15-minute tick of the disconnection window) run once per occurrence: a worker claims the
occurrence by inserting its `job_runs` row, and whoever inserts first runs it. A worker that was
down at 06:00 runs the day's cycle when it comes back (the latest missed occurrence, not every one).
A failed occurrence, or one left `running` by a worker that died, is claimed again after a while.
Data-driven jobs (HES sends and retries, confirmations, the 15-minute reconnection check) run on
every tick; they claim their own rows (hes_commands) or are idempotent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Callable

from wattwallet.context import Context
from wattwallet.domain import clock, disconnection
from wattwallet.jobs import schedule
from wattwallet.store import calendar_repo, job_runs

log = logging.getLogger("wattwallet.jobs")

CLOCK_JOBS = (
    schedule.DAILY_CYCLE,
    schedule.MODE_SWITCHES,
    schedule.TERMINATIONS,
    schedule.BILLS,
    schedule.NOTICES,
    schedule.WINDOW,
)
DATA_JOBS = (schedule.CONFIRMATIONS, schedule.ESCALATION, schedule.DISPATCH)


@dataclasses.dataclass(frozen=True)
class RunnerSettings:
    tick_seconds: float = 5.0
    retry_failed_after: dt.timedelta = dt.timedelta(minutes=5)
    # A daily cycle of millions takes minutes; only a worker silent far longer is taken as dead.
    stale_after: dt.timedelta = dt.timedelta(hours=1)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100_000}"[:64]


def latest_occurrence(ctx: Context, job: str, *, now: dt.datetime) -> dt.datetime | None:
    """The most recent time `job` was due at or before `now` (None: not due at all now)."""
    rules = ctx.policy
    if job == schedule.WINDOW:
        with ctx.store.write() as conn:  # a year not in the calendar yet is seeded on first look
            days = calendar_repo.around(conn, at=now)
        if not disconnection.in_disconnection_window(now, days, rules):
            return None
        start, _ = disconnection.window_on(clock.ist_date(now), rules)
        step = dt.timedelta(minutes=rules.disconnection_tick_minutes)
        return start + step * ((now - start) // step)
    if job == schedule.BILLS:  # the latest 1st-of-the-month run at or before now
        first = dt.datetime.combine(clock.ist_date(now).replace(day=1), rules.bill_run_time, tzinfo=clock.IST)
        if first <= now:
            return first
        before = (first.date() - dt.timedelta(days=1)).replace(day=1)
        return dt.datetime.combine(before, rules.bill_run_time, tzinfo=clock.IST)
    at_time = rules.notice_time if job == schedule.NOTICES else rules.daily_cycle_time
    today = dt.datetime.combine(clock.ist_date(now), at_time, tzinfo=clock.IST)
    return today if today <= now else today - dt.timedelta(days=1)


def claim(
    ctx: Context, job: str, due_at: dt.datetime, *, worker: str, now: dt.datetime, settings: RunnerSettings
) -> bool:
    """Take the occurrence for this worker. False: another worker has it, or has done it."""
    if job_runs.insert_claim(ctx.store, job=job, due_at=due_at, worker=worker, now=now):
        return True
    # Taken already: take it over only if it failed a while ago or its worker went silent.
    return job_runs.take_over(
        ctx.store,
        job=job,
        due_at=due_at,
        worker=worker,
        now=now,
        failed_before=now - settings.retry_failed_after,
        started_before=now - settings.stale_after,
    )


def _finish(
    ctx: Context, job: str, due_at: dt.datetime, *, status: str, now: dt.datetime, detail: str
) -> None:
    job_runs.finish(ctx.store, job=job, due_at=due_at, status=status, now=now, detail=detail)


def tick(
    ctx: Context,
    *,
    now: dt.datetime,
    worker: str,
    settings: RunnerSettings = RunnerSettings(),
) -> list[str]:
    """Run what is due at `now` that no other worker has run. Returns the jobs this worker ran."""
    ran: list[str] = []
    for job in schedule.ORDER:
        events: schedule.Events = []
        if job in CLOCK_JOBS:
            due_at = latest_occurrence(ctx, job, now=now)
            if due_at is None or not claim(ctx, job, due_at, worker=worker, now=now, settings=settings):
                continue
            try:
                schedule.run(ctx, job, now=now, events=events)
            except Exception as exc:
                log.exception("job %s due %s failed", job, due_at.isoformat())
                _finish(ctx, job, due_at, status=job_runs.Status.FAILED, now=now, detail=repr(exc))
                continue
            _finish(ctx, job, due_at, status=job_runs.Status.DONE, now=now, detail=f"{len(events)} events")
        else:
            try:
                schedule.run(ctx, job, now=now, events=events)
            except Exception:
                log.exception("job %s failed", job)
                continue
            if not events:
                continue
        ran.append(job)
        log.info("job %s ran: %d events", job, len(events))
    return ran


class Runner:
    """The loop on a thread: `start()`, then `stop()` to finish the current tick and end."""

    def __init__(
        self,
        ctx: Context,
        *,
        settings: RunnerSettings = RunnerSettings(),
        clock_now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        name: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.clock_now = clock_now
        self.worker = name or worker_name()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ticks = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="wattwallet-jobs", daemon=True)
        self._thread.start()

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                tick(self.ctx, now=self.clock_now(), worker=self.worker, settings=self.settings)
            except Exception:  # the database away for a moment must not end the loop
                log.exception("scheduler tick failed; trying again next tick")
            self.ticks += 1
            self._stop.wait(self.settings.tick_seconds)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
