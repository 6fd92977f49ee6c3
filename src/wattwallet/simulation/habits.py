"""How consumers recharge: some early, some only when told the balance is gone, some only once the
supply is cut, some never. Each habit exercises a different part of the rules (§3, §5): early
payers never see an alert past the first, late payers get the zero-balance alert and emergency
credit, the disconnected are cut in the window and reconnected when they pay, and those who never
pay stay cut.

Pure: a decision takes what the consumer can see (balance, ADC, state, alerts) and a generator.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import random

from wattwallet.domain import clock, money


class Habit(enum.StrEnum):
    EARLY = "early"  # tops up when about five days of credit are left
    AFTER_ZERO_ALERT = "after_zero_alert"  # waits for the zero-balance alert
    AFTER_DISCONNECTION = "after_disconnection"  # pays only once the supply is cut
    NEVER = "never"


# Shares of a demo population, in this order (the rest of a rounding goes to the first).
MIX: dict[Habit, float] = {
    Habit.EARLY: 0.5,
    Habit.AFTER_ZERO_ALERT: 0.25,
    Habit.AFTER_DISCONNECTION: 0.15,
    Habit.NEVER: 0.1,
}
EARLY_DAYS_LEFT = 5
ONLINE = ("app", "portal")
CASH = ("retail", "kiosk", "counter")
_CHANNELS: dict[Habit, tuple[tuple[str, ...], tuple[float, ...]]] = {
    Habit.EARLY: (("app", "portal", "retail", "kiosk", "counter"), (45, 25, 15, 10, 5)),
    Habit.AFTER_ZERO_ALERT: (("app", "portal", "retail", "kiosk", "counter"), (35, 15, 30, 10, 10)),
    Habit.AFTER_DISCONNECTION: (("app", "portal", "retail", "kiosk", "counter"), (15, 5, 40, 15, 25)),
}
# When in the day each habit gets round to paying (IST hours, from, to).
_HOURS: dict[Habit, tuple[int, int]] = {
    Habit.EARLY: (8, 21),
    Habit.AFTER_ZERO_ALERT: (12, 21),
    Habit.AFTER_DISCONNECTION: (14, 20),
}


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """A consumer's situation as they can see it (balance on the app, alerts on the phone)."""

    service_no: str
    balance: int  # paise
    adc: int  # average daily consumption, paise
    disconnected: bool
    zero_alert: bool  # the zero-balance alert has come and not been re-armed


@dataclasses.dataclass(frozen=True)
class Plan:
    service_no: str
    at: dt.datetime
    amount_paise: int
    channel: str


def quotas(count: int) -> list[Habit]:
    """`count` habits in the MIX proportions, at least one of each once there are enough people."""
    numbers = {habit: round(share * count) for habit, share in MIX.items()}
    if count >= len(MIX):
        for habit in MIX:
            numbers[habit] = max(1, numbers[habit])
    numbers[Habit.EARLY] += count - sum(numbers.values())
    return [habit for habit, number in numbers.items() for _ in range(number)]


def decide(
    habit: Habit, seen: Snapshot, *, day: dt.date, rng: random.Random, step_paise: int = 10_000
) -> Plan | None:
    """Whether, when, how much and how the consumer recharges on `day` (None: not today)."""
    adc = max(seen.adc, step_paise // 10)
    if habit is Habit.EARLY:
        if not seen.disconnected and seen.balance > EARLY_DAYS_LEFT * adc:
            return None
        days = rng.choice((15, 20, 30))
    elif habit is Habit.AFTER_ZERO_ALERT:
        if not (seen.zero_alert or seen.disconnected):
            return None
        days = rng.choice((10, 15))
    elif habit is Habit.AFTER_DISCONNECTION:
        if not seen.disconnected:
            return None
        days = rng.choice((7, 10))
    else:
        return None
    amount = money.round_up_to(max(0, -seen.balance) + days * adc, step_paise)
    first, last = _HOURS[habit]
    minute = rng.randrange(first * 60, last * 60)
    at = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=clock.IST)
    names, weights = _CHANNELS[habit]
    channel = rng.choices(names, weights=weights)[0]
    return Plan(seen.service_no, at, amount, channel)
