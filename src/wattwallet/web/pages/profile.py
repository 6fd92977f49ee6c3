"""Profile / manage account: the registered mobile (changed by an OTP sent to the new number, the old
number told), the language, and the WhatsApp and app opt-ins."""

from __future__ import annotations

from starlette.responses import Response

from wattwallet.consumers import account as account_views
from wattwallet.consumers import self_service, sessions
from wattwallet.domain import errors, phone
from wattwallet.messaging import preferences
from wattwallet.web import base, messages


def _mobile(page: base.Page) -> str:
    assert page.session is not None
    return phone.masked(page.session.subject)


def show(
    page: base.Page, *, error: str | None = None, status: int = 200, notice: str | None = None
) -> Response:
    assert page.service_no is not None
    choices = preferences.get(page.rt.ctx, service_no=page.service_no)
    return base.render(
        page,
        "profile.html",
        status=status,
        mobile=_mobile(page),
        choices=choices.enabled,
        error=error,
        notice=notice,
        typed=page.field("new_mobile"),
    )


def request_change(page: base.Page) -> Response:
    assert page.service_no is not None and page.session is not None
    rt = page.rt
    typed = page.field("new_mobile").strip()
    try:
        sent = self_service.request_mobile_change(
            rt.ctx,
            holder=page.session.subject,
            service_no=page.service_no,
            new_mobile=typed,
            via="website",
            caller=page.caller(),
            now=rt.now(),
        )
    except errors.WattWalletError as exc:
        status = 429 if isinstance(exc, errors.RateLimited) else 422
        return show(page, error=base.problem_text(page, exc, messages.KNOWN), status=status)
    return base.render(
        page,
        "mobile_otp.html",
        recipient=sent.recipient or "",
        minutes=rt.ctx.policy.otp_valid_minutes,
        error=None,
    )


def confirm_change(page: base.Page) -> Response:
    assert page.service_no is not None and page.session is not None
    rt = page.rt
    try:
        done = self_service.confirm_mobile_change(
            rt.ctx,
            holder=page.session.subject,
            service_no=page.service_no,
            code=page.field("otp").strip(),
            caller=page.caller(),
            now=rt.now(),
        )
    except errors.WattWalletError as exc:
        status = 429 if isinstance(exc, errors.RateLimited) else 401
        return base.render(
            page,
            "mobile_otp.html",
            status=status,
            recipient=page.field("recipient")[:20],
            minutes=rt.ctx.policy.otp_valid_minutes,
            error=base.problem_text(page, exc, messages.KNOWN),
        )
    # Access goes with the number: this session (the old number's) ends here.
    remaining = account_views.held_by(rt.ctx, mobile=page.session.subject)
    if not remaining and page.token:
        sessions.revoke(rt.ctx, page.token, now=rt.now())
        page.set_cookie(base.SESSION_COOKIE, "")
    return base.render(
        page, "mobile_changed.html", new=phone.masked(done.new), service_no_done=done.service_no
    )


def channels(page: base.Page) -> Response:
    assert page.service_no is not None
    changes = {c: page.field(c) == "on" for c in sorted(preferences.SWITCHABLE)}
    try:
        preferences.choose(page.rt.ctx, service_no=page.service_no, changes=changes, now=page.rt.now())
    except errors.WattWalletError as exc:
        return show(page, error=base.problem_text(page, exc, messages.KNOWN), status=422)
    return show(page, notice=page._("Your choices are saved."))
