"""Every policy number the regulation leaves to the DISCOM, with the defaults of DOMAIN.md.

One object, loaded from configuration (environment, scenario `settings:`), passed to the rules.
Nothing in the rules hard-codes these numbers.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Recharge (DOMAIN.md §2)
    first_recharge_floor_paise: int = Field(50_000, ge=0, description="First recharge at least this (₹500)")
    recharge_multiple_paise: int = Field(
        10_000, gt=0, description="Later recharges in multiples of this (₹100)"
    )
    recharge_minimum_paise: int = Field(10_000, gt=0, description="Later recharges at least this (₹100)")
    dues_max_share_percent: int = Field(
        100, ge=0, le=100, description="At most this share of each recharge goes to pending dues"
    )
    recharge_reflection_minutes: int = Field(15, gt=0, description="A recharge must reflect within this")
    recharge_backdate_max_hours: int = Field(
        72, gt=0, description="A paid_at given by an agent or a counter may be at most this far back"
    )

    # Daily deduction and average daily consumption (§2, §3)
    daily_cycle_time: dt.time = Field(dt.time(6, 0), description="When the daily cycle runs, IST")
    adc_window_days: int = Field(30, gt=0, description="ADC is the mean of this many last billed days")
    adc_min_history_days: int = Field(7, gt=0, description="With fewer billed days, use the category default")
    adc_default_per_kw_paise: dict[str, int] = Field(
        default_factory=lambda: {"LT-I": 1_000, "LT-II": 4_000},
        description="Default ADC per kW of sanctioned load, by tariff category",
    )
    plausible_daily_load_factor: float = Field(
        1.5, gt=0, description="A day above factor x sanctioned load x 24 h is held for review"
    )

    # Alerts, emergency credit, disconnection (§3)
    alert_days: tuple[int, ...] = Field((3, 2), description="Advance alerts at these multiples of ADC")
    emergency_credit_days: int = Field(1, ge=0, description="Emergency credit = this many days of ADC")
    disconnection_window_start: dt.time = Field(dt.time(10, 0), description="Disconnections from, IST")
    disconnection_window_end: dt.time = Field(dt.time(13, 0), description="Disconnections until, IST")
    disconnection_grace_hours: int = Field(24, ge=0, description="No disconnection sooner after zero alert")
    disconnection_tick_minutes: int = Field(15, gt=0, description="How often the window job looks, minutes")
    disconnection_cutoff_minutes: int = Field(
        30,
        ge=0,
        description="No disconnect is sent this close to the window's end (a slow HES must not cut late)",
    )
    hes_retry_minutes: tuple[int, ...] = Field((1, 5, 15, 60), description="Backoff between HES retries")
    notice_time: dt.time = Field(dt.time(9, 0), description="Short-bill reminders and deductions go at, IST")

    # Short bills (§4)
    short_bill_days: int = Field(15, gt=0, description="Days to pay a short bill before it is deducted")
    short_bill_reminder_days: tuple[int, ...] = Field(
        (12, 13, 14), description="Reminder days (day 0 = raised)"
    )

    # Reconnection and termination (§5)
    reconnection_minutes: int = Field(15, gt=0, description="Relay closed within this of the payment")
    complaint_resolution_hours: int = Field(4, gt=0, description="Reconnection complaints resolved within")
    termination_months: int = Field(3, gt=0, description="Disconnected this long with no recharge: terminate")

    # Monthly e-bills (§6)
    bill_run_time: dt.time = Field(
        dt.time(7, 0),
        description="The month's e-bills are made on the 1st at this time, IST (after the cycle)",
    )
    postpaid_due_days: int = Field(
        15, gt=0, description="A postpaid bill is due this many days after it is issued (DOMAIN.md §8)"
    )
    bill_link_days: int = Field(60, gt=0, description="A bill's SMS link opens its PDF for this many days")

    # Registered mobile and sign-in OTPs (§7)
    otp_valid_minutes: int = Field(5, gt=0, description="An OTP is good for this long")
    otp_max_tries: int = Field(5, gt=0, description="Wrong codes allowed per OTP before it is void")
    # Abuse limits (issue 17). "A day" is the last 24 hours; a caller is the client address.
    otp_backoff_seconds: tuple[int, ...] = Field(
        (30, 120, 600, 1800),
        min_length=1,
        description="Wait after the 1st, 2nd, ... OTP of a day to one number from one caller (last repeats)",
    )
    otp_max_sends_per_number_and_caller: int = Field(
        5, gt=0, description="OTPs a day to one number asked for by one caller"
    )
    otp_max_sends_per_number: int = Field(
        10, gt=0, description="OTPs a day to one number, whoever asks (the DISCOM's SMS cost per number)"
    )
    otp_max_requests_per_caller: int = Field(
        20, gt=0, description="OTP requests a day from one caller, any customer ID (its SMS cost); then 429"
    )
    otp_max_wrong_per_connection: int = Field(
        10, gt=0, description="Wrong OTPs a day for one connection, across OTPs; then staff are alerted"
    )
    otp_max_wrong_per_caller: int = Field(20, gt=0, description="Wrong OTPs a day from one caller; then 429")
