"""The short-bill day rules (DOMAIN.md §4) as pure functions: notice day 0, reminders 12-14, deduction 15."""

import datetime as dt

import pytest

from wattwallet.domain import policy, short_bill

RULES = policy.Policy()
RAISED = dt.date(2025, 6, 1)


def on(day: int) -> short_bill.Step:
    return short_bill.step_on(raised_on=RAISED, today=RAISED + dt.timedelta(days=day), rules=RULES)


def test_due_on_day_15() -> None:
    assert short_bill.due_on(raised_on=RAISED, rules=RULES) == dt.date(2025, 6, 16)


@pytest.mark.parametrize("day", [0, 1, 11])
def test_nothing_before_the_reminders(day: int) -> None:
    assert on(day).action is short_bill.Action.WAIT


@pytest.mark.parametrize(("day", "nth"), [(12, 1), (13, 2), (14, 3)])
def test_reminders_on_days_12_to_14(day: int, nth: int) -> None:
    assert on(day) == short_bill.Step(short_bill.Action.REMIND, day, reminder=nth)


@pytest.mark.parametrize("day", [15, 16, 40])
def test_deducted_on_day_15_or_the_first_run_after(day: int) -> None:
    assert on(day) == short_bill.Step(short_bill.Action.DEDUCT, day)


def test_the_policy_moves_the_days() -> None:
    rules = policy.Policy(short_bill_days=10, short_bill_reminder_days=(8, 9))
    step = short_bill.step_on(raised_on=RAISED, today=RAISED + dt.timedelta(days=9), rules=rules)
    assert step == short_bill.Step(short_bill.Action.REMIND, 9, reminder=2)
    assert short_bill.due_on(raised_on=RAISED, rules=rules) == dt.date(2025, 6, 11)
