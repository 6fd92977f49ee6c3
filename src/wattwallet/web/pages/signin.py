"""Sign in (customer ID, then the OTP sent to the registered mobile), choosing a connection, signing
out, and the language switch every page carries."""

from __future__ import annotations

import urllib.parse

from starlette.responses import Response

from wattwallet.consumers import access as consumer_access
from wattwallet.consumers import account as account_views
from wattwallet.consumers import portal_views, registration, sessions
from wattwallet.domain import errors
from wattwallet.web import base, i18n, messages


def start(page: base.Page) -> Response:
    if page.session is not None:
        return base.redirect(page, "/connections")
    return base.redirect(page, "/sign-in")


def sign_in_form(page: base.Page) -> Response:
    if page.session is not None:
        return base.redirect(page, "/connections")
    return base.render(
        page, "sign_in.html", service_no_typed="", error=None, next=base.safe_next(page.query("next"))
    )


def request_otp(page: base.Page) -> Response:
    """Step 1: the customer ID. The OTP is queued whether or not the ID is registered; the page
    shows the number it goes to, masked (a made-up one for an unregistered ID)."""
    typed = page.field("service_no").strip()
    nxt = base.safe_next(page.field("next"))
    rt = page.rt
    try:
        consumer_access.request_sign_in_otp(rt.ctx, service_no=typed, caller=page.caller(), now=rt.now())
        hint = portal_views.recipient_hint(rt.ctx, service_no=typed, key=page.portal.key)
    except errors.WattWalletError as exc:
        return base.render(
            page,
            "sign_in.html",
            status=_status(exc),
            service_no_typed=typed,
            error=base.problem_text(page, exc, messages.KNOWN),
            next=nxt,
        )
    return base.render(
        page,
        "sign_in_otp.html",
        service_no_typed=typed,
        recipient=hint,
        minutes=rt.ctx.policy.otp_valid_minutes,
        error=None,
        next=nxt,
    )


def verify_otp(page: base.Page) -> Response:
    """Step 2: the OTP. A new session (and so a new session id) every time; any earlier session of
    this browser is ended."""
    typed = page.field("service_no").strip()
    nxt = base.safe_next(page.field("next"))
    rt = page.rt
    try:
        issued = consumer_access.sign_in(
            rt.ctx,
            service_no=typed,
            code=page.field("otp").strip(),
            caller=page.caller(),
            now=rt.now(),
            minutes=rt.settings.consumer_session_minutes,
        )
    except errors.WattWalletError as exc:
        try:
            hint = portal_views.recipient_hint(rt.ctx, service_no=typed, key=page.portal.key)
        except errors.WattWalletError:
            hint = ""
        # What was typed stays, except the OTP.
        return base.render(
            page,
            "sign_in_otp.html",
            status=_status(exc),
            service_no_typed=typed,
            recipient=hint,
            minutes=rt.ctx.policy.otp_valid_minutes,
            error=base.problem_text(page, exc, messages.KNOWN),
            next=nxt,
        )
    if page.token:
        sessions.revoke(rt.ctx, page.token, now=rt.now())
    page.set_cookie(base.SESSION_COOKIE, issued.token)
    page.token = issued.token
    target = nxt if nxt.startswith("/c/") else "/connections"
    return base.redirect(page, target)


def choose(page: base.Page) -> Response:
    assert page.session is not None
    held = account_views.held_by(page.rt.ctx, mobile=page.session.subject)
    if len(held) == 1:
        return base.redirect(page, f"/c/{held[0].service_no}/")
    return base.render(page, "connections.html", held=held)


def sign_out(page: base.Page) -> Response:
    if page.token:
        sessions.revoke(page.rt.ctx, page.token, now=page.rt.now())
    page.set_cookie(base.SESSION_COOKIE, "")
    page.session, page.token = None, None
    page.csrf = base.csrf_for(token=None, pre_session=page.csrf_cookie)
    return base.render(page, "signed_out.html")


def switch_language(page: base.Page) -> Response:
    """The switch on every page: remembered in the browser, and for a connection in view as the
    connection's own language (the one its messages and bills use)."""
    chosen = i18n.pick(page.field("lang")) or "en"
    back = base.safe_next(page.field("next"))
    page.set_cookie(base.LANG_COOKIE, chosen, 365 * 24 * 3600)
    service_no = _connection_of(back)
    if service_no and page.session is not None:
        try:
            number = consumer_access.check_owner(page.rt.ctx, page.session, service_no)
        except consumer_access.NotYourConnection:
            number = None
        if number:
            registration.set_language(page.rt.ctx, service_no=number, language=chosen, now=page.rt.now())
    return base.redirect(page, back)


def _connection_of(path: str) -> str | None:
    parts = urllib.parse.urlsplit(path).path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "c" and parts[2].isdigit() else None


def _status(exc: errors.WattWalletError) -> int:
    if isinstance(exc, errors.RateLimited):
        return 429
    if isinstance(exc, errors.Unauthenticated):
        return 401
    return 422
