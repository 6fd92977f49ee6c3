"""When a disconnection may happen (DOMAIN.md §3): only between `disconnection_window_start` and
`disconnection_window_end` IST (start inclusive, end exclusive) on working days
(`domain.working_days`), never within `disconnection_cutoff_minutes` of the window's end, and never
sooner than `disconnection_grace_hours` after the zero-balance alert.
"""

from __future__ import annotations

import datetime as dt

from wattwallet.domain import clock, policy
from wattwallet.domain.working_days import Calendar, is_working_day, next_working_day


def _window(rules: policy.Policy) -> tuple[dt.time, dt.time]:
    start, end = rules.disconnection_window_start, rules.disconnection_window_end
    if not start < end:
        raise ValueError(f"the disconnection window must start before it ends: {start}..{end}")
    return start, end


def window_on(day: dt.date, rules: policy.Policy) -> tuple[dt.datetime, dt.datetime]:
    """The [start, end) disconnection window of `day`, as IST instants (whether or not it is a
    working day)."""
    start, end = _window(rules)
    return (
        dt.datetime.combine(day, start, tzinfo=clock.IST),
        dt.datetime.combine(day, end, tzinfo=clock.IST),
    )


def in_disconnection_window(instant: dt.datetime, calendar: Calendar, rules: policy.Policy) -> bool:
    """Whether a disconnection may happen at `instant`: a working day (IST), start ≤ time < end."""
    local = clock.require_aware(instant, "instant").astimezone(clock.IST)
    start, end = _window(rules)
    return start <= local.time() < end and is_working_day(local.date(), calendar)


def next_window_start(instant: dt.datetime, calendar: Calendar, rules: policy.Policy) -> dt.datetime:
    """`instant` itself if it is inside a disconnection window, else the start (IST) of the next
    window: today's if it is a working day before the window opens, otherwise that of the next
    working day."""
    local = clock.require_aware(instant, "instant").astimezone(clock.IST)
    start, end = _window(rules)
    today = local.date()
    if is_working_day(today, calendar):
        if start <= local.time() < end:
            return instant
        if local.time() < start:
            return window_on(today, rules)[0]
    day = next_working_day(today + dt.timedelta(days=1), calendar)
    return window_on(day, rules)[0]


def next_send_time(instant: dt.datetime, calendar: Calendar, rules: policy.Policy) -> dt.datetime:
    """`instant` itself if a disconnect may be sent then, else the next instant one may: inside a
    window and not within the cut-off before its end (so a slow head end cannot cut past 13:00)."""
    candidate = next_window_start(instant, calendar, rules)
    window_end = window_on(candidate.astimezone(clock.IST).date(), rules)[1]
    if candidate < window_end - dt.timedelta(minutes=rules.disconnection_cutoff_minutes):
        return candidate
    return next_window_start(window_end, calendar, rules)


def earliest_disconnection(
    zero_alert_at: dt.datetime, due_at: dt.datetime, calendar: Calendar, rules: policy.Policy
) -> dt.datetime:
    """The first instant a disconnect may be sent (see next_send_time) that is no sooner than
    `due_at` and no sooner than the grace period after the zero-balance alert."""
    clock.require_aware(zero_alert_at, "zero_alert_at")
    clock.require_aware(due_at, "due_at")
    not_before = max(due_at, zero_alert_at + dt.timedelta(hours=rules.disconnection_grace_hours))
    return next_send_time(not_before, calendar, rules)


def earliest_from_now(
    *,
    zero_alert_at: dt.datetime,
    due_at: dt.datetime,
    now: dt.datetime,
    days: Calendar,
    rules: policy.Policy,
) -> dt.datetime:
    """`earliest_disconnection`, but at or after `now`: the calendar is loaded around now, so dates
    long past are brought up to now first (the grace after the zero alert is still kept)."""
    grace = dt.timedelta(hours=rules.disconnection_grace_hours)
    return earliest_disconnection(max(zero_alert_at, now - grace), max(due_at, now), days, rules)
