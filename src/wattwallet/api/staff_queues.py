"""Staff work queues: reconnection complaints, the disconnection queue, failing HES commands, held
consumption awaiting review, and refunds due."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Literal, Self

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from wattwallet.api import deps, fields
from wattwallet.api import staff_access as access
from wattwallet.hes import commands as hes_commands
from wattwallet.lifecycle import complaints, holds
from wattwallet.staff import accounts as staff
from wattwallet.staff import desk as staff_desk
from wattwallet.staff import work_lists as queues
from wattwallet.wallet import refunds

router = APIRouter(prefix="/staff", tags=["staff"])
Role = staff.Role


class ComplaintView(BaseModel):
    ref: str
    service_no: str
    kind: str
    source: str = Field(description="consumer, helpline or auto (opened by the system)")
    opened_at: access.Instant
    due_at: access.Instant = Field(description="To be resolved by (4 hours after opening)")
    resolved_at: access.Instant | None
    resolution: str | None
    overdue: bool = Field(description="Still open after its deadline, or resolved after it")

    @classmethod
    def of(cls, c: complaints.Complaint, *, now: dt.datetime, **extra: object) -> Self:
        return cls.model_validate({**dataclasses.asdict(c), "overdue": c.overdue(now=now), **extra})


class ComplaintAction(ComplaintView):
    replayed: bool = Field(description="Nothing changed: it was opened (or resolved) before")


class ResolveRequest(access.Body):
    note: access.Note


class DisconnectionQueueEntry(BaseModel):
    service_no: str
    balance_paise: int
    emergency_credit_paise: int
    due_at: access.Instant = Field(description="When the balance fell below the emergency credit")
    zero_alert_at: access.Instant | None
    earliest: access.Instant = Field(description="The earliest instant the rules allow the supply to be cut")
    ready: bool = Field(description="The window job cuts it (or has sent the command) now")
    on_hold: bool = Field(description="Held consumption: no disconnection until reviewed")
    command_id: str | None
    command_status: str | None


class HesFailure(BaseModel):
    id: str
    service_no: str
    meter_serial: str
    command: str = Field(description="disconnect or reconnect")
    status: str = Field(description="failed (given up), pending (being retried) or sent (never confirmed)")
    reason: str
    attempts: int
    next_attempt_at: access.Instant | None
    created_at: access.Instant
    sent_at: access.Instant | None
    confirmed_at: access.Instant | None
    paid_at: access.Instant | None
    last_error: str | None


class HoldView(BaseModel):
    id: int
    service_no: str
    kind: str = Field(description="implausible or register_backwards")
    from_date: dt.date
    to_date: dt.date
    units_wh: int
    status: str = Field(description="open, released or dismissed")
    created_at: access.Instant

    @classmethod
    def of(cls, h: holds.Hold, **extra: object) -> Self:
        return cls.model_validate({**dataclasses.asdict(h), **extra})


class HoldReleased(HoldView):
    deducted_paise: int = Field(description="Taken from the wallet for the released consumption")
    balance_paise: int = Field(description="Wallet balance afterwards")


class ReviewRequest(access.Body):
    note: access.Note


class RefundView(BaseModel):
    id: int
    intent_id: str = Field(description="The payment intent the money was paid for")
    service_no: str
    amount_paise: int = Field(description="What the gateway took, to be returned")
    code: str = Field(description="Why it was not credited: the rule's code, or amount_mismatch")
    detail: str
    event_id: str = Field(description="The gateway event that reported the payment")
    gateway_payment_id: str | None
    status: Literal["due", "refunded"]
    created_at: access.Instant
    refunded_at: access.Instant | None
    refunded_by: str | None = Field(description="The staff member who marked it refunded")
    refund_reference: str | None = Field(description="The gateway's refund reference")

    @classmethod
    def of(cls, r: refunds.Refund) -> Self:
        fields = dataclasses.asdict(r)
        fields["amount_paise"] = fields.pop("amount")
        return cls.model_validate(fields)


class RefundDone(access.Body):
    reference: access.Reference = Field(description="The gateway's refund reference (kept)")


@access.route(router, "GET", "/complaints", Role.HELPLINE, Role.SERVICE_CENTRE)
def complaint_queue(rt: deps.RuntimeDep, open_only: bool = True) -> list[ComplaintView]:
    """Reconnection complaints, nearest deadline first; `overdue` marks those past 4 hours."""
    now = rt.now()
    found = complaints.listing(rt.ctx, now=now, open_only=open_only)
    return [ComplaintView.of(c, now=now) for c in found]


@access.route(router, "POST", "/complaints/{ref:path}/resolve", Role.HELPLINE)
def resolve_complaint(
    ref: str, body: ResolveRequest, rt: deps.RuntimeDep, session: deps.StaffDep
) -> ComplaintAction:
    """Close a complaint with a note saying what was done; the signed-in executive is on record.
    A complaint resolved before is answered as it stands (`replayed`)."""
    now = rt.now()
    done = staff_desk.resolve_complaint(rt.ctx, ref=ref, by=session.subject, note=body.note, now=now)
    return ComplaintAction.of(done.complaint, now=now, replayed=done.replayed)


@access.route(router, "GET", "/disconnections/queue", Role.BILLING, Role.FIELD)
def disconnection_queue(rt: deps.RuntimeDep) -> list[DisconnectionQueueEntry]:
    """Connections due for disconnection, soonest first, with the earliest instant the rules allow
    the cut (window, working days, 24 hours after the zero-balance alert)."""
    now = rt.now()
    return [
        DisconnectionQueueEntry(
            service_no=e.service_no,
            balance_paise=e.balance,
            emergency_credit_paise=e.emergency_credit,
            due_at=e.due_at,
            zero_alert_at=e.zero_alert_at,
            earliest=e.earliest,
            ready=e.ready(now),
            on_hold=e.on_hold,
            command_id=e.command_id,
            command_status=e.command_status,
        )
        for e in queues.disconnection_queue(rt.ctx, now=now)
    ]


@access.route(router, "GET", "/hes/failures", Role.FIELD, Role.BILLING)
def hes_failures(rt: deps.RuntimeDep) -> list[HesFailure]:
    """Commands the head-end failed, keeps failing, or never confirmed, oldest first."""
    return [HesFailure.model_validate(row) for row in hes_commands.failures(rt.ctx, now=rt.now())]


@access.route(router, "GET", "/holds", Role.BILLING)
def held_consumption(rt: deps.RuntimeDep, open_only: bool = True) -> list[HoldView]:
    """Consumption held for review: never deducted, never a reason to disconnect while open."""
    return [HoldView.of(h) for h in holds.listing(rt.ctx, open_only=open_only)]


@access.route(router, "POST", "/holds/{hold_id}/release", Role.BILLING)
def release_hold(
    hold_id: fields.RowId, body: ReviewRequest, rt: deps.RuntimeDep, session: deps.StaffDep
) -> HoldReleased:
    """The consumption was real: deduct it now (energy and per-unit charges at this month's slab)."""
    done = holds.release(rt.ctx, hold_id=hold_id, by=session.subject, note=body.note, now=rt.now())
    return HoldReleased.of(done.hold, deducted_paise=done.deducted, balance_paise=done.balance)


@access.route(router, "POST", "/holds/{hold_id}/dismiss", Role.BILLING)
def dismiss_hold(
    hold_id: fields.RowId, body: ReviewRequest, rt: deps.RuntimeDep, session: deps.StaffDep
) -> HoldView:
    """The consumption was not real (a meter fault): the consumer never pays it."""
    done = holds.dismiss(rt.ctx, hold_id=hold_id, by=session.subject, note=body.note, now=rt.now())
    return HoldView.of(done)


@access.route(router, "GET", "/refunds", Role.BILLING)
def refund_queue(
    rt: deps.RuntimeDep,
    status: Annotated[
        Literal["due", "refunded", "all"], Query(description="Which refunds: due (default), refunded, all")
    ] = "due",
) -> list[RefundView]:
    """Money the payment gateway took that was never credited (a rule refused the payment after it
    was taken, or the gateway reported another amount than the intent's), oldest first."""
    found = refunds.listing(rt.ctx, status=None if status == "all" else status)
    return [RefundView.of(r) for r in found]


@access.route(router, "POST", "/refunds/{refund_id}/refunded", Role.BILLING)
def mark_refunded(
    refund_id: fields.RowId, body: RefundDone, rt: deps.RuntimeDep, session: deps.StaffDep
) -> RefundView:
    """The money was returned through the gateway: its refund reference, the signed-in staff member
    and the time are kept. A refund marked before answers 409 `refund_already_refunded`; an unknown
    id 404 `refund_not_found`."""
    done = refunds.mark_refunded(
        rt.ctx, refund_id=refund_id, reference=body.reference, by=session.subject, now=rt.now()
    )
    return RefundView.of(done)
