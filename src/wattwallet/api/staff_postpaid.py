"""Staff routes for prepaid or postpaid on one meter (DOMAIN.md §8): a switch asked for on the
consumer's behalf (1912, a service centre, the billing section), a postpaid payment at the counter,
the security deposit, a connection's postpaid account, and the overdue bills.

Each route only translates: the rules are in `wattwallet.billing.mode_switch`,
`wattwallet.billing.postpaid_payments` and `wattwallet.billing.deposits`."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from wattwallet.api import billing_mode as views
from wattwallet.api import deps
from wattwallet.api import staff_access as access
from wattwallet.billing import deposits, mode_switch, postpaid_payments
from wattwallet.domain import billing_mode, clock, connection
from wattwallet.staff import accounts as staff

router = APIRouter(prefix="/staff", tags=["staff"])
Role = staff.Role
CONNECTION = "/connections/{service_no}"


class StaffSwitchRequest(access.Body):
    to: connection.BillingMode
    effective_on: dt.date | None = Field(None, description="An IST day after today (default: tomorrow)")


@access.route(
    router,
    "POST",
    f"{CONNECTION}/billing-mode",
    Role.BILLING,
    Role.HELPLINE,
    Role.SERVICE_CENTRE,
    status_code=status.HTTP_201_CREATED,
)
def request_switch(
    service_no: str, body: StaffSwitchRequest, rt: deps.RuntimeDep, session: deps.StaffDep
) -> views.Switch:
    """Ask for a switch on the consumer's behalf, audited with the executive's name; the consumer is
    told in their language. Refused with a code, nothing written: `mode_unchanged`,
    `mode_switch_date_past`, `mode_switch_connection_terminated`, `mode_switch_pending`,
    `mode_switch_consumption_held`."""
    made = mode_switch.request(
        rt.ctx,
        service_no=service_no,
        to=body.to.value,
        effective_on=body.effective_on,
        via=billing_mode.Via.STAFF,
        by=session.subject,
        now=rt.now(),
    )
    return views.Switch.of(made)


@access.route(
    router, "DELETE", f"{CONNECTION}/billing-mode/pending", Role.BILLING, Role.HELPLINE, Role.SERVICE_CENTRE
)
def withdraw_switch(service_no: str, rt: deps.RuntimeDep) -> views.Switch:
    """Withdraw the pending switch before its day (404 `mode_switch_not_found` when there is none)."""
    return views.Switch.of(mode_switch.withdraw(rt.ctx, service_no=service_no, now=rt.now()))


@access.route(router, "GET", f"{CONNECTION}/postpaid", Role.BILLING, Role.HELPLINE, Role.SERVICE_CENTRE)
def postpaid_account(service_no: str, rt: deps.RuntimeDep) -> views.PostpaidAccount:
    """What the connection owes bill by bill, its advance, deposit and the days not billed yet."""
    return views.account_view(rt, service_no)


class CounterPayment(access.Body):
    service_no: str
    amount_paise: access.Paise = Field(description="Any amount of at least ₹1 (100 paise)")
    reference: access.Reference = Field(description="The counter receipt number (idempotency key)")
    paid_at: access.Instant | None = None


class PaymentReceipt(BaseModel):
    service_no: str
    channel: str
    reference: str
    amount_paise: int
    applied_paise: int = Field(description="To bills, oldest first")
    to_advance_paise: int = Field(description="Beyond what was owed: set against the next bill")
    outstanding_paise: int = Field(description="Still owed after this payment")
    paid_at: access.Instant
    replayed: bool


@access.route(
    router,
    "POST",
    "/postpaid-payments",
    Role.SERVICE_CENTRE,
    status_code=status.HTTP_201_CREATED,
    responses=access.replayed_doc(PaymentReceipt),
)
def counter_payment(body: CounterPayment, rt: deps.RuntimeDep, response: Response) -> PaymentReceipt:
    """A postpaid bill paid at a service-centre counter. The same reference again returns the first
    receipt (`replayed`); with another amount or connection it is a conflict. A prepaid connection
    is recharged instead (`payment_connection_prepaid`)."""
    paid = postpaid_payments.pay(
        rt.ctx,
        service_no=body.service_no,
        amount_paise=body.amount_paise,
        channel="counter",
        reference=body.reference,
        paid_at=body.paid_at,
        now=rt.now(),
    )
    access.created(response, replayed=paid.replayed)
    return PaymentReceipt(
        service_no=paid.service_no,
        channel=paid.channel.value,
        reference=paid.reference,
        amount_paise=paid.amount,
        applied_paise=paid.applied,
        to_advance_paise=paid.to_advance,
        outstanding_paise=paid.outstanding,
        paid_at=paid.paid_at,
        replayed=paid.replayed,
    )


class DepositRequest(access.Body):
    amount_paise: int = Field(ge=0, description="The security deposit held, as on the DISCOM's records")


class Deposit(BaseModel):
    service_no: str
    before_paise: int
    deposit_paise: int


@access.route(router, "PUT", f"{CONNECTION}/deposit", Role.BILLING)
def set_deposit(
    service_no: str, body: DepositRequest, rt: deps.RuntimeDep, session: deps.StaffDep
) -> Deposit:
    """Record the security deposit held; set against dues when the connection switches to prepaid."""
    changed = deposits.set_deposit(
        rt.ctx, service_no=service_no, amount_paise=body.amount_paise, by=session.subject, now=rt.now()
    )
    return Deposit(service_no=service_no, before_paise=changed.before, deposit_paise=changed.after)


class OverdueBill(BaseModel):
    service_no: str
    label: str
    due_on: dt.date | None
    owed_paise: int


@access.route(router, "GET", "/postpaid/overdue", Role.BILLING)
def overdue(rt: deps.RuntimeDep) -> list[OverdueBill]:
    """Postpaid bills past their due date and not paid in full, most overdue first (no automatic
    disconnection of postpaid consumers)."""
    found = postpaid_payments.overdue(rt.ctx, today=clock.ist_date(rt.now()))
    return [
        OverdueBill(service_no=i.service_no, label=i.label, due_on=i.due_on, owed_paise=i.owed) for i in found
    ]
