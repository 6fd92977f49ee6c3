"""What the head-end link could not take, for the field team and billing: messages it refused
(malformed, unknown meter, unknown command) and meters whose relay contradicts the connection's
state, with what the link did about each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from wattwallet.api import deps
from wattwallet.api import staff_access as access
from wattwallet.hes.mqtt import rejects, relay
from wattwallet.staff import accounts as staff

router = APIRouter(prefix="/staff", tags=["staff"])
Role = staff.Role
Limit = Annotated[int, Query(ge=1, le=500, description="At most this many, newest first")]


class HesReject(BaseModel):
    id: int
    received_at: access.Instant
    topic: str
    kind: str = Field(description="reading, ack, relay or other")
    msg_id: str | None
    meter_serial: str | None
    reason: str = Field(description="A machine-readable code (docs/hes-mqtt.md lists them)")
    detail: str
    payload: str = Field(description="As received, cut to its first few kilobytes")


class RelayMismatch(BaseModel):
    id: int
    service_no: str
    meter_serial: str
    reported_relay: str
    expected_relay: str
    connection_state: str
    cause: str
    reported_at: access.Instant
    detected_at: access.Instant
    action: str = Field(description="reconnect_issued, back_to_window or staff")
    command_id: str | None
    resolved_at: access.Instant | None
    resolution: str | None


@access.route(router, "GET", "/hes/rejects", Role.FIELD, Role.BILLING)
def hes_rejects(rt: deps.RuntimeDep, limit: Limit = 100, reason: str | None = None) -> list[HesReject]:
    """Messages from the head end that were refused and kept (nothing is dropped silently)."""
    return [HesReject.model_validate(row) for row in rejects.recent(rt.ctx, limit=limit, reason=reason)]


@access.route(router, "GET", "/hes/relay-mismatches", Role.FIELD, Role.BILLING)
def relay_mismatches(rt: deps.RuntimeDep, limit: Limit = 100, open_only: bool = True) -> list[RelayMismatch]:
    """Meters whose reported relay contradicts the connection's state, and the command that followed."""
    found = relay.mismatches(rt.ctx, open_only=open_only, limit=limit)
    return [RelayMismatch.model_validate(row) for row in found]
