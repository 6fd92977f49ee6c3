"""The signed-in consumer's routes: their connections, wallets, deductions, receipts, alerts, short
bills and complaints; language and registered-mobile changes.

Every route needs a consumer session. Every route with a service number goes through `Owned`,
which answers 404 `connection_not_found` alike for a connection that does not exist and for one
held by another mobile, before the request body is even looked at.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, Field

from wattwallet.api import deps, fields, receipts
from wattwallet.consumers import access as consumer_access
from wattwallet.consumers import account as account_views
from wattwallet.consumers import registration, self_service
from wattwallet.domain import connection, phone
from wattwallet.domain import events as domain_events
from wattwallet.lifecycle import complaints
from wattwallet.wallet import refunds

router = APIRouter(prefix="/me", tags=["consumer"])

CONNECTION = "/connections/{service_no}"


def owned_connection(
    rt: deps.RuntimeDep,
    session: deps.ConsumerDep,
    service_no: Annotated[
        str, Path(description="The service number (customer ID)", examples=["1234567890001"])
    ],
) -> str:
    """The service number, if the signed-in mobile holds it."""
    return consumer_access.check_owner(rt.ctx, session, service_no)


Owned = Annotated[str, Depends(owned_connection)]
Limit = Annotated[int, Query(ge=1, le=account_views.MAX_LIMIT, description="At most this many, newest first")]


# --- Models -----------------------------------------------------------------------------------


class ConnectionSummary(BaseModel):
    service_no: str
    consumer_name: str
    state: connection.State
    language: connection.Language

    @classmethod
    def of(cls, found: account_views.ConnectionSummary) -> ConnectionSummary:
        return cls(
            service_no=found.service_no,
            consumer_name=found.consumer_name,
            state=connection.State(found.state),
            language=connection.Language(found.language),
        )


class Me(BaseModel):
    mobile: str = Field(description="The mobile signed in with, masked", examples=["+91XXXXXX3210"])
    connections: list[ConnectionSummary]


class Wallet(BaseModel):
    service_no: str
    state: connection.State
    billing_mode: connection.BillingMode
    relay: Literal["closed", "open"] = Field(description="The meter's relay as last confirmed by the HES")
    balance_paise: int = Field(description="May be negative (emergency credit, short-bill deduction)")
    dues_paise: int = Field(description="Arrears recovered from recharges before the wallet")
    adc_paise: int = Field(description="Average daily consumption")
    estimated_days_left: int = Field(description="balance // ADC when both are above zero, else 0")
    emergency_credit_paise: int = Field(description="Granted when the balance reached zero; 0 otherwise")
    first_recharge_minimum_paise: int | None = Field(
        description="The least the first recharge may be, while it is outstanding; null afterwards"
    )


class DeductionItem(BaseModel):
    component: str = Field(
        examples=["energy:0-30", "fixed_charge", "electricity_duty", "levy:FPPCA-FY2024-25-refund"]
    )
    amount_paise: int
    label: str = Field(
        "",
        description="The component's name in the connection's language (en/te), as on the bill",
        examples=["FPPCA refund FY2024-25", "ఎఫ్‌పీపీసీఏ వాపసు 2024-25"],
    )


class Deduction(BaseModel):
    day: dt.date
    energy_wh: int
    amount_paise: int
    balance_after_paise: int
    items: list[DeductionItem]


class Alert(BaseModel):
    kind: str = Field(examples=["low_balance_3_days", "low_balance_2_days", "zero_balance"])
    threshold_paise: int
    balance_paise: int
    sent_at: fields.Instant


class ShortBill(BaseModel):
    ref: str
    amount_paise: int
    reason: str
    raised_on: dt.date
    due_on: dt.date = Field(description="Deducted from the wallet on this day if not paid before")
    status: str = Field(examples=["open", "deducted", "settled"])
    deducted_at: fields.Instant | None


class Complaint(BaseModel):
    ref: str
    kind: str
    source: str = Field(examples=["consumer", "helpline", "auto"])
    opened_at: fields.Instant
    due_at: fields.Instant = Field(description="To be resolved by then (4 hours from opening)")
    resolved_at: fields.Instant | None
    resolution: str | None
    overdue: bool

    @classmethod
    def of(cls, c: complaints.Complaint, *, now: dt.datetime) -> Complaint:
        return cls(
            ref=c.ref,
            kind=c.kind,
            source=c.source,
            opened_at=c.opened_at,
            due_at=c.due_at,
            resolved_at=c.resolved_at,
            resolution=c.resolution,
            overdue=c.overdue(now=now),
        )


class Refund(BaseModel):
    summary: str = Field(examples=["₹550.00 payment refused; refund due"])
    amount_paise: int = Field(description="What was paid and is to be (or was) returned")
    reason: str = Field(description="Why the payment could not be credited")
    status: Literal["due", "refunded"]
    payment_intent_id: str
    recorded_at: fields.Instant
    refunded_at: fields.Instant | None
    refund_reference: str | None = Field(description="The payment gateway's refund reference")


class LanguageChoice(BaseModel):
    language: connection.Language


class NewComplaint(BaseModel):
    kind: Literal["reconnection"]
    note: Annotated[str | None, Field(max_length=self_service.NOTE_MAX)] = None


class MobileChangeRequest(BaseModel):
    new_mobile: Annotated[str, Field(min_length=1, max_length=32, examples=["+919000012345"])]
    via: Literal["app", "website"]


class MobileChangeSent(BaseModel):
    message: str = "An OTP has been sent to the new number; confirm with it to make the change."
    recipient: str = Field(description="The new number, masked", examples=["+91XXXXXX2345"])
    expires_at: fields.Instant


class MobileChangeConfirm(BaseModel):
    otp: Annotated[str, Field(min_length=1, max_length=16, examples=["123456"])]


class MobileChanged(BaseModel):
    service_no: str
    mobile: str = Field(description="The new registered mobile, masked")
    via: str
    changed_at: fields.Instant
    message: str = (
        "The registered mobile has changed; sign in again with an OTP sent to the new number. "
        "This session no longer reaches the connection."
    )


# --- Routes -----------------------------------------------------------------------------------


@router.get("", summary="Who is signed in, and their connections")
def me(rt: deps.RuntimeDep, session: deps.ConsumerDep) -> Me:
    held = account_views.held_by(rt.ctx, mobile=session.subject)
    return Me(mobile=phone.masked(session.subject), connections=[ConnectionSummary.of(c) for c in held])


@router.get(f"{CONNECTION}/wallet", summary="Balance, dues, ADC and days left")
def wallet(number: Owned, rt: deps.RuntimeDep) -> Wallet:
    w = account_views.wallet(rt.ctx, service_no=number, now=rt.now())
    return Wallet(
        service_no=w.service_no,
        state=connection.State(w.state),
        billing_mode=connection.BillingMode(w.billing_mode),
        relay="open" if w.relay == "open" else "closed",
        balance_paise=w.balance,
        dues_paise=w.dues,
        adc_paise=w.adc,
        estimated_days_left=w.days_left,
        emergency_credit_paise=w.emergency_credit,
        first_recharge_minimum_paise=w.first_recharge_minimum,
    )


@router.get(f"{CONNECTION}/deductions", summary="Itemised daily deductions, newest first")
def deductions(
    number: Owned,
    rt: deps.RuntimeDep,
    limit: Limit = 30,
    before: Annotated[dt.date | None, Query(description="Only days before this one (to page back)")] = None,
) -> list[Deduction]:
    found = account_views.deductions(rt.ctx, service_no=number, limit=limit, before=before)
    return [
        Deduction(
            day=d.day,
            energy_wh=d.wh,
            amount_paise=d.amount,
            balance_after_paise=d.balance_after,
            items=[
                DeductionItem(component=i.component, amount_paise=i.amount, label=i.label) for i in d.items
            ],
        )
        for d in found
    ]


@router.get(f"{CONNECTION}/recharges", summary="Recharge receipts, newest first")
def recharge_receipts(number: Owned, rt: deps.RuntimeDep, limit: Limit = 30) -> list[receipts.Receipt]:
    return [
        receipts.Receipt.of(r) for r in account_views.recharge_history(rt.ctx, service_no=number, limit=limit)
    ]


@router.get(f"{CONNECTION}/alerts", summary="Low-balance and zero-balance alerts sent, newest first")
def alerts(number: Owned, rt: deps.RuntimeDep, limit: Limit = 30) -> list[Alert]:
    return [
        Alert(kind=a.kind, threshold_paise=a.threshold, balance_paise=a.balance, sent_at=a.sent_at)
        for a in account_views.alerts(rt.ctx, service_no=number, limit=limit)
    ]


@router.get(f"{CONNECTION}/short-bills", summary="Short bills raised, newest first")
def short_bills(number: Owned, rt: deps.RuntimeDep, limit: Limit = 30) -> list[ShortBill]:
    return [
        ShortBill(
            ref=b.ref,
            amount_paise=b.amount,
            reason=b.reason,
            raised_on=b.raised_on,
            due_on=b.due_on,
            status=b.status,
            deducted_at=b.deducted_at,
        )
        for b in account_views.short_bills(rt.ctx, service_no=number, limit=limit)
    ]


@router.get(f"{CONNECTION}/refunds", summary="Payments taken but not credited, and their refunds")
def refund_list(number: Owned, rt: deps.RuntimeDep) -> list[Refund]:
    """A payment the gateway took that the rules then refused (e.g. ₹550 once the first recharge
    was made elsewhere), newest first: due until the DISCOM returns it, then refunded."""
    return [
        Refund(
            summary=r.summary,
            amount_paise=r.amount,
            reason=r.detail,
            status="refunded" if r.status == refunds.REFUNDED else "due",
            payment_intent_id=r.intent_id,
            recorded_at=r.created_at,
            refunded_at=r.refunded_at,
            refund_reference=r.refund_reference,
        )
        for r in refunds.for_connection(rt.ctx, service_no=number)
    ]


@router.get(f"{CONNECTION}/complaints", summary="Complaints on the connection, newest first")
def complaint_list(number: Owned, rt: deps.RuntimeDep, limit: Limit = 30) -> list[Complaint]:
    now = rt.now()
    return [
        Complaint.of(c, now=now)
        for c in account_views.complaint_history(rt.ctx, service_no=number, limit=limit)
    ]


@router.post(
    f"{CONNECTION}/complaints",
    status_code=status.HTTP_201_CREATED,
    summary="Complain that the supply is not back (4-hour deadline)",
    responses={
        200: {"model": Complaint, "description": "A complaint of this kind is open already: that one"}
    },
)
def open_complaint(
    number: Owned, body: NewComplaint, rt: deps.RuntimeDep, session: deps.ConsumerDep, response: Response
) -> Complaint:
    """Opens a reconnection complaint, to be resolved within 4 hours. While one is open, the same
    request answers 200 with it instead of opening another."""
    now = rt.now()
    events: domain_events.Log = []
    opened = self_service.open_complaint(
        rt.ctx,
        holder=session.subject,
        service_no=number,
        kind=body.kind,
        note=body.note,
        now=now,
        events=events,
    )
    if not opened.new:
        response.status_code = status.HTTP_200_OK
    return Complaint.of(opened.complaint, now=now)


@router.put(f"{CONNECTION}/language", summary="Choose English or Telugu for bills, alerts and OTPs")
def set_language(number: Owned, body: LanguageChoice, rt: deps.RuntimeDep) -> ConnectionSummary:
    registration.set_language(rt.ctx, service_no=number, language=body.language.value, now=rt.now())
    return ConnectionSummary.of(account_views.summary(rt.ctx, service_no=number))


@router.post(
    f"{CONNECTION}/mobile-change",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Change the registered mobile: send an OTP to the new number",
)
def request_mobile_change(
    number: Owned,
    body: MobileChangeRequest,
    rt: deps.RuntimeDep,
    session: deps.ConsumerDep,
    caller: deps.CallerDep,
) -> MobileChangeSent:
    """The new number must be an Indian mobile (+91, ten digits starting 6-9) other than the
    registered one; the OTP goes to it, in the consumer's language. Nothing changes until
    `/mobile-change/confirm`."""
    sent = self_service.request_mobile_change(
        rt.ctx,
        holder=session.subject,
        service_no=number,
        new_mobile=body.new_mobile,
        via=body.via,
        caller=caller,
        now=rt.now(),
    )
    return MobileChangeSent(recipient=sent.recipient or "", expires_at=sent.expires_at)


@router.post(f"{CONNECTION}/mobile-change/confirm", summary="Confirm the mobile change with the OTP")
def confirm_mobile_change(
    number: Owned,
    body: MobileChangeConfirm,
    rt: deps.RuntimeDep,
    session: deps.ConsumerDep,
    caller: deps.CallerDep,
) -> MobileChanged:
    """Makes the change and tells both the old and the new number. Access goes with the number:
    this session, signed in with the old number, no longer reaches the connection (404 from here
    on); sign in again with the new number. A wrong or expired OTP answers 401 `otp_invalid` and
    changes nothing."""
    done = self_service.confirm_mobile_change(
        rt.ctx,
        holder=session.subject,
        service_no=number,
        code=body.otp,
        caller=caller,
        now=rt.now(),
    )
    return MobileChanged(
        service_no=done.service_no, mobile=phone.masked(done.new), via=done.via, changed_at=done.at
    )
