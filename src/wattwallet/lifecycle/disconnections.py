"""The disconnection window (10:00-13:00 IST on working days): issue the disconnects that are due.

A connection is picked when it is due (balance below its emergency credit), still active, not on
hold for suspect consumption, has no disconnect already under way, and its earliest time (a full
grace period after the zero-balance alert, inside a window) has come. The balance is checked again
right before each command goes (services.lifecycle.dispatch).
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa

from wattwallet.context import Context
from wattwallet.domain import clock, disconnection, working_days
from wattwallet.domain import events as domain_events
from wattwallet.hes import commands
from wattwallet.lifecycle import holds
from wattwallet.lifecycle import relay as lifecycle
from wattwallet.store import calendar_repo, schema

log = logging.getLogger("wattwallet.calendar")
UNCONFIRMED_YEAR = "calendar_unconfirmed_year"


def warn_if_unconfirmed(days: working_days.WorkingDays, *, now: dt.datetime) -> bool:
    """Log a warning (structured: `event`, `year`, `day` in the record) when the window runs on
    a year whose holidays are computed, not an official list. True when it warned."""
    today = clock.ist_date(now)
    if days.confirmed(today):
        return False
    log.warning(
        "%s year=%d day=%s: the disconnection window runs on computed holidays, not an official "
        "list; load the DISCOM's circular with `wattwallet calendar import`",
        UNCONFIRMED_YEAR,
        today.year,
        today.isoformat(),
        extra={"event": UNCONFIRMED_YEAR, "year": today.year, "day": today.isoformat()},
    )
    return True


def run(ctx: Context, *, now: dt.datetime, events: domain_events.Log) -> int:
    """Issue and send the disconnects due now. Returns how many were issued."""
    s, c, m, h, held = (
        schema.prepaid_state,
        schema.connections,
        schema.meters,
        schema.hes_commands,
        schema.held_consumption,
    )
    issued = 0
    with ctx.store.write() as conn:
        days = calendar_repo.around(conn, at=now)
        if not disconnection.in_disconnection_window(now, days, ctx.policy):
            return 0
        warn_if_unconfirmed(days, now=now)
        due = conn.execute(
            sa.select(s.c.service_no, s.c.zero_alert_at, s.c.disconnect_due_at, m.c.serial)
            .select_from(
                s.join(c, c.c.service_no == s.c.service_no).join(m, m.c.service_no == s.c.service_no)
            )
            .where(
                s.c.disconnect_due_at.is_not(None),
                s.c.zero_alert_at.is_not(None),
                c.c.state == "active",
                c.c.billing_mode == "prepaid",
                ~sa.exists().where(held.c.service_no == s.c.service_no, held.c.status == holds.Status.OPEN),
                ~sa.exists().where(
                    h.c.service_no == s.c.service_no,
                    h.c.command == commands.DISCONNECT,
                    h.c.status.in_(commands.OPEN_STATUSES),
                ),
            )
            .order_by(s.c.service_no)
        ).all()
        for row in due:
            if (
                disconnection.earliest_from_now(
                    zero_alert_at=row.zero_alert_at,
                    due_at=row.disconnect_due_at,
                    now=now,
                    days=days,
                    rules=ctx.policy,
                )
                > now
            ):
                continue
            commands.lock(conn, row.service_no)
            commands.issue(
                conn,
                service_no=row.service_no,
                meter_serial=row.serial,
                action=commands.DISCONNECT,
                reason="balance below emergency credit",
                now=now,
            )
            issued += 1
    lifecycle.dispatch(ctx, now=now, events=events)
    return issued
