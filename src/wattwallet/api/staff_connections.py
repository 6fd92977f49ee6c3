"""Staff routes about one connection: look-up, mobile change, short bills, dues, a caller's
reconnection complaint, and counter recharges."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import AwareDatetime, BaseModel, Field

from wattwallet.api import deps, receipts
from wattwallet.api import staff_access as access
from wattwallet.api.staff_queues import ComplaintAction
from wattwallet.domain import connection
from wattwallet.lifecycle import short_bills
from wattwallet.staff import accounts as staff
from wattwallet.staff import desk as staff_desk
from wattwallet.wallet import counter, dues

router = APIRouter(prefix="/staff", tags=["staff"])
Role = staff.Role

Mobile = Annotated[str, Field(min_length=1, max_length=32, examples=["+919876543210"])]


class StaffConnectionView(BaseModel):
    service_no: str
    consumer_name: str
    category: str
    load_kw: str = Field(description="Sanctioned load, kW", examples=["2", "3.5"])
    mode: connection.BillingMode
    language: connection.Language
    state: connection.State
    relay: str = Field(description="The meter's relay: closed (supply on) or open", examples=["closed"])
    meter_serial: str
    mobile: str = Field(description="E.164; masked (+91XXXXXX3210) for field staff")
    mobile_masked: bool
    balance_paise: int = Field(description="Wallet balance; negative while on emergency credit")
    dues_paise: int = Field(description="Pending dues, recovered from recharges first")
    adc_paise: int = Field(description="Average daily consumption")
    emergency_credit_paise: int
    disconnect_due_at: access.Instant | None = Field(
        description="When it fell due for disconnection, if it has"
    )
    open_complaints: int
    open_holds: int = Field(description="Held consumption awaiting review")


class StaffConnectionBrief(BaseModel):
    service_no: str
    consumer_name: str
    category: str
    mode: connection.BillingMode
    state: connection.State


class MobileChangeRequest(access.Body):
    old_mobile: Mobile = Field(description="The registered number, as the caller states it")
    new_mobile: Mobile
    reference: access.Reference = Field(description="The 1912 call or counter token reference")
    via: Literal["helpline", "service_centre"] | None = Field(
        None, description="Only an admin gives it; executives change numbers through their role's channel"
    )


class MobileChangeRecord(BaseModel):
    """The audit record of the change (both numbers have been told)."""

    service_no: str
    old_mobile: str
    new_mobile: str
    via: str
    reference: str | None
    changed_by: str | None
    changed_at: access.Instant


class ShortBillRequest(access.Body):
    amount_paise: access.Paise
    reason: str = Field(min_length=1, max_length=200, description="Shown to the consumer")
    reference: access.Reference


class StaffShortBill(BaseModel):
    reference: str
    service_no: str
    amount_paise: int
    reason: str
    raised_on: dt.date
    due_on: dt.date = Field(description="Deducted from the wallet on this day unless paid")
    status: str
    replayed: bool


class DuesRequest(access.Body):
    kind: dues.Kind = dues.Kind.TECHNICAL_ADJUSTMENT
    amount_paise: access.Paise
    reason: str = Field(min_length=1, max_length=200, description="Shown to the consumer")
    reference: access.Reference


class StaffDues(BaseModel):
    service_no: str
    kind: dues.Kind
    reference: str
    amount_paise: int
    dues_total_paise: int = Field(description="All pending dues on the connection now")
    replayed: bool


class ComplaintRequest(access.Body):
    ref: access.Reference = Field(description="The 1912 docket number")


class CounterRecharge(access.Body):
    service_no: str = Field(min_length=1, max_length=32, examples=["1234567890001"])
    amount_paise: access.Paise
    reference: access.Reference = Field(description="The counter receipt's reference; unique per payment")
    paid_at: AwareDatetime | None = Field(None, description="When the payer paid (default: now)")


@access.route(router, "GET", "/connections", Role.HELPLINE, Role.SERVICE_CENTRE, Role.BILLING)
def connections_on_mobile(
    rt: deps.RuntimeDep, mobile: Annotated[str, Query(min_length=1, max_length=32)]
) -> list[StaffConnectionBrief]:
    """The connections registered to a mobile number (a caller is found by the number they call
    from). The number must be an Indian mobile."""
    found = staff_desk.on_mobile(rt.ctx, mobile_number=mobile)
    return [StaffConnectionBrief.model_validate(b, from_attributes=True) for b in found]


@access.route(router, "GET", "/connections/{service_no}", *access.ANY_ROLE)
def connection_overview(service_no: str, rt: deps.RuntimeDep, session: deps.StaffDep) -> StaffConnectionView:
    """A connection as staff see it: state, relay, money, and what is waiting on it."""
    v = staff_desk.overview(rt.ctx, service_no=service_no, role=staff.role(session.role))
    return StaffConnectionView(
        service_no=v.service_no,
        consumer_name=v.consumer_name,
        category=v.category,
        load_kw=str(v.load_kw),
        mode=v.mode,
        language=v.language,
        state=v.state,
        relay=v.relay,
        meter_serial=v.meter_serial,
        mobile=v.mobile,
        mobile_masked=v.mobile_masked,
        balance_paise=v.balance,
        dues_paise=v.dues,
        adc_paise=v.adc,
        emergency_credit_paise=v.emergency_credit,
        disconnect_due_at=v.disconnect_due_at,
        open_complaints=v.open_complaints,
        open_holds=v.open_holds,
    )


@access.route(router, "POST", "/connections/{service_no}/mobile", Role.HELPLINE, Role.SERVICE_CENTRE)
def change_mobile(
    service_no: str, body: MobileChangeRequest, rt: deps.RuntimeDep, session: deps.StaffDep
) -> MobileChangeRecord:
    """Change the registered mobile for a consumer who cannot use the app (DOMAIN.md §7): the old
    number must match, the call or counter reference is kept, and both numbers are told."""
    done = staff_desk.change_mobile(
        rt.ctx,
        service_no=service_no,
        old_mobile=body.old_mobile,
        new_mobile=body.new_mobile,
        reference=body.reference,
        role=staff.role(session.role),
        username=session.subject,
        via=body.via,
        now=rt.now(),
    )
    return MobileChangeRecord(
        service_no=done.service_no,
        old_mobile=done.old,
        new_mobile=done.new,
        via=done.via,
        reference=done.reference,
        changed_by=done.by,
        changed_at=done.at,
    )


@access.route(
    router,
    "POST",
    "/connections/{service_no}/short-bills",
    Role.BILLING,
    status_code=status.HTTP_201_CREATED,
    responses=access.replayed_doc(StaffShortBill),
)
def raise_short_bill(
    service_no: str, body: ShortBillRequest, rt: deps.RuntimeDep, response: Response
) -> StaffShortBill:
    """Raise a short bill (DOMAIN.md §4): the consumer is told at once and has 15 days to pay
    before it is deducted. The same reference again is the same bill."""
    bill = short_bills.raise_bill(
        rt.ctx,
        service_no=service_no,
        amount_paise=body.amount_paise,
        reason=body.reason,
        ref=body.reference,
        now=rt.now(),
    )
    access.created(response, replayed=bill.replayed)
    return StaffShortBill(
        reference=bill.ref,
        service_no=bill.service_no,
        amount_paise=bill.amount,
        reason=bill.reason,
        raised_on=bill.raised_on,
        due_on=bill.due_on,
        status=bill.status,
        replayed=bill.replayed,
    )


@access.route(
    router,
    "POST",
    "/connections/{service_no}/dues",
    Role.BILLING,
    status_code=status.HTTP_201_CREATED,
    responses=access.replayed_doc(StaffDues),
)
def add_dues(service_no: str, body: DuesRequest, rt: deps.RuntimeDep, response: Response) -> StaffDues:
    """Raise pending dues (arrears, a technical adjustment); recharges recover them first. The same
    reference again adds nothing."""
    added = dues.add(
        rt.ctx,
        service_no=service_no,
        kind=body.kind.value,
        amount_paise=body.amount_paise,
        reason=body.reason,
        reference=body.reference,
        now=rt.now(),
    )
    access.created(response, replayed=added.replayed)
    return StaffDues(
        service_no=added.service_no,
        kind=added.kind,
        reference=added.reference,
        amount_paise=added.amount,
        dues_total_paise=added.dues_total,
        replayed=added.replayed,
    )


@access.route(
    router,
    "POST",
    "/connections/{service_no}/complaints",
    Role.HELPLINE,
    status_code=status.HTTP_201_CREATED,
    responses=access.replayed_doc(ComplaintAction),
)
def open_complaint(
    service_no: str, body: ComplaintRequest, rt: deps.RuntimeDep, response: Response
) -> ComplaintAction:
    """Log a caller's reconnection complaint from the 1912 helpline: it must be resolved within 4
    hours. The same docket number again is the same complaint."""
    now = rt.now()
    opened = staff_desk.open_helpline_complaint(rt.ctx, service_no=service_no, ref=body.ref, now=now)
    access.created(response, replayed=opened.replayed)
    return ComplaintAction.of(opened.complaint, now=now, replayed=opened.replayed)


@access.route(
    router,
    "POST",
    "/recharges",
    Role.SERVICE_CENTRE,
    status_code=status.HTTP_201_CREATED,
    responses=access.replayed_doc(receipts.Receipt),
)
def counter_recharge(
    body: CounterRecharge, rt: deps.RuntimeDep, session: deps.StaffDep, response: Response
) -> receipts.Receipt:
    """A recharge paid at a service-centre counter, recorded with the executive who took the cash.
    Dues are recovered first; the same reference again returns the first receipt (`replayed`), and
    with another amount or connection is a conflict."""
    r = counter.recharge(
        rt.ctx,
        by=session.subject,
        service_no=body.service_no,
        reference=body.reference,
        amount_paise=body.amount_paise,
        paid_at=body.paid_at,
        now=rt.now(),
    )
    access.created(response, replayed=r.replayed)
    return receipts.Receipt.of(r, taken_by=counter.taken_by(rt.ctx, reference=r.reference))
