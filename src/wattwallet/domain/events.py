"""What happened, as typed domain events: each capability appends them to the caller's `Log` as it
commits, and the scenario runner (or a test, or the demo) turns them into lines with `line()`.
Nothing reads a line back: a caller that needs a result gets it returned.

Money is integer paise and instants are aware datetimes here; `line()` formats them as the scenario
format wants them (rupee strings, IST ISO instants), in the order SCENARIOS.md shows the fields.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar

from wattwallet.domain import clock, money


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    TYPE: ClassVar[str]
    at: dt.datetime
    connection: str | None

    def line(self) -> dict[str, Any]:
        out: dict[str, Any] = {"at": clock.ist_iso(self.at), "type": self.TYPE}
        if self.connection is not None:
            out["connection"] = self.connection
        out.update(self.fields())
        return out

    def fields(self) -> dict[str, Any]:
        return {}


Log = list[Event]


def _units(wh: int) -> str:
    return f"{wh / 1000:.3f}"


# --- billing -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class Deducted(Event):
    """A day's consumption charged to the wallet (or a released hold's)."""

    TYPE = "deduction"
    day: dt.date
    wh: int
    amount: int
    balance: int
    items: Sequence[tuple[str, int]]  # (component, paise)
    released_hold: int | None = None

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "date": self.day.isoformat(),
            "units": _units(self.wh),
            "amount": money.rupees(self.amount),
            "balance": money.rupees(self.balance),
        }
        if self.released_hold is not None:
            out["released_hold"] = self.released_hold
        out["items"] = [{"component": c, "amount": money.rupees(a)} for c, a in self.items]
        return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConsumptionHeld(Event):
    TYPE = "consumption.held"
    kind: str
    first: dt.date
    last: dt.date
    wh: int

    def fields(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "units": _units(self.wh),
        }


# --- balance consequences ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class AlertSent(Event):
    TYPE = "alert"
    kind: str
    balance: int

    def fields(self) -> dict[str, Any]:
        return {"kind": self.kind, "balance": money.rupees(self.balance)}


@dataclasses.dataclass(frozen=True, kw_only=True)
class EmergencyCreditGranted(Event):
    TYPE = "emergency_credit"
    amount: int

    def fields(self) -> dict[str, Any]:
        return {"amount": money.rupees(self.amount)}


@dataclasses.dataclass(frozen=True, kw_only=True)
class DisconnectionDue(Event):
    TYPE = "disconnection.due"
    balance: int
    earliest: dt.datetime

    def fields(self) -> dict[str, Any]:
        return {"balance": money.rupees(self.balance), "earliest": clock.ist_iso(self.earliest)}


@dataclasses.dataclass(frozen=True, kw_only=True)
class StateChanged(Event):
    TYPE = "state"
    before: str
    after: str

    def fields(self) -> dict[str, Any]:
        return {"from": self.before, "to": self.after}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReconnectAmountNeeded(Event):
    TYPE = "reconnect.amount_needed"
    balance: int
    amount_needed: int

    def fields(self) -> dict[str, Any]:
        return {"balance": money.rupees(self.balance), "amount_needed": money.rupees(self.amount_needed)}


# --- head-end commands -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Command(Event):
    command: str  # disconnect | reconnect
    id: str

    def fields(self) -> dict[str, Any]:
        return {"command": self.command, "id": self.id}


@dataclasses.dataclass(frozen=True, kw_only=True)
class CommandSent(_Command):
    TYPE = "command.sent"


@dataclasses.dataclass(frozen=True, kw_only=True)
class CommandConfirmed(_Command):
    TYPE = "command.confirmed"


@dataclasses.dataclass(frozen=True, kw_only=True)
class CommandFailed(_Command):
    TYPE = "command.failed"
    reason: str
    status: str
    attempt: int

    def fields(self) -> dict[str, Any]:
        return {**super().fields(), "reason": self.reason, "status": self.status, "attempt": self.attempt}


@dataclasses.dataclass(frozen=True, kw_only=True)
class CommandCancelled(_Command):
    TYPE = "command.cancelled"
    reason: str

    def fields(self) -> dict[str, Any]:
        return {**super().fields(), "reason": self.reason}


@dataclasses.dataclass(frozen=True, kw_only=True)
class CommandRefused(_Command):
    """The head end refused a command; it is tried again after the policy's backoff."""

    TYPE = "command.refused"
    reason: str

    def fields(self) -> dict[str, Any]:
        return {**super().fields(), "reason": self.reason}


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelayMismatch(Event):
    TYPE = "relay.mismatch"
    reported: str
    expected: str
    cause: str | None
    action: str

    def fields(self) -> dict[str, Any]:
        return {
            "reported": self.reported,
            "expected": self.expected,
            "cause": self.cause,
            "action": self.action,
        }


# --- short bills, complaints, termination ------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class ShortBillRaised(Event):
    TYPE = "short_bill.raised"
    ref: str
    amount: int
    reason: str
    due: dt.date
    repeat: bool = False

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ref": self.ref,
            "amount": money.rupees(self.amount),
            "reason": self.reason,
            "due": self.due.isoformat(),
        }
        if self.repeat:
            out["repeat"] = True
        return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class ShortBillReminded(Event):
    TYPE = "short_bill.reminder"
    ref: str
    amount: int
    day: int

    def fields(self) -> dict[str, Any]:
        return {"ref": self.ref, "amount": money.rupees(self.amount), "day": self.day}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ShortBillDeducted(Event):
    TYPE = "short_bill.deducted"
    ref: str
    amount: int
    balance: int

    def fields(self) -> dict[str, Any]:
        return {"ref": self.ref, "amount": money.rupees(self.amount), "balance": money.rupees(self.balance)}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ComplaintOpened(Event):
    TYPE = "complaint.opened"
    ref: str
    kind: str
    source: str
    due: dt.datetime

    def fields(self) -> dict[str, Any]:
        return {"ref": self.ref, "kind": self.kind, "source": self.source, "due": clock.ist_iso(self.due)}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ComplaintResolved(Event):
    TYPE = "complaint.resolved"
    ref: str
    kind: str
    source: str
    resolution: str
    within_deadline: bool

    def fields(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "kind": self.kind,
            "source": self.source,
            "resolution": self.resolution,
            "within_deadline": self.within_deadline,
        }


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkOrderRaised(Event):
    TYPE = "work_order"
    kind: str

    def fields(self) -> dict[str, Any]:
        return {"kind": self.kind}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Terminated(Event):
    TYPE = "termination"
    final_balance: int
    arrears: int
    refund: int

    def fields(self) -> dict[str, Any]:
        return {
            "final_balance": money.rupees(self.final_balance),
            "arrears": money.rupees(self.arrears),
            "refund": money.rupees(self.refund),
        }


# --- monthly bills ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class BillIssued(Event):
    """A month's e-bill made (or a revision of it)."""

    TYPE = "bill"
    month: str  # YYYY-MM
    wh: int
    amount: int
    language: str
    bill_no: str
    opening_balance: int
    closing_balance: int
    recharged: int
    revision: int = 1

    def fields(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "units": _units(self.wh),
            "amount": money.rupees(self.amount),
            "language": self.language,
            "bill_no": self.bill_no,
            "opening_balance": money.rupees(self.opening_balance),
            "closing_balance": money.rupees(self.closing_balance),
            "recharged": money.rupees(self.recharged),
            **({"revision": self.revision} if self.revision > 1 else {}),
        }


@dataclasses.dataclass(frozen=True, kw_only=True)
class PostpaidBillIssued(Event):
    """A postpaid month's bill: the same `bill` line, `amount` being the net payable."""

    TYPE = "bill"
    month: str
    wh: int
    charges: int  # the month's consumption charges (the same engine as the prepaid deductions)
    arrears: int  # owed from before this bill
    advance: int  # advance set against it
    payable: int
    due_on: dt.date
    language: str
    bill_no: str

    def fields(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "mode": "postpaid",
            "units": _units(self.wh),
            "amount": money.rupees(self.payable),
            "charges": money.rupees(self.charges),
            "arrears": money.rupees(self.arrears),
            "advance": money.rupees(self.advance),
            "due_on": self.due_on.isoformat(),
            "language": self.language,
            "bill_no": self.bill_no,
        }


@dataclasses.dataclass(frozen=True, kw_only=True)
class Charged(Event):
    """A postpaid day rated and kept for the monthly bill (no money moves yet)."""

    TYPE = "charge"
    day: dt.date
    wh: int
    amount: int
    items: Sequence[tuple[str, int]]

    def fields(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "units": _units(self.wh),
            "amount": money.rupees(self.amount),
            "items": [{"component": c, "amount": money.rupees(a)} for c, a in self.items],
        }


# --- billing mode and postpaid payments ----------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModeSwitchRequested(Event):
    TYPE = "mode.requested"
    before: str
    after: str
    effective_on: dt.date
    via: str

    def fields(self) -> dict[str, Any]:
        return {
            "from": self.before,
            "to": self.after,
            "effective_on": self.effective_on.isoformat(),
            "via": self.via,
        }


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModeSwitchWithdrawn(Event):
    TYPE = "mode.withdrawn"
    effective_on: dt.date

    def fields(self) -> dict[str, Any]:
        return {"effective_on": self.effective_on.isoformat()}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModeChanged(Event):
    """A switch took effect and was settled (DOMAIN.md §8; SCENARIOS.md `mode.changed`).

    `carried`: to postpaid, the wallet balance carried (a credit to the advance, a debit onto the
    first bill); to prepaid, what was credited to the wallet (advance and deposit left over).
    `to_dues`: to prepaid, the postpaid outstanding made dues; `deposit_adjusted`: the deposit set
    against those dues; `to_bill`: to postpaid, what the first bill carries (debit, dues, short bills)."""

    TYPE = "mode.changed"
    before: str
    after: str
    carried: int
    to_dues: int
    deposit_adjusted: int
    to_bill: int
    balance: int
    dues: int

    def fields(self) -> dict[str, Any]:
        return {
            "from": self.before,
            "to": self.after,
            "carried": money.rupees(self.carried),
            "to_dues": money.rupees(self.to_dues),
            "deposit_adjusted": money.rupees(self.deposit_adjusted),
            "to_bill": money.rupees(self.to_bill),
            "balance": money.rupees(self.balance),
            "dues": money.rupees(self.dues),
        }


@dataclasses.dataclass(frozen=True, kw_only=True)
class PaymentAccepted(Event):
    TYPE = "payment.accepted"
    ref: str
    channel: str
    amount: int
    applied: int
    to_advance: int
    outstanding: int
    repeat: bool = False

    def fields(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "channel": self.channel,
            "amount": money.rupees(self.amount),
            "applied": money.rupees(self.applied),
            "to_advance": money.rupees(self.to_advance),
            "outstanding": money.rupees(self.outstanding),
            **({"repeat": True} if self.repeat else {}),
        }


@dataclasses.dataclass(frozen=True, kw_only=True)
class DepositSet(Event):
    TYPE = "deposit.set"
    before: int
    after: int

    def fields(self) -> dict[str, Any]:
        return {"from": money.rupees(self.before), "to": money.rupees(self.after)}


# --- the consumer's details and messages -------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class MobileChanged(Event):
    TYPE = "mobile.changed"
    via: str
    old: str
    new: str

    def fields(self) -> dict[str, Any]:
        return {"via": self.via, "old": self.old, "new": self.new}


@dataclasses.dataclass(frozen=True, kw_only=True)
class LanguageChanged(Event):
    TYPE = "language.changed"
    before: str
    after: str

    def fields(self) -> dict[str, Any]:
        return {"from": self.before, "to": self.after}


@dataclasses.dataclass(frozen=True, kw_only=True)
class MessageStored(Event):
    """A message written to the outbox (its deliveries follow from there)."""

    TYPE = "notification"
    kind: str
    channels: Sequence[str]
    language: str
    recipient: str | None
    text: str
    sms: str

    def fields(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "channels": list(self.channels),
            "language": self.language,
            **({"to": self.recipient} if self.recipient else {}),
            "text": self.text,
            "sms": self.sms,
        }
