"""The staff routes under /staff: DISCOM executives at the 1912 helpline, service-centre counters,
billing, field teams and administrators, each role allowed only what it is for (see
`staff_access`)."""

from __future__ import annotations

from fastapi import APIRouter

from wattwallet.api import (
    staff_admin,
    staff_connections,
    staff_hes,
    staff_postpaid,
    staff_queues,
    staff_security,
)

router = APIRouter()
for part in (
    staff_connections.router,
    staff_postpaid.router,
    staff_queues.router,
    staff_hes.router,
    staff_admin.router,
    staff_security.router,
):
    router.include_router(part)
