"""Recharge: the rules first (first-recharge minimum, multiples of ₹100, what goes to dues), then a
payment intent (the same call as the API's, so a refused amount is refused before paying), then the
payment gateway's checkout page, and back to the receipt with the reconnection tracker."""

from __future__ import annotations

import urllib.parse

from starlette.responses import Response

from wattwallet.consumers import account as account_views
from wattwallet.consumers import portal_views
from wattwallet.domain import errors, money, recharge
from wattwallet.wallet import payments
from wattwallet.web import base, messages


def _wallet(page: base.Page) -> account_views.Wallet:
    assert page.service_no is not None
    return account_views.wallet(page.rt.ctx, service_no=page.service_no, now=page.rt.now())


def form(page: base.Page, *, typed: str = "", error: str | None = None, status: int = 200) -> Response:
    wallet = _wallet(page)
    rules = page.rt.ctx.policy
    suggested = typed or page.query("amount")
    return base.render(
        page,
        "recharge.html",
        status=status,
        wallet=wallet,
        step=rules.recharge_multiple_paise,
        minimum=rules.recharge_minimum_paise,
        dues_share=rules.dues_max_share_percent,
        typed=suggested if suggested.replace(".", "", 1).isdigit() else "",
        error=error,
        online=page.portal.settings.checkout_url is not None,
    )


def show(page: base.Page) -> Response:
    return form(page)


def start(page: base.Page) -> Response:
    """Create the intent; the page then shows the split and the way to the gateway's checkout."""
    assert page.service_no is not None and page.session is not None
    rt = page.rt
    typed = page.field("amount").strip()
    if page.portal.settings.checkout_url is None:
        return form(page, typed=typed, error=page._("Online payment is not available just now."), status=503)
    try:
        paise = money.parse_rupees(typed)
        intent = payments.create_intent(
            rt.ctx,
            service_no=page.service_no,
            amount_paise=paise,
            channel="portal",
            now=rt.now(),
            minutes=rt.settings.payment_intent_minutes,
            limit=payments.IntentLimit(
                holder=page.session.subject,
                count=rt.settings.payment_intents_per_window,
                window_minutes=rt.settings.payment_intent_window_minutes,
            ),
        )
    except errors.WattWalletError as exc:
        status = 429 if isinstance(exc, errors.RateLimited) else 422
        return form(page, typed=typed, error=base.problem_text(page, exc, messages.KNOWN), status=status)
    wallet = _wallet(page)
    split = recharge.split(amount_paise=intent.amount, dues_paise=max(0, wallet.dues), rules=rt.ctx.policy)
    origin = page.portal.settings.public_url or str(page.request.base_url)
    back = origin.rstrip("/") + page.url(f"recharge/{intent.id}")
    checkout = (
        page.portal.settings.checkout_url
        + "?"
        + urllib.parse.urlencode({"intent": intent.id, "amount_paise": intent.amount, "return": back})
    )
    return base.render(
        page, "recharge_confirm.html", intent=intent, split=split, checkout=checkout, wallet=wallet
    )


def receipt(page: base.Page) -> Response:
    """Where the payment has got: paid -> credited -> reconnect sent -> relay closed."""
    assert page.service_no is not None
    rt = page.rt
    intent_id = str(page.request.path_params["intent_id"])
    track = portal_views.tracker(rt.ctx, service_no=page.service_no, intent_id=intent_id)
    intent = payments.get_intent(rt.ctx, intent_id=intent_id)
    found = None
    if intent.receipt_no:
        found = next(
            (
                r
                for r in account_views.recharge_history(rt.ctx, service_no=page.service_no, limit=20)
                if r.receipt_no == intent.receipt_no
            ),
            None,
        )
    wallet = _wallet(page)
    needs_reconnect = track.reconnect_status is not None
    done = intent.status == payments.FAILED or (
        found is not None and (not needs_reconnect or track.relay_closed_at is not None)
    )
    fragment = page.query("part") == "tracker"
    return base.render(
        page,
        "tracker_part.html" if fragment else "receipt.html",
        intent=intent,
        expired=intent.expired(rt.now()),
        track=track,
        receipt=found,
        wallet=wallet,
        needs_reconnect=needs_reconnect,
        done=done,
    )
