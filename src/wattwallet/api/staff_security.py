"""What staff are told about attacks on sign-in (issue 17): `GET /staff/security-alerts`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from wattwallet.api import deps
from wattwallet.api import staff_access as access
from wattwallet.consumers import security_alerts
from wattwallet.staff import accounts as staff

router = APIRouter(prefix="/staff", tags=["staff"])
Role = staff.Role


class SecurityAlert(BaseModel):
    id: int
    kind: str = Field(description="otp_guesses_used_up: a connection's wrong OTPs of the day are used up")
    service_no: str | None
    caller: str | None = Field(description="The client address whose attempt raised it")
    detail: str
    raised_at: access.Instant


@access.route(router, "GET", "/security-alerts", Role.HELPLINE)
def list_security_alerts(
    rt: deps.RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=security_alerts.MAX_LIMIT, description="At most this many")] = 100,
) -> list[SecurityAlert]:
    """The newest first. A connection whose wrong OTPs of the day are used up cannot sign in or
    confirm a mobile change with an OTP for up to 24 hours: if its owner calls, this is why."""
    return [
        SecurityAlert.model_validate(a, from_attributes=True)
        for a in security_alerts.recent(rt.ctx, limit=limit)
    ]
