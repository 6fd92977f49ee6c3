"""Online recharges: a consumer's payment intent, and the payment gateway's signed webhook."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import pydantic
from fastapi import APIRouter, Depends, Header, Request, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from wattwallet.api import deps, fields
from wattwallet.billing import postpaid_payments
from wattwallet.consumers import access as consumer_access
from wattwallet.domain import errors
from wattwallet.wallet import payments

router = APIRouter(tags=["payments"])

WEBHOOK_BODY_LIMIT = 64 * 1024
Paise = fields.Paise


class PaymentTooLarge(errors.WattWalletError):
    code = "payload_too_large"
    http_status = 413


class IntentRequest(BaseModel):
    amount_paise: Paise
    channel: Literal["portal", "app"] = Field(description="Where the consumer pays: the portal or the app")


class IntentProblem(BaseModel):
    code: str
    detail: str
    refund_due: bool = Field(description="Paid but not credited: the DISCOM refunds it")


class PaymentIntent(BaseModel):
    id: str
    service_no: str
    channel: str
    amount_paise: int
    status: Literal["created", "succeeded", "failed", "expired"]
    created_at: dt.datetime
    expires_at: dt.datetime
    paid_at: dt.datetime | None
    receipt_no: str | None
    problem: IntentProblem | None = None


class GatewayEvent(BaseModel):
    """What the gateway posts (signed; see X-Gateway-Signature)."""

    model_config = ConfigDict(extra="ignore")

    event_id: Annotated[str, Field(min_length=1, max_length=64)]
    type: Annotated[str, Field(min_length=1, max_length=32, examples=[payments.SUCCEEDED_EVENT])]
    intent_id: Annotated[str, Field(min_length=1, max_length=40)]
    amount_paise: Paise
    paid_at: AwareDatetime | None = Field(None, description="When the payer paid (payment.succeeded)")
    gateway_payment_id: Annotated[str | None, Field(max_length=64)] = None


class WebhookAnswer(BaseModel):
    event_id: str
    intent_id: str
    result: Literal["credited", "refused", "payment_failed", "ignored"]
    intent_status: str | None
    receipt_no: str | None = None
    code: str | None = None
    detail: str | None = None
    refund_due: bool = False
    replayed: bool = Field(False, description="This event id was taken before: its stored outcome")


def _utc(instant: dt.datetime | None) -> dt.datetime | None:
    """One form for every instant answered, whether just computed or read back from the store."""
    return None if instant is None else instant.astimezone(dt.UTC)


def _intent_out(intent: payments.Intent, now: dt.datetime) -> PaymentIntent:
    problem = intent.problem
    return PaymentIntent(
        id=intent.id,
        service_no=intent.service_no,
        channel=intent.channel.value,
        amount_paise=intent.amount,
        status="expired" if intent.expired(now) else intent.status,
        created_at=intent.created_at.astimezone(dt.UTC),
        expires_at=intent.expires_at.astimezone(dt.UTC),
        paid_at=_utc(intent.paid_at),
        receipt_no=intent.receipt_no,
        problem=IntentProblem(code=problem.code, detail=problem.detail, refund_due=problem.refund_due)
        if problem
        else None,
    )


@router.post(
    "/me/connections/{service_no}/payment-intents",
    status_code=status.HTTP_201_CREATED,
    summary="Start an online recharge",
)
def create_payment_intent(
    service_no: str, body: IntentRequest, rt: deps.RuntimeDep, session: deps.ConsumerDep
) -> PaymentIntent:
    """Checks the recharge rules now (first recharge at least the minimum, later ones multiples of
    ₹100), so a recharge that would be refused is refused before the consumer pays. For a postpaid
    connection the intent pays its bills (any amount of at least ₹1, oldest bill first). One consumer
    may start a limited number per window (429 `payment_intents_rate_limited`, with Retry-After)."""
    number = consumer_access.check_owner(rt.ctx, session, service_no)
    now = rt.now()
    intent = payments.create_intent(
        rt.ctx,
        service_no=number,
        amount_paise=body.amount_paise,
        channel=body.channel,
        now=now,
        minutes=rt.settings.payment_intent_minutes,
        limit=payments.IntentLimit(
            holder=session.subject,
            count=rt.settings.payment_intents_per_window,
            window_minutes=rt.settings.payment_intent_window_minutes,
        ),
        check=postpaid_payments.check_online,
    )
    return _intent_out(intent, now)


@router.get("/me/payment-intents/{intent_id}", summary="An online recharge's progress")
def get_payment_intent(intent_id: str, rt: deps.RuntimeDep, session: deps.ConsumerDep) -> PaymentIntent:
    intent = payments.get_intent(rt.ctx, intent_id=intent_id)
    try:
        consumer_access.check_owner(rt.ctx, session, intent.service_no)
    except consumer_access.NotYourConnection:
        raise payments.IntentNotFound("no such payment intent among yours") from None
    return _intent_out(intent, rt.now())


async def webhook_body(request: Request) -> bytes:
    """The raw bytes the signature covers, refused past the limit before they are all read."""
    declared = request.headers.get("content-length", "")
    too_large = PaymentTooLarge(f"a webhook body is at most {WEBHOOK_BODY_LIMIT} bytes")
    if declared.isdigit() and int(declared) > WEBHOOK_BODY_LIMIT:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > WEBHOOK_BODY_LIMIT:
            raise too_large
    return bytes(body)


def _parse_event(body: bytes) -> payments.Event:
    try:
        found = GatewayEvent.model_validate_json(body)
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise payments.EventInvalid(f"the event is not understood: {problems}") from None
    return payments.Event(
        event_id=found.event_id,
        type=found.type,
        intent_id=found.intent_id,
        amount=found.amount_paise,
        paid_at=found.paid_at,
        gateway_payment_id=found.gateway_payment_id,
    )


_EVENT_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": GatewayEvent.model_json_schema()}},
    }
}


@router.post("/payments/webhook", summary="The payment gateway's events", openapi_extra=_EVENT_SCHEMA)
def gateway_webhook(
    rt: deps.RuntimeDep,
    body: Annotated[bytes, Depends(webhook_body)],
    signature: Annotated[
        str | None,
        Header(
            alias="X-Gateway-Signature",
            description="t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.' + raw body)>",
        ),
    ] = None,
) -> WebhookAnswer:
    """200 for every event taken (credited, refused for a refund, failed, or a replay answered with
    its stored outcome) so that the gateway stops retrying; 401 for a bad or stale signature; 422 for
    an amount other than the intent's (left for staff)."""
    now = rt.now()
    secret = rt.settings.gateway_webhook_secret
    payments.verify_signature(
        secret=secret.get_secret_value() if secret else None,
        header=signature,
        body=body,
        now=now,
        tolerance_seconds=rt.settings.webhook_tolerance_seconds,
    )
    outcome = payments.take_event(
        rt.ctx, event=_parse_event(body), now=now, credit=postpaid_payments.credit_online
    )
    return WebhookAnswer(
        event_id=outcome.event_id,
        intent_id=outcome.intent_id,
        result=outcome.result,
        intent_status=outcome.intent_status,
        receipt_no=outcome.receipt_no,
        code=outcome.code,
        detail=outcome.detail,
        refund_due=outcome.refund_due,
        replayed=outcome.replayed,
    )
