"""Short-bill days (DOMAIN.md §4): the notice goes on day 0, the IST day the bill is raised;
reminders on days 12, 13 and 14; the amount is deducted from the wallet on day 15, its due date
(`short_bill_days`, `short_bill_reminder_days` in the policy)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from wattwallet.domain import policy


class Status(enum.StrEnum):
    """short_bills.status, checked by the database."""

    OPEN = "open"  # raised, not yet paid
    DEDUCTED = "deducted"  # taken from the wallet on its due day
    SETTLED = "settled"  # turned into dues when the connection was terminated


class Action(enum.StrEnum):
    WAIT = "wait"
    REMIND = "remind"
    DEDUCT = "deduct"


@dataclasses.dataclass(frozen=True)
class Step:
    """What is due for a bill on one day: `reminder` is 1 for the first reminder, 2 for the second."""

    action: Action
    day: int
    reminder: int = 0


def due_on(*, raised_on: dt.date, rules: policy.Policy) -> dt.date:
    """The day the bill is deducted if it is not paid first."""
    return raised_on + dt.timedelta(days=rules.short_bill_days)


def step_on(*, raised_on: dt.date, today: dt.date, rules: policy.Policy) -> Step:
    """Remind on the reminder days, deduct on the due day (or on the first run after it, if the
    job did not run that day), otherwise wait."""
    day = (today - raised_on).days
    if day >= rules.short_bill_days:
        return Step(Action.DEDUCT, day)
    if day in rules.short_bill_reminder_days:
        return Step(Action.REMIND, day, reminder=rules.short_bill_reminder_days.index(day) + 1)
    return Step(Action.WAIT, day)
