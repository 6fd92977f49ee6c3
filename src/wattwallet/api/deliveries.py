"""Message delivery over HTTP: staff see the dead letters and send them again; a consumer chooses the
channels (SMS, WhatsApp, app) their messages come by."""

from __future__ import annotations

from typing import Annotated, Literal, Self, cast

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, model_validator

from wattwallet.api import consumer, deps, fields
from wattwallet.api import staff_access as access
from wattwallet.messaging import deliveries, preferences
from wattwallet.staff import accounts as staff

Role = staff.Role
Channel = Literal["sms", "whatsapp", "app"]

staff_router = APIRouter(prefix="/staff", tags=["staff"])
consumer_router = APIRouter(prefix="/me", tags=["consumer"])
router = APIRouter()


# --- Staff: dead letters ---------------------------------------------------------------------


class DeliveryView(BaseModel):
    id: int
    notification_id: int
    service_no: str
    kind: str = Field(examples=["zero_balance"])
    language: str = Field(examples=["en", "te"])
    channel: Channel
    status: str = Field(description="pending, sending, sent, failed (retried later) or dead (given up)")
    recipient: str = Field(description="Masked number, or the app", examples=["+91XXXXXX3210"])
    attempts: int
    last_error: str | None = Field(description="The gateway's last refusal or failure")
    next_attempt_at: fields.Instant | None
    created_at: fields.Instant
    updated_at: fields.Instant
    retried_by: str | None = Field(description="The staff member who last sent it again")

    @classmethod
    def of(cls, d: deliveries.Delivery) -> Self:
        return cls(
            id=d.id,
            notification_id=d.notification_id,
            service_no=d.service_no,
            kind=d.kind,
            language=d.language,
            channel=cast(Channel, d.channel),  # the table's check keeps it to the three
            status=d.status,
            recipient=d.recipient,
            attempts=d.attempts,
            last_error=d.last_error,
            next_attempt_at=d.next_attempt_at,
            created_at=d.created_at,
            updated_at=d.updated_at,
            retried_by=d.retried_by,
        )


@access.route(staff_router, "GET", "/deliveries/dead", Role.HELPLINE)
def dead_letters(
    rt: deps.RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=deliveries.MAX_LIMIT, description="At most this many")] = 100,
) -> list[DeliveryView]:
    """Messages given up on (refused by the gateway, or out of attempts), most recent first, with
    the last error: what a consumer who says "I got no SMS" did not get."""
    return [DeliveryView.of(d) for d in deliveries.dead_letters(rt.ctx, limit=limit)]


@access.route(staff_router, "POST", "/deliveries/{delivery_id}/retry", Role.HELPLINE)
def send_again(delivery_id: fields.RowId, rt: deps.RuntimeDep, session: deps.StaffDep) -> DeliveryView:
    """Send a dead message again (e.g. after the number or the gateway was fixed): back to pending
    with a fresh set of attempts; the signed-in staff member is on record. Only dead ones: 409
    `delivery_not_dead` otherwise."""
    done = deliveries.send_again(rt.ctx, delivery_id=delivery_id, by=session.subject, now=rt.now())
    return DeliveryView.of(done)


# --- Consumer: channel opt-ins ---------------------------------------------------------------


class ChannelState(BaseModel):
    channel: Channel
    enabled: bool
    can_turn_off: bool = Field(description="False for SMS: statutory notices and OTPs always go by SMS")


class Channels(BaseModel):
    service_no: str
    channels: list[ChannelState]
    always_by_sms: list[str] = Field(
        description="Message kinds that go by SMS whatever is chosen here",
        examples=[["zero_balance", "disconnected", "otp_sign_in"]],
    )

    @classmethod
    def of(cls, choices: preferences.Choices) -> Self:
        return cls(
            service_no=choices.service_no,
            channels=[
                ChannelState(
                    channel=c,
                    enabled=choices.enabled[c],
                    can_turn_off=c in preferences.SWITCHABLE,
                )
                for c in preferences.CHANNELS
            ],
            always_by_sms=sorted(preferences.MANDATORY_KINDS),
        )


class ChannelChoice(access.Body):
    """The channels to change; those left out stay as they are."""

    sms: bool | None = Field(None, description="Cannot be false (422 `channel_mandatory`)")
    whatsapp: bool | None = Field(None, description="WhatsApp Business messages to the registered mobile")
    app: bool | None = Field(None, description="Push notifications in the app")

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.sms is None and self.whatsapp is None and self.app is None:
            raise ValueError("name at least one of sms, whatsapp, app")
        return self


@consumer_router.get(f"{consumer.CONNECTION}/channels", summary="The channels messages come by")
def channels(number: consumer.Owned, rt: deps.RuntimeDep) -> Channels:
    return Channels.of(preferences.get(rt.ctx, service_no=number))


@consumer_router.put(f"{consumer.CONNECTION}/channels", summary="Turn WhatsApp or app messages on or off")
def choose_channels(number: consumer.Owned, body: ChannelChoice, rt: deps.RuntimeDep) -> Channels:
    """WhatsApp needs opting in; the app is on until turned off. SMS cannot be turned off: OTPs,
    balance alerts, disconnection, short-bill and mobile-change notices always go by SMS (422
    `channel_mandatory`, and nothing changes). Applies to messages from now on."""
    changes = {
        name: value
        for name, value in body.model_dump().items()
        if name in preferences.CHANNELS and value is not None
    }
    return Channels.of(preferences.choose(rt.ctx, service_no=number, changes=changes, now=rt.now()))


router.include_router(staff_router)
router.include_router(consumer_router)
