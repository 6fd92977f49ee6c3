"""Billing mode: prepaid or postpaid (DOMAIN.md §8). The current mode, a pending switch (withdrawn
with one button until its day), the history, and a form to ask for a switch to the other mode from
a chosen day (default tomorrow), saying in plain words what happens to the balance. The rules and
their refusals are `billing.mode_switch`'s; a refusal is shown in the reader's language."""

from __future__ import annotations

from starlette.responses import Response

from wattwallet.billing import mode_switch
from wattwallet.domain import billing_mode, clock, errors
from wattwallet.web import base, i18n, messages

# The general sentence for a terminated connection is about recharging; here it is about the mode.
KNOWN = {
    **messages.KNOWN,
    "mode_switch_connection_terminated": i18n.N_(
        "This connection is terminated: its billing mode cannot change."
    ),
}
DONE = {
    "requested": i18n.N_("Your switch is booked. We will send you an SMS when it takes effect."),
    "withdrawn": i18n.N_("Your switch is withdrawn. Nothing changes."),
}


def show(page: base.Page, *, error: str | None = None, status: int = 200) -> Response:
    assert page.service_no is not None and page.connection is not None
    ctx = page.rt.ctx
    mode = page.connection.billing_mode
    tomorrow = billing_mode.default_effective_on(clock.ist_date(page.rt.now()))
    done = DONE.get(page.query("done"))
    earlier = mode_switch.history(ctx, service_no=page.service_no)
    return base.render(
        page,
        "billing_mode.html",
        status=status,
        mode=mode,
        other="prepaid" if mode == "postpaid" else "postpaid",
        pending=mode_switch.pending(ctx, service_no=page.service_no),
        history=[s for s in earlier if s.status is not billing_mode.Status.PENDING],
        earliest=tomorrow.isoformat(),
        earliest_day=tomorrow,
        chosen=page.field("effective_on") or tomorrow.isoformat(),
        error=error,
        notice=page._(done) if done else None,
    )


def request(page: base.Page) -> Response:
    assert page.service_no is not None
    try:
        mode_switch.request(
            page.rt.ctx,
            service_no=page.service_no,
            to=page.field("to"),
            effective_on=mode_switch.parse_day(page.field("effective_on")),
            now=page.rt.now(),
        )
    except errors.WattWalletError as exc:
        status = 409 if isinstance(exc, errors.Conflict) else 422
        return show(page, error=base.problem_text(page, exc, KNOWN), status=status)
    return base.redirect(page, page.url("billing-mode?done=requested"))


def withdraw(page: base.Page) -> Response:
    assert page.service_no is not None
    try:
        mode_switch.withdraw(page.rt.ctx, service_no=page.service_no, now=page.rt.now())
    except errors.WattWalletError as exc:
        return show(page, error=base.problem_text(page, exc, KNOWN), status=409)
    return base.redirect(page, page.url("billing-mode?done=withdrawn"))
