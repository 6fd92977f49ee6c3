"""When scheduled work runs. Production's worker and scenario replay walk the same times.

Clock-driven jobs run at fixed times (the daily cycle, the day's short-bill notices and
terminations, the disconnection window's ticks on working days); data-driven ones run when the
data says (a command's next attempt, an expected HES confirmation, a reconnection's 15 minutes).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from wattwallet.billing import mode_switch
from wattwallet.billing import service as bills
from wattwallet.context import Context
from wattwallet.domain import clock, disconnection, working_days
from wattwallet.domain import events as domain_events
from wattwallet.hes import commands
from wattwallet.lifecycle import daily_cycle, disconnections, short_bills, termination
from wattwallet.lifecycle import relay as lifecycle
from wattwallet.store import calendar_repo

Events = domain_events.Log

DAILY_CYCLE, NOTICES, TERMINATIONS = "daily_cycle", "short_bill_notices", "terminations"
BILLS = "monthly_bills"  # on the 1st, after that day's cycle: the month just ended
MODE_SWITCHES = "mode_switches"  # after the cycle has billed the day before the switch
WINDOW, DISPATCH, CONFIRMATIONS, ESCALATION = (
    "disconnection_window",
    "hes_dispatch",
    "hes_confirmations",
    "escalation",
)
# Jobs due at the same instant run in this order: confirmations first (state is then current).
ORDER = (
    CONFIRMATIONS,
    ESCALATION,
    DISPATCH,
    DAILY_CYCLE,
    MODE_SWITCHES,
    TERMINATIONS,
    BILLS,
    NOTICES,
    WINDOW,
)


@dataclasses.dataclass(frozen=True)
class Due:
    at: dt.datetime
    jobs: tuple[str, ...]


def next_due(ctx: Context, *, after: dt.datetime) -> Due | None:
    """The next instant at which any job is due, strictly after `after` for clock-driven jobs and
    at or after it for data-driven ones (work that is already waiting runs at once)."""
    times: dict[str, dt.datetime] = {}
    rules = ctx.policy
    for job, at_time in (
        (DAILY_CYCLE, rules.daily_cycle_time),
        (TERMINATIONS, rules.daily_cycle_time),
        (MODE_SWITCHES, rules.daily_cycle_time),
        (NOTICES, rules.notice_time),
    ):
        times[job] = _next_daily(after, at_time)
    times[BILLS] = next_monthly(after, rules.bill_run_time)
    with ctx.store.read() as conn:
        days = calendar_repo.around(conn, at=after)
        attempt = commands.next_attempt_at(conn)
        escalation = lifecycle.next_escalation_at(conn, rules.reconnection_minutes)
    times[WINDOW] = _next_tick(after, days, ctx)
    confirmation = ctx.head_end.next_confirmation_at()
    for job, at in ((DISPATCH, attempt), (CONFIRMATIONS, confirmation), (ESCALATION, escalation)):
        if at is not None:
            times[job] = max(at, after)
    if not times:
        return None
    first = min(times.values())
    return Due(first, tuple(job for job in ORDER if times.get(job) == first))


def run(ctx: Context, job: str, *, now: dt.datetime, events: Events) -> None:
    runners: dict[str, Callable[[], object]] = {
        DAILY_CYCLE: lambda: daily_cycle.run(ctx, now=now, emit=events.append, workers=ctx.cycle_workers),
        TERMINATIONS: lambda: termination.run(ctx, now=now, events=events),
        BILLS: lambda: bills.run_scheduled(ctx, now=now, events=events),
        MODE_SWITCHES: lambda: mode_switch.run_due(ctx, now=now, events=events),
        NOTICES: lambda: short_bills.run_notices(ctx, now=now, events=events),
        WINDOW: lambda: disconnections.run(ctx, now=now, events=events),
        DISPATCH: lambda: lifecycle.dispatch(ctx, now=now, events=events),
        CONFIRMATIONS: lambda: _confirm_and_reconnect(ctx, now=now, events=events),
        ESCALATION: lambda: lifecycle.escalate(ctx, now=now, events=events),
    }
    runners[job]()


def run_until(ctx: Context, *, after: dt.datetime, until: dt.datetime, events: Events | None = None) -> None:
    """Run every job due in (after, until] in time order (scenario replay; a worker's catch-up)."""
    events = [] if events is None else events  # a caller that needs no replay lines passes none
    clock_at, repeats, bills_waiting = after, 0, False
    while (due := next_due(ctx, after=clock_at)) is not None and due.at <= until:
        repeats = repeats + 1 if due.at == clock_at else 0
        if repeats > 20:  # data-driven work that does not move on: leave it for the next instant
            clock_at += dt.timedelta(seconds=1)
            continue
        for job in due.jobs:
            if job == BILLS:
                bills_waiting = not _bills_made(ctx, now=due.at, events=events)
                continue
            run(ctx, job, now=due.at, events=events)
            if job == DAILY_CYCLE and bills_waiting:
                bills_waiting = not _bills_made(ctx, now=due.at, events=events)
        clock_at = due.at


def _bills_made(ctx: Context, *, now: dt.datetime, events: Events) -> bool:
    """The month's bill run, where a walk of the schedule makes it. Some connections still waiting
    for the daily cycle (a reading in after 06:00) do not stop the walk: the bills that could be made
    are, and the run is made again after each later cycle until none waits (a worker's runner does
    the same by retrying the failed occurrence)."""
    try:
        run(ctx, BILLS, now=now, events=events)
    except bills.CycleNotFinished:
        return False
    return True


def _confirm_and_reconnect(ctx: Context, *, now: dt.datetime, events: Events) -> None:
    for command_id in lifecycle.apply_confirmations(ctx, until=now, events=events):
        lifecycle.dispatch(ctx, now=now, events=events, only=command_id)


def _next_daily(after: dt.datetime, at_time: dt.time) -> dt.datetime:
    day = clock.ist_date(after)
    candidate = dt.datetime.combine(day, at_time, tzinfo=clock.IST)
    return (
        candidate
        if candidate > after
        else dt.datetime.combine(day + dt.timedelta(days=1), at_time, tzinfo=clock.IST)
    )


def next_monthly(after: dt.datetime, at_time: dt.time) -> dt.datetime:
    """The next 1st of a month at `at_time` IST strictly after `after`."""
    first = clock.ist_date(after).replace(day=1)
    candidate = dt.datetime.combine(first, at_time, tzinfo=clock.IST)
    if candidate > after:
        return candidate
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return dt.datetime.combine(following, at_time, tzinfo=clock.IST)


def _next_tick(after: dt.datetime, days: working_days.WorkingDays, ctx: Context) -> dt.datetime:
    step = dt.timedelta(minutes=ctx.policy.disconnection_tick_minutes)
    day = clock.ist_date(after)
    for offset in range(60):
        current = day + dt.timedelta(days=offset)
        if not days.covers(current):
            break
        if not days.is_working(current):
            continue
        start, end = disconnection.window_on(current, ctx.policy)
        tick = start
        while tick < end:
            if tick > after:
                return tick
            tick += step
    return after + dt.timedelta(days=1)  # beyond the loaded calendar: look again tomorrow


def run_all_now(ctx: Context, *, now: dt.datetime, events: Events) -> None:
    """One worker tick at `now`: every job once, in order (each is idempotent, so a tick that
    repeats work already done changes nothing), then any confirmations that came back meanwhile."""
    for job in ORDER:
        if job == BILLS:
            _bills_made(ctx, now=now, events=events)  # what waits for the cycle is made next tick
        else:
            run(ctx, job, now=now, events=events)
    _confirm_and_reconnect(ctx, now=now, events=events)
