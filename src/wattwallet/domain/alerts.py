"""Low-balance alerts, emergency credit and when a connection falls due for disconnection (§3).

Pure: given the balance, the average daily consumption (ADC) and what was sent before, say what
to send now. Called after every change of balance (deduction, recharge, short-bill deduction).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

from wattwallet.domain import policy

ZERO_BALANCE = "zero_balance"


@dataclasses.dataclass(frozen=True)
class Level:
    kind: str
    threshold: int  # paise: the alert goes when the balance is at or below this
    days: int


@dataclasses.dataclass(frozen=True)
class State:
    sent: int = 0  # bit i set: level i was sent and has not been re-armed
    zero_alert_at: dt.datetime | None = None
    emergency_credit: int = 0  # paise of credit below zero, fixed when the balance reached zero
    disconnect_due_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Outcome:
    state: State
    alerts: tuple[Level, ...] = ()  # newly sent, highest level first
    emergency_credit_granted: int | None = None
    became_due: bool = False
    due_cleared: bool = False


def levels(*, adc: int, rules: policy.Policy) -> list[Level]:
    return list(_levels(adc, rules.alert_days))


@functools.lru_cache(maxsize=8192)  # the nightly cycle asks for the same few ADCs again and again
def _levels(adc: int, alert_days: tuple[int, ...]) -> tuple[Level, ...]:
    advance = [Level(f"low_balance_{days}_days", days * adc, days) for days in alert_days]
    return (*advance, Level(ZERO_BALANCE, 0, 0))


def evaluate(*, balance: int, adc: int, state: State, now: dt.datetime, rules: policy.Policy) -> Outcome:
    """Send every level newly crossed (several at once after a large deduction), re-arm every
    level the balance climbed back above, grant emergency credit at zero, mark due below it.

    A balance back above zero re-arms every level, not only zero: a consumer who comes back from
    emergency credit starts a new warning cycle, so a later disconnection is always preceded by
    all three alerts (and one still below the advance levels is told so at once)."""
    sent, new = state.sent, []
    zero_alert_at, credit, due_at = state.zero_alert_at, state.emergency_credit, state.disconnect_due_at
    granted = None
    all_levels = _levels(adc, rules.alert_days)
    zero_bit = 1 << (len(all_levels) - 1)
    if sent & zero_bit and balance > 0:
        sent, zero_alert_at, credit = 0, None, 0
    for index, level in enumerate(all_levels):
        bit = 1 << index
        if sent & bit and balance > level.threshold:
            sent &= ~bit
            if level.kind == ZERO_BALANCE:
                zero_alert_at, credit = None, 0
        elif not sent & bit and balance <= level.threshold:
            sent |= bit
            new.append(level)
            if level.kind == ZERO_BALANCE:
                zero_alert_at = now
                credit = granted = rules.emergency_credit_days * adc
    became_due = due_cleared = False
    if zero_alert_at is not None and balance < -credit:
        if due_at is None:
            due_at, became_due = now, True
    elif due_at is not None:
        due_at, due_cleared = None, True
    return Outcome(State(sent, zero_alert_at, credit, due_at), tuple(new), granted, became_due, due_cleared)


def history_days_kept(rules: policy.Policy) -> int:
    """How many of the latest billed days' totals a connection keeps for its ADC: the window, and
    at least the minimum history, which is counted over all days billed, not only the window's."""
    return max(rules.adc_window_days, rules.adc_min_history_days)


def average_daily(*, recent: list[int], default: int, rules: policy.Policy) -> int:
    """ADC in paise: the mean of the last `adc_window_days` billed days, or the category default
    while fewer than `adc_min_history_days` days have been billed. `recent` is the latest billed
    days' totals, oldest first (`history_days_kept` of them once there are that many)."""
    if len(recent) < rules.adc_min_history_days:
        return default
    window = recent[-rules.adc_window_days :]
    return -(-sum(window) // len(window)) if sum(window) > 0 else 0


def default_adc(*, category: str, load_w: int, rules: policy.Policy) -> int:
    per_kw = rules.adc_default_per_kw_paise.get(category, 0)
    return per_kw * load_w // 1000
