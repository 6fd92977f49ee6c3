import datetime as dt

from wattwallet.domain import alerts, policy

RULES = policy.Policy()
T0 = dt.datetime(2025, 6, 2, 6, 0, tzinfo=dt.UTC)
ADC = 5_000  # ₹50 a day


def step(balance: int, state: alerts.State, at: dt.datetime = T0) -> alerts.Outcome:
    return alerts.evaluate(balance=balance, adc=ADC, state=state, now=at, rules=RULES)


def kinds(outcome: alerts.Outcome) -> list[str]:
    return [level.kind for level in outcome.alerts]


def test_alerts_go_once_each_as_the_balance_falls() -> None:
    s = alerts.State()
    out = step(20_000, s)
    assert kinds(out) == [] and out.state == s
    out = step(15_000, out.state)  # exactly 3 x ADC
    assert kinds(out) == ["low_balance_3_days"]
    out = step(14_000, out.state)
    assert kinds(out) == []  # not again
    out = step(10_000, out.state)
    assert kinds(out) == ["low_balance_2_days"]
    out = step(0, out.state)
    assert kinds(out) == ["zero_balance"]
    assert out.emergency_credit_granted == ADC and out.state.zero_alert_at == T0
    assert not out.became_due


def test_one_large_deduction_sends_every_unsent_alert_together() -> None:
    out = step(-2_000, alerts.State())
    assert kinds(out) == ["low_balance_3_days", "low_balance_2_days", "zero_balance"]
    assert out.emergency_credit_granted == ADC and not out.became_due


def test_due_only_below_the_emergency_credit() -> None:
    out = step(0, alerts.State())
    later = T0 + dt.timedelta(days=1)
    assert not step(-ADC, out.state, later).became_due  # at -1 x ADC: still on emergency credit
    due = step(-ADC - 1, out.state, later)
    assert due.became_due and due.state.disconnect_due_at == later
    assert not step(-ADC - 500, due.state).became_due  # once


def test_emergency_credit_is_fixed_when_the_balance_reached_zero() -> None:
    out = step(0, alerts.State())
    bigger_adc = alerts.evaluate(balance=-ADC - 1, adc=ADC * 10, state=out.state, now=T0, rules=RULES)
    assert bigger_adc.became_due  # the credit stays at the ADC of the day it was granted


def test_advance_alerts_re_arm_only_above_their_level() -> None:
    out = step(30_000, alerts.State())
    out = step(15_000, out.state)
    assert kinds(out) == ["low_balance_3_days"]
    assert kinds(step(14_000, out.state)) == []
    assert kinds(step(15_001, out.state)) == []  # above the level: re-armed, nothing to send
    rearmed = step(15_001, out.state).state
    assert kinds(step(15_000, rearmed)) == ["low_balance_3_days"]
    assert kinds(step(14_000, step(14_999, out.state).state)) == []  # never above it: not re-armed


def test_back_above_zero_starts_a_new_warning_cycle() -> None:
    """A consumer who recharges out of emergency credit but stays below the advance levels is
    told at once, so a later disconnection is always preceded by all three alerts."""
    out = step(-100, alerts.State())
    out = step(9_000, out.state)  # recharge: above zero, below 2 x ADC
    assert kinds(out) == ["low_balance_3_days", "low_balance_2_days"]
    assert out.state.zero_alert_at is None and out.state.emergency_credit == 0
    assert kinds(step(0, out.state)) == ["zero_balance"]
    assert kinds(step(9_999, out.state)) == []


def test_a_recharge_clears_a_due_disconnection() -> None:
    due = step(-ADC - 1, alerts.State())
    assert due.became_due
    paid = step(-10, due.state)  # still negative but within the emergency credit
    assert paid.due_cleared and paid.state.disconnect_due_at is None


def test_adc_mean_and_default() -> None:
    assert alerts.average_daily(recent=[100] * 6, default=777, rules=RULES) == 777
    assert alerts.average_daily(recent=[100] * 7, default=777, rules=RULES) == 100
    assert alerts.average_daily(recent=[0] * 40 + [300] * 30, default=1, rules=RULES) == 300
    assert alerts.average_daily(recent=[1, 2, 2, 2, 2, 2, 2], default=1, rules=RULES) == 2  # rounds up
    assert alerts.default_adc(category="LT-I", load_w=2_000, rules=RULES) == 2_000


def test_a_window_shorter_than_the_minimum_history_still_takes_its_mean() -> None:
    # The defect: with adc_window_days below 7 the window never held 7 days, so the ADC stayed the
    # category default for ever. The minimum history counts all days billed.
    short = RULES.model_copy(update={"adc_window_days": 5})
    twelve_days = [100] * 7 + [1_000, 1_200, 1_400, 1_600, 1_800]
    assert alerts.history_days_kept(short) == 7
    assert alerts.average_daily(recent=twelve_days[-7:], default=777, rules=short) == 1_400
    assert alerts.average_daily(recent=[1_000] * 6, default=777, rules=short) == 777  # 6 days billed
    assert alerts.history_days_kept(RULES) == RULES.adc_window_days
