"""The signed-in consumer's billing mode (DOMAIN.md §8): the mode, a pending switch and the history;
asking for a switch from a chosen day and withdrawing it; a postpaid connection's account.

Each route only translates: the rules are in `wattwallet.billing.mode_switch` and
`wattwallet.billing.postpaid_payments`. Ownership is `consumer.Owned` (404 for anyone else's
connection, before the body is looked at).
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from wattwallet.api import consumer, deps, fields
from wattwallet.billing import mode_switch, postpaid_payments
from wattwallet.consumers import account as account_views
from wattwallet.domain import billing_mode, connection

router = APIRouter(prefix="/me", tags=["consumer"])
MODE = f"{consumer.CONNECTION}/billing-mode"


class Switch(BaseModel):
    id: int
    before: connection.BillingMode = Field(serialization_alias="from")
    to: connection.BillingMode
    effective_on: dt.date = Field(description="Takes effect from the start of this IST day")
    status: billing_mode.Status
    via: str = Field(examples=["consumer", "staff"])
    requested_at: fields.Instant
    carried_paise: int | None = Field(
        description="Once done: to postpaid, the wallet balance carried (signed); to prepaid, what went "
        "to the wallet"
    )
    to_dues_paise: int | None = Field(description="Once done, to prepaid: what was owed, made dues")
    deposit_adjusted_paise: int | None = Field(description="Once done, to prepaid: deposit set against dues")
    to_bill_paise: int | None = Field(description="Once done, to postpaid: put on the first bill")

    @classmethod
    def of(cls, s: mode_switch.Switch) -> Switch:
        return cls(
            id=s.id,
            before=s.before,
            to=s.after,
            effective_on=s.effective_on,
            status=s.status,
            via=s.via,
            requested_at=s.requested_at,
            carried_paise=s.carried,
            to_dues_paise=s.to_dues,
            deposit_adjusted_paise=s.deposit_adjusted,
            to_bill_paise=s.to_receivable,
        )


class BillingMode(BaseModel):
    service_no: str
    mode: connection.BillingMode
    pending: Switch | None = Field(description="A switch still to come (it can be withdrawn)")
    history: list[Switch] = Field(description="Every switch asked for, newest first")


class SwitchRequest(BaseModel):
    to: connection.BillingMode
    effective_on: dt.date | None = Field(None, description="An IST day after today (default: tomorrow)")


class UnpaidItem(BaseModel):
    label: str = Field(examples=["PB2506-1234567890001", "dues carried from prepaid"])
    kind: str = Field(examples=["bill", "carried", "dues", "short_bill"])
    due_on: dt.date | None
    amount_paise: int
    paid_paise: int
    owed_paise: int

    @classmethod
    def of(cls, i: postpaid_payments.Unpaid) -> UnpaidItem:
        return cls(
            label=i.label,
            kind=i.kind,
            due_on=i.due_on,
            amount_paise=i.amount,
            paid_paise=i.paid,
            owed_paise=i.owed,
        )


class PostpaidAccount(BaseModel):
    service_no: str
    mode: connection.BillingMode
    outstanding_paise: int = Field(description="Billed and not paid")
    oldest_due_on: dt.date | None = Field(description="The due date of the oldest bill not paid in full")
    advance_paise: int = Field(description="Paid ahead or carried from the wallet, for the next bills")
    deposit_paise: int = Field(description="The security deposit held")
    unbilled_paise: int = Field(description="Days rated since the last bill, on the next one")
    unpaid: list[UnpaidItem] = Field(description="What is owed item by item, oldest first")


def _mode(rt: deps.Runtime, number: str) -> BillingMode:
    mode = account_views.summary(rt.ctx, service_no=number).billing_mode
    waiting = mode_switch.pending(rt.ctx, service_no=number)
    return BillingMode(
        service_no=number,
        mode=connection.BillingMode(mode),
        pending=None if waiting is None else Switch.of(waiting),
        history=[Switch.of(s) for s in mode_switch.history(rt.ctx, service_no=number)],
    )


@router.get(MODE, summary="Prepaid or postpaid: the mode, a pending switch and the history")
def get_mode(number: consumer.Owned, rt: deps.RuntimeDep) -> BillingMode:
    return _mode(rt, number)


@router.post(MODE, status_code=status.HTTP_201_CREATED, summary="Ask to switch from a chosen day")
def request_switch(number: consumer.Owned, body: SwitchRequest, rt: deps.RuntimeDep) -> Switch:
    """From the start of `effective_on` (default tomorrow, IST). Prepaid to postpaid: the wallet
    balance goes to the first postpaid bill (a credit as an advance, a debit as an amount owed).
    Postpaid to prepaid: what is owed becomes dues recovered from recharges, the security deposit is
    set against them, and the first-recharge rule applies again. Refused with a code, nothing
    written: `mode_unchanged`, `mode_switch_date_past`, `mode_switch_connection_terminated`,
    `mode_switch_pending`, `mode_switch_consumption_held`."""
    made = mode_switch.request(
        rt.ctx, service_no=number, to=body.to.value, effective_on=body.effective_on, now=rt.now()
    )
    return Switch.of(made)


@router.delete(f"{MODE}/pending", summary="Withdraw the pending switch before its day")
def withdraw_switch(number: consumer.Owned, rt: deps.RuntimeDep) -> Switch:
    """404 `mode_switch_not_found` when there is no switch still to come."""
    return Switch.of(mode_switch.withdraw(rt.ctx, service_no=number, now=rt.now()))


@router.get(f"{consumer.CONNECTION}/postpaid", summary="What a postpaid connection owes, and its advance")
def postpaid_account(number: consumer.Owned, rt: deps.RuntimeDep) -> PostpaidAccount:
    """For a prepaid connection the figures are those of its postpaid accounts (normally zero, but
    the deposit held)."""
    return account_view(rt, number)


def account_view(rt: deps.Runtime, number: str) -> PostpaidAccount:
    """The postpaid account as the consumer's and the staff routes show it."""
    found = postpaid_payments.account(rt.ctx, service_no=number)
    mode = account_views.summary(rt.ctx, service_no=number).billing_mode
    dues = [item.due_on for item in found.unpaid if item.due_on is not None]
    return PostpaidAccount(
        service_no=number,
        mode=connection.BillingMode(mode),
        outstanding_paise=found.outstanding,
        oldest_due_on=min(dues) if dues else None,
        advance_paise=found.advance,
        deposit_paise=found.deposit,
        unbilled_paise=found.unbilled,
        unpaid=[UnpaidItem.of(i) for i in found.unpaid],
    )
