"""Recharging habits: who pays, when, how much, by which channel."""

from __future__ import annotations

import collections
import datetime as dt
import random

from wattwallet.domain import clock
from wattwallet.simulation import habits

DAY = dt.date(2025, 5, 7)
ADC = 2_500  # ₹25 a day


def seen(balance: int, *, disconnected: bool = False, zero_alert: bool = False) -> habits.Snapshot:
    return habits.Snapshot("3216540000001", balance, ADC, disconnected, zero_alert)


def test_a_population_follows_the_mix_with_every_habit_present() -> None:
    assert collections.Counter(habits.quotas(20)) == {
        habits.Habit.EARLY: 10,
        habits.Habit.AFTER_ZERO_ALERT: 5,
        habits.Habit.AFTER_DISCONNECTION: 3,
        habits.Habit.NEVER: 2,
    }
    assert set(habits.quotas(4)) == set(habits.Habit)
    assert len(habits.quotas(1)) == 1 and len(habits.quotas(201)) == 201


def test_early_payers_top_up_at_about_five_days_left() -> None:
    rng = random.Random(1)
    assert habits.decide(habits.Habit.EARLY, seen(6 * ADC), day=DAY, rng=rng) is None
    plan = habits.decide(habits.Habit.EARLY, seen(4 * ADC), day=DAY, rng=rng)
    assert plan is not None
    assert plan.amount_paise % 10_000 == 0 and plan.amount_paise >= 15 * ADC
    assert plan.at.tzinfo is clock.IST and plan.at.date() == DAY and 8 <= plan.at.hour < 21


def test_late_payers_wait_for_the_zero_alert_and_the_disconnected_pay_what_reconnects_them() -> None:
    rng = random.Random(2)
    assert habits.decide(habits.Habit.AFTER_ZERO_ALERT, seen(ADC), day=DAY, rng=rng) is None
    assert habits.decide(habits.Habit.AFTER_ZERO_ALERT, seen(-ADC, zero_alert=True), day=DAY, rng=rng)
    assert (
        habits.decide(habits.Habit.AFTER_DISCONNECTION, seen(-ADC, zero_alert=True), day=DAY, rng=rng) is None
    )
    plan = habits.decide(habits.Habit.AFTER_DISCONNECTION, seen(-5_050, disconnected=True), day=DAY, rng=rng)
    assert plan is not None and plan.amount_paise - 5_050 >= 7 * ADC and plan.amount_paise % 10_000 == 0
    assert plan.at.hour >= 14  # after the disconnection window
    for balance in (-100_000, 0, 100_000):
        assert habits.decide(habits.Habit.NEVER, seen(balance, disconnected=True), day=DAY, rng=rng) is None


def test_the_same_generator_gives_the_same_plan() -> None:
    first = habits.decide(habits.Habit.EARLY, seen(ADC), day=DAY, rng=random.Random("x"))
    again = habits.decide(habits.Habit.EARLY, seen(ADC), day=DAY, rng=random.Random("x"))
    assert first == again
