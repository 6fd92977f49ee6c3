"""Occurrences of clock-driven jobs: one `job_runs` row per (job, due time), claimed by one worker."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa

from wattwallet.store import db, schema


class Status(enum.StrEnum):
    """job_runs.status, checked by the database."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def insert_claim(store: db.Store, *, job: str, due_at: dt.datetime, worker: str, now: dt.datetime) -> bool:
    """Claim a fresh occurrence by inserting its row: whoever inserts first has it."""
    r = schema.job_runs
    try:
        with store.write() as conn:
            conn.execute(
                sa.insert(r).values(
                    job=job, due_at=due_at, worker=worker, status=Status.RUNNING, started_at=now
                )
            )
        return True
    except sa.exc.IntegrityError:
        return False


def take_over(
    store: db.Store,
    *,
    job: str,
    due_at: dt.datetime,
    worker: str,
    now: dt.datetime,
    failed_before: dt.datetime,
    started_before: dt.datetime,
) -> bool:
    """Take a claimed occurrence over if it failed before `failed_before` or its worker has been
    silent since before `started_before`."""
    r = schema.job_runs
    with store.write() as conn:
        taken = conn.execute(
            sa.update(r)
            .where(
                r.c.job == job,
                r.c.due_at == due_at,
                sa.or_(
                    sa.and_(r.c.status == Status.FAILED, r.c.finished_at < failed_before),
                    sa.and_(r.c.status == Status.RUNNING, r.c.started_at < started_before),
                ),
            )
            .values(worker=worker, status=Status.RUNNING, started_at=now, finished_at=None, detail=None)
        )
        return taken.rowcount == 1


def finish(
    store: db.Store, *, job: str, due_at: dt.datetime, status: str, now: dt.datetime, detail: str
) -> None:
    r = schema.job_runs
    with store.write() as conn:
        conn.execute(
            sa.update(r)
            .where(r.c.job == job, r.c.due_at == due_at)
            .values(status=status, finished_at=now, detail=detail[:2000])
        )
