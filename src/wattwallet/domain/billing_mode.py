"""Prepaid or postpaid on the same smart meter (DOMAIN.md §8): who may switch and when, how each
switch settles the money, and how a postpaid payment is applied. Pure rules, no I/O.

A switch takes effect at the start of an IST day, never one already begun: the prepaid side is
billed up to it, and the settlement moves every paisa from one side's accounts to the other's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Sequence

from wattwallet.domain import connection, errors, money


class Status(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    WITHDRAWN = "withdrawn"


class Via(enum.StrEnum):
    CONSUMER = "consumer"
    STAFF = "staff"
    SCENARIO = "scenario"


class ModeUnchanged(errors.RuleViolation):
    code = "mode_unchanged"


class SwitchDateInPast(errors.InvalidInput):
    code = "mode_switch_date_past"


class ConnectionTerminated(errors.RuleViolation):
    code = "mode_switch_connection_terminated"


class SwitchPending(errors.Conflict):
    code = "mode_switch_pending"


class ConsumptionHeld(errors.RuleViolation):
    code = "mode_switch_consumption_held"


class NoPendingSwitch(errors.NotFound):
    code = "mode_switch_not_found"


class PaymentToPrepaid(errors.RuleViolation):
    code = "payment_connection_prepaid"


class PaymentBelowMinimum(errors.RuleViolation):
    code = "payment_below_minimum"


PAYMENT_MINIMUM_PAISE = 100  # ₹1 (DOMAIN.md §8)


def check_switch(
    *,
    current: connection.BillingMode,
    to: connection.BillingMode,
    state: connection.State,
    effective_on: dt.date,
    today: dt.date,
    pending: bool,
    held: bool,
) -> None:
    """Raise the named reason a switch request is refused, if any."""
    if state is connection.State.TERMINATED:
        raise ConnectionTerminated("this connection is terminated: its billing mode cannot change")
    if to is current:
        raise ModeUnchanged(f"this connection is already {current.value}", mode=current.value)
    if effective_on <= today:
        raise SwitchDateInPast(
            f"a switch takes effect from the start of a day: {(today + dt.timedelta(days=1)).isoformat()} "
            f"at the earliest, not {effective_on.isoformat()}",
            earliest=(today + dt.timedelta(days=1)).isoformat(),
        )
    if pending:
        raise SwitchPending("a billing-mode switch is already pending: withdraw it first")
    if held:
        raise ConsumptionHeld(
            "consumption is held for staff review on this connection: it must be settled before a switch"
        )


def default_effective_on(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=1)


@dataclasses.dataclass(frozen=True)
class ToPostpaid:
    """Prepaid -> postpaid. A credit in the wallet becomes an advance; a debit (emergency credit
    used), pending dues and open short bills go onto the first postpaid bill."""

    advance: int  # wallet credit carried to the advance
    carried_debit: int  # wallet debit put on the first bill
    dues: int  # pending dues put on the first bill
    short_bills: int  # open short bills put on the first bill

    @property
    def carried(self) -> int:
        """The wallet balance carried, signed (negative: a debit)."""
        return self.advance - self.carried_debit

    @property
    def to_bill(self) -> int:
        return self.carried_debit + self.dues + self.short_bills


def settle_to_postpaid(*, wallet: int, dues: int, short_bills: Sequence[int]) -> ToPostpaid:
    return ToPostpaid(
        advance=max(wallet, 0), carried_debit=max(-wallet, 0), dues=dues, short_bills=sum(short_bills)
    )


@dataclasses.dataclass(frozen=True)
class ToPrepaid:
    """Postpaid -> prepaid. The outstanding (billed and unpaid, plus the unbilled days) less any
    advance becomes dues; the deposit is set against the dues; what is left over goes to the wallet."""

    receivable: int
    unbilled: int
    advance: int
    deposit: int
    to_dues: int  # the outstanding made dues (before the deposit)
    deposit_adjusted: int  # the deposit set against dues (these and any already pending)
    to_wallet: int  # advance left over and deposit left over

    @property
    def dues_change(self) -> int:
        return self.to_dues - self.deposit_adjusted


def settle_to_prepaid(*, receivable: int, unbilled: int, advance: int, deposit: int, dues: int) -> ToPrepaid:
    outstanding = receivable + unbilled - advance
    to_dues = max(outstanding, 0)
    adjusted = min(deposit, dues + to_dues)
    return ToPrepaid(
        receivable=receivable,
        unbilled=unbilled,
        advance=advance,
        deposit=deposit,
        to_dues=to_dues,
        deposit_adjusted=adjusted,
        to_wallet=max(-outstanding, 0) + deposit - adjusted,
    )


def payment_amount(raw: object) -> int:
    """A postpaid payment: any amount of at least ₹1, to the paisa."""
    paise = money.parse_rupees(raw)
    check_payment(paise)
    return paise


def check_payment(paise: int) -> None:
    if paise < PAYMENT_MINIMUM_PAISE:
        raise PaymentBelowMinimum(
            f"a payment is at least {money.inr(PAYMENT_MINIMUM_PAISE)}",
            minimum=money.rupees(PAYMENT_MINIMUM_PAISE),
        )


def apply_oldest_first(amount: int, unpaid: Sequence[tuple[int, int]]) -> tuple[list[tuple[int, int]], int]:
    """Spread `amount` over (item id, unpaid) oldest first: [(item id, applied)], and what is left."""
    applied: list[tuple[int, int]] = []
    left = amount
    for item_id, owed in unpaid:
        if left <= 0:
            break
        take = min(owed, left)
        if take > 0:
            applied.append((item_id, take))
            left -= take
    return applied, left
