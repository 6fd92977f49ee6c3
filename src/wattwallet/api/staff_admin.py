"""Staff administration: the working-day calendar, the compliance report and staff accounts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from wattwallet.api import deps
from wattwallet.api import staff_access as access
from wattwallet.staff import accounts as staff
from wattwallet.staff import desk as staff_desk
from wattwallet.staff import reports
from wattwallet.store import calendar_repo

router = APIRouter(prefix="/staff", tags=["staff"])
Role = staff.Role

From = Annotated[dt.date, Query(alias="from", description="First IST day of the period")]
To = Annotated[dt.date, Query(alias="to", description="Last IST day of the period (included)")]


class CalendarDayView(BaseModel):
    day: dt.date
    weekday: str = Field(examples=["Sun"])
    working: bool
    reason: str
    reason_te: str | None = Field(description="The holiday's name in Telugu, where the list gives it")
    source: str = Field(
        description=(
            "official (the G.O. shipped as data), circular (the DISCOM's imported list), computed "
            "(no official list for the year) or staff (a change made by staff)"
        )
    )
    reference: str | None = Field(description="The G.O., circular or order the day rests on")
    confirmed: bool = Field(description="False: the date is computed or not confirmed from its source")
    status: str = Field(
        description="confirmed, unconfirmed, or 'computed, not confirmed'", examples=["confirmed"]
    )
    updated_by: str | None
    updated_at: access.Instant

    @classmethod
    def of(cls, row: calendar_repo.CalendarDay) -> CalendarDayView:
        return cls(
            day=row.day,
            weekday=f"{row.day:%a}",
            working=row.working,
            reason=row.reason,
            reason_te=row.reason_te,
            source=row.source,
            reference=row.reference,
            confirmed=row.confirmed,
            status=row.status,
            updated_by=row.updated_by,
            updated_at=row.updated_at,
        )


class CalendarChange(access.Body):
    working: bool = Field(description="true: a working day; false: no disconnections that day")
    reason: str = Field(min_length=1, max_length=120, examples=["Declared holiday: cyclone"])


class ComplianceMeasure(BaseModel):
    total: int
    within: int
    percent: float | None = Field(description="None when there was nothing to measure")
    worst_minutes: float | None


class ComplianceBreaches(BaseModel):
    outside_window: list[str]
    without_warnings: list[str]
    backdated_recharges: list[str] = Field(
        description="Agent and counter recharges whose payment time was given as more than 15 minutes "
        "before they were recorded: receipt, channel, who, when paid, when recorded"
    )


class ComplianceReport(BaseModel):
    """The figures of `wattwallet report compliance --json` (DOMAIN.md §9)."""

    model_config = ConfigDict(populate_by_name=True)

    start: dt.date = Field(alias="from")
    end: dt.date = Field(alias="to")
    recharges_reflected_within_15_min: ComplianceMeasure
    reconnections_within_15_min_of_payment: ComplianceMeasure
    reconnection_complaints_resolved_within_4_h: ComplianceMeasure
    disconnections: int
    disconnections_outside_window: int = Field(description="Must be 0")
    disconnections_without_alerts_and_emergency_credit: int = Field(description="Must be 0")
    terminations: int
    backdated_recharges: int = Field(description="Agent and counter recharges back-dated (see breaches)")
    breaches: ComplianceBreaches


class NewStaffUser(access.Body):
    username: str = Field(
        min_length=3, max_length=64, description="a-z, 0-9, '.', '_' or '-', starting with a letter"
    )
    name: str = Field(min_length=1, max_length=120)
    role: staff.Role
    password: SecretStr = Field(min_length=12, max_length=256)


class StaffUser(BaseModel):
    username: str
    name: str
    role: staff.Role
    active: bool


@access.route(router, "GET", "/calendar")
def calendar_days(start: From, end: To, rt: deps.RuntimeDep) -> list[CalendarDayView]:
    """The non-working days and staff changes of a period (at most 366 days); any day not listed
    is a working day."""
    found = staff_desk.calendar_days(rt.ctx, start=start, end=end, now=rt.now())
    return [CalendarDayView.of(row) for row in found]


@access.route(router, "PUT", "/calendar/{day}")
def set_calendar_day(
    day: dt.date, body: CalendarChange, rt: deps.RuntimeDep, session: deps.StaffDep
) -> CalendarDayView:
    """Make a day a working day or not (a declared holiday); re-seeding the calendar keeps it."""
    row = staff_desk.set_calendar_day(
        rt.ctx, day=day, working=body.working, reason=body.reason, by=session.subject, now=rt.now()
    )
    return CalendarDayView.of(row)


@access.route(router, "GET", "/reports/compliance", Role.BILLING)
def compliance_report(start: From, end: To, rt: deps.RuntimeDep) -> ComplianceReport:
    """The service levels the system measures about itself for a period (DOMAIN.md §9)."""
    result = reports.compliance(rt.ctx, start=start, end=end, now=rt.now())
    return ComplianceReport.model_validate(result.as_dict())


@access.route(router, "POST", "/users", status_code=status.HTTP_201_CREATED)
def create_staff_user(body: NewStaffUser, rt: deps.RuntimeDep) -> StaffUser:
    """Create a staff account. The password is stored only as an argon2id hash and never shown."""
    made = staff.add(
        rt.ctx,
        username=body.username,
        name=body.name,
        role_name=body.role.value,
        password=body.password.get_secret_value(),
        now=rt.now(),
    )
    return StaffUser(username=made.username, name=made.name, role=made.role, active=made.active)
