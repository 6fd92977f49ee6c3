"""Monthly e-bills over HTTP: the SMS link (no sign-in), the consumer's own bills, staff look-up
and reprint. Each route only translates: the rules are in `wattwallet.billing.service`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from wattwallet.api import consumer, deps
from wattwallet.api import staff_access as access
from wattwallet.billing import service as bills
from wattwallet.staff.accounts import Role

public = APIRouter(tags=["bills"])
mine = APIRouter(prefix="/me", tags=["consumer"])
staff_router = APIRouter(prefix="/staff", tags=["staff"])

PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The bill as a PDF"}
}
MonthPath = Annotated[str, Path(pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM", examples=["2025-06"])]
ModeQuery = Annotated[
    str | None,
    Query(
        pattern=r"^(prepaid|postpaid)$",
        description="A month with a switch has both; default: the postpaid bill",
    ),
]
LanguageQuery = Annotated[
    str | None, Query(pattern=r"^(en|te)$", description="en or te (default: the consumer's language)")
]


class BillSummary(BaseModel):
    bill_no: str
    month: str = Field(examples=["2025-06"])
    revision: int
    replaces_bill_no: str | None = Field(description="The bill this revision corrects")
    language: str
    issued_at: dt.datetime
    units_wh: int
    mode: str = Field(examples=["prepaid", "postpaid"])
    amount_paise: int = Field(description="Prepaid: the month's deductions; postpaid: the net payable")
    due_on: dt.date | None = Field(description="Postpaid: pay by this day; prepaid: null")
    opening_balance_paise: int
    closing_balance_paise: int
    recharged_paise: int
    verification_code: str

    @classmethod
    def of(cls, bill: bills.Bill) -> BillSummary:
        c = bill.content
        return cls(
            bill_no=bill.bill_no,
            month=str(bill.month),
            revision=bill.revision,
            replaces_bill_no=bills.replaces_bill_no(bill),
            language=bill.language,
            issued_at=bill.issued_at,
            units_wh=bill.units_wh,
            mode=bill.mode,
            amount_paise=bill.amount,
            due_on=bill.due_on,
            opening_balance_paise=int(c["opening_balance"]),
            closing_balance_paise=int(c["closing_balance"]),
            recharged_paise=int(c["recharged"]),
            verification_code=bill.verification_code,
        )


class StaffBill(BillSummary):
    service_no: str
    statement: dict[str, Any] = Field(description="The stored statement (money in paise)")
    intact: bool = Field(description="The stored content still matches its hash and verification code")
    link: str | None = Field(None, description="A fresh signed link to the PDF, for a reprint by SMS")


def _pdf(data: bytes, bill: bills.Bill, language: str | None) -> Response:
    name = f"{bill.bill_no}-{language or bill.language}.pdf"
    return Response(
        data, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'}
    )


# --- The SMS link ----------------------------------------------------------------------------------


@public.get("/bills/{token}.pdf", summary="A bill's PDF by its signed SMS link", responses=PDF)
def bill_by_link(
    rt: deps.RuntimeDep,
    token: Annotated[str, Path(min_length=1, max_length=64, description="The token from the SMS")],
) -> Response:
    """Opens exactly the one bill the link was made for, without sign-in, until it expires. A
    tampered, expired or unknown link answers 404 `bill_link_invalid`, whichever it is."""
    bill = bills.open_link(rt.ctx, token, now=rt.now())
    return _pdf(bills.pdf(rt.ctx, bill), bill, None)


# --- The signed-in consumer ------------------------------------------------------------------------


@mine.get(f"{consumer.CONNECTION}/bills", summary="My monthly e-bills, newest first (every revision)")
def my_bills(rt: deps.RuntimeDep, service_no: consumer.Owned) -> list[BillSummary]:
    return [BillSummary.of(b) for b in bills.listing(rt.ctx, service_no=service_no)]


@mine.get(f"{consumer.CONNECTION}/bills/{{month}}.pdf", summary="My bill of a month as a PDF", responses=PDF)
def my_bill_pdf(
    rt: deps.RuntimeDep,
    service_no: consumer.Owned,
    month: MonthPath,
    language: LanguageQuery = None,
    mode: ModeQuery = None,
) -> Response:
    bill = bills.show(rt.ctx, service_no=service_no, month=bills.parse_month(month), mode=mode)
    return _pdf(bills.pdf(rt.ctx, bill, language=language), bill, language)


# --- Staff: look-up and reprint ---------------------------------------------------------------------

_READERS = (Role.HELPLINE, Role.SERVICE_CENTRE, Role.BILLING)


@access.route(staff_router, "GET", "/connections/{service_no}/bills", *_READERS)
def staff_bills(rt: deps.RuntimeDep, service_no: str) -> list[BillSummary]:
    """A connection's bills, every revision, newest month first."""
    return [BillSummary.of(b) for b in bills.listing(rt.ctx, service_no=service_no)]


@access.route(staff_router, "GET", "/connections/{service_no}/bills/{month}.pdf", *_READERS, responses=PDF)
def staff_bill_pdf(
    rt: deps.RuntimeDep, service_no: str, month: MonthPath, language: LanguageQuery = None
) -> Response:
    """Reprint: the bill's PDF in the consumer's language or the other one."""
    bill = bills.show(rt.ctx, service_no=service_no, month=bills.parse_month(month))
    return _pdf(bills.pdf(rt.ctx, bill, language=language), bill, language)


@access.route(staff_router, "GET", "/connections/{service_no}/bills/{month}", *_READERS)
def staff_bill(rt: deps.RuntimeDep, service_no: str, month: MonthPath) -> StaffBill:
    """The bill of a month with its full statement, whether it is intact, and a fresh SMS link."""
    bill = bills.show(rt.ctx, service_no=service_no, month=bills.parse_month(month))
    return StaffBill(
        **BillSummary.of(bill).model_dump(),
        service_no=bill.service_no,
        statement=bill.content,
        intact=bill.intact(),
        link=bills.link_for(rt.ctx, bill, now=rt.now()),
    )


@access.route(staff_router, "GET", "/bills/verify/{code}", *_READERS)
def staff_verify(
    rt: deps.RuntimeDep,
    code: Annotated[
        str, Path(pattern=r"^[A-Za-z2-7]{4}-[A-Za-z2-7]{4}$", description="As printed: XXXX-XXXX")
    ],
) -> list[BillSummary]:
    """The bills a printed verification code belongs to (normally one): is this paper genuine?"""
    return [BillSummary.of(b) for b in bills.by_code(rt.ctx, code=code)]
