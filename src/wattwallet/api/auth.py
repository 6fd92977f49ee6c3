"""Signing in: consumers by customer ID and OTP, staff by username and password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from wattwallet.api import deps, fields, problems
from wattwallet.consumers import access as consumer_access
from wattwallet.consumers import account as account_views
from wattwallet.consumers import sessions
from wattwallet.staff import accounts as staff

router = APIRouter(prefix="/auth", tags=["sign-in"])

ServiceNo = Annotated[str, Field(min_length=1, max_length=32, examples=["1122334455667"])]


class OtpRequest(BaseModel):
    service_no: ServiceNo


class OtpRequested(BaseModel):
    message: str = "If the customer ID is registered, an OTP has been sent to its registered mobile."
    expires_in_seconds: int


class ConsumerSignIn(BaseModel):
    service_no: ServiceNo
    otp: Annotated[str, Field(min_length=1, max_length=16, examples=["123456"])]


class Token(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: fields.Instant


class ConsumerToken(Token):
    connections: list[str]


class StaffSignIn(BaseModel):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class StaffToken(Token):
    role: str


@router.post("/otp", status_code=status.HTTP_202_ACCEPTED, summary="Send a sign-in OTP")
def request_otp(body: OtpRequest, rt: deps.RuntimeDep, caller: deps.CallerDep) -> OtpRequested:
    """The same answer, in the same time, whether or not the customer ID exists and whether or not
    a per-number limit will hold the OTP back: the request is queued and the text sent after the
    answer. 429 `otp_rate_limited` when this address has asked too often today (for any IDs)."""
    consumer_access.request_sign_in_otp(rt.ctx, service_no=body.service_no, caller=caller, now=rt.now())
    return OtpRequested(expires_in_seconds=rt.ctx.policy.otp_valid_minutes * 60)


@router.post("/session", summary="Sign in with the OTP")
def consumer_sign_in(body: ConsumerSignIn, rt: deps.RuntimeDep, caller: deps.CallerDep) -> ConsumerToken:
    """401 `otp_invalid` for any wrong, expired or used code; 429 `otp_guesses_rate_limited` when
    this address has given too many wrong codes today."""
    issued = consumer_access.sign_in(
        rt.ctx,
        service_no=body.service_no,
        code=body.otp,
        caller=caller,
        now=rt.now(),
        minutes=rt.settings.consumer_session_minutes,
    )
    owned = [c.service_no for c in account_views.held_by(rt.ctx, mobile=issued.session.subject)]
    return ConsumerToken(token=issued.token, expires_at=issued.session.expires_at, connections=owned)


@router.post("/staff/session", summary="Staff sign-in")
def staff_sign_in(body: StaffSignIn, rt: deps.RuntimeDep, caller: deps.CallerDep) -> StaffToken:
    """Wrong passwords lock the username for this address only, so no one can lock a colleague
    out from elsewhere."""
    s = rt.settings
    issued = staff.sign_in(
        rt.ctx,
        username=body.username,
        password=body.password,
        caller=caller,
        now=rt.now(),
        minutes=s.staff_session_minutes,
        max_failed=s.staff_max_failed_logins,
        lockout_minutes=s.staff_lockout_minutes,
    )
    return StaffToken(
        token=issued.token, expires_at=issued.session.expires_at, role=issued.session.role or ""
    )


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out (consumer or staff)")
def sign_out(rt: deps.RuntimeDep, credentials: deps.BearerDep) -> None:
    """Ends the session of the token given; signing out twice is harmless."""
    if credentials is None:
        raise problems.Unauthenticated("send the token to sign out: 'Authorization: Bearer <token>'")
    sessions.revoke(rt.ctx, credentials.credentials, now=rt.now())
