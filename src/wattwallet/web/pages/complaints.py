"""Complaints: raise a reconnection complaint (to be resolved within 4 hours) and see each one's
status and deadline. Billing complaints go to the 1912 helpline: the API takes none yet."""

from __future__ import annotations

from starlette.responses import Response

from wattwallet.consumers import account as account_views
from wattwallet.consumers import self_service
from wattwallet.domain import errors
from wattwallet.web import base, messages


def show(
    page: base.Page, *, error: str | None = None, status: int = 200, notice: str | None = None
) -> Response:
    assert page.service_no is not None
    now = page.rt.now()
    found = account_views.complaint_history(page.rt.ctx, service_no=page.service_no, limit=20)
    return base.render(
        page,
        "complaints.html",
        status=status,
        complaints=found,
        now=now,
        error=error,
        notice=notice,
        typed=page.field("note"),
        hours=page.rt.ctx.policy.complaint_resolution_hours,
    )


def raise_one(page: base.Page) -> Response:
    assert page.service_no is not None and page.session is not None
    try:
        opened = self_service.open_complaint(
            page.rt.ctx,
            holder=page.session.subject,
            service_no=page.service_no,
            kind="reconnection",
            note=page.field("note"),
            now=page.rt.now(),
        )
    except errors.WattWalletError as exc:
        return show(page, error=base.problem_text(page, exc, messages.KNOWN), status=422)
    if opened.new:
        notice = page._("Complaint %(ref)s is registered.", ref=opened.complaint.ref)
    else:
        notice = page._("Complaint %(ref)s is open already; it keeps its deadline.", ref=opened.complaint.ref)
    page.form = {}
    return show(page, notice=notice)
