"""The compliance report (DOMAIN.md §9), computed from what happened, never from settings.

For IST days [start, end]: recharges reflected within 15 minutes of payment; reconnections within
15 minutes of payment; reconnection complaints resolved within 4 hours; disconnections outside
the window (must be 0); disconnections not preceded by the three alerts and emergency credit
(must be 0); terminations. And, because the 15-minute measures count from a payment time that
agents and counters give themselves, every recharge recorded in the period whose payment time they
gave as more than 15 minutes back (`backdated`: who, when paid, when recorded).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import alerts, clock, disconnection, errors
from wattwallet.store import calendar_repo, schema
from wattwallet.wallet import recharges


class PeriodInvalid(errors.PeriodInvalid):
    """A report's period is empty or too long."""


@dataclasses.dataclass(frozen=True)
class Measure:
    total: int
    within: int
    worst_seconds: float | None

    @property
    def percent(self) -> float | None:
        return None if self.total == 0 else round(100 * self.within / self.total, 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "within": self.within,
            "percent": self.percent,
            "worst_minutes": None if self.worst_seconds is None else round(self.worst_seconds / 60, 2),
        }


@dataclasses.dataclass(frozen=True)
class Compliance:
    start: dt.date
    end: dt.date
    recharges_reflected: Measure
    reconnections: Measure
    complaints_resolved: Measure
    disconnections: int
    disconnections_outside_window: list[str]
    disconnections_without_warnings: list[str]
    terminations: int
    backdated: list[str] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "recharges_reflected_within_15_min": self.recharges_reflected.as_dict(),
            "reconnections_within_15_min_of_payment": self.reconnections.as_dict(),
            "reconnection_complaints_resolved_within_4_h": self.complaints_resolved.as_dict(),
            "disconnections": self.disconnections,
            "disconnections_outside_window": len(self.disconnections_outside_window),
            "disconnections_without_alerts_and_emergency_credit": len(self.disconnections_without_warnings),
            "terminations": self.terminations,
            "backdated_recharges": len(self.backdated),
            "breaches": {
                "outside_window": self.disconnections_outside_window,
                "without_warnings": self.disconnections_without_warnings,
                "backdated_recharges": self.backdated,
            },
        }


def compliance(ctx: Context, *, start: dt.date, end: dt.date, now: dt.datetime) -> Compliance:
    if end < start:
        raise PeriodInvalid(f"the period ends ({end}) before it starts ({start})")
    lower = dt.datetime.combine(start, dt.time(0), tzinfo=clock.IST)
    upper = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=clock.IST)
    cutoff = min(now, upper)
    rules = ctx.policy
    with ctx.store.read() as conn:
        r, h, c, e, t = (
            schema.recharges,
            schema.hes_commands,
            schema.complaints,
            schema.connection_events,
            schema.terminations,
        )
        reflected = _measure(
            [
                (row.paid_at, row.recorded_at)
                for row in conn.execute(
                    sa.select(r.c.paid_at, r.c.recorded_at).where(r.c.paid_at >= lower, r.c.paid_at < upper)
                )
            ],
            limit=dt.timedelta(minutes=rules.recharge_reflection_minutes),
            cutoff=cutoff,
        )
        reconnected = _measure(
            [
                (row.paid_at, row.confirmed_at)
                for row in conn.execute(
                    sa.select(h.c.paid_at, h.c.confirmed_at).where(
                        h.c.command == "reconnect",
                        h.c.paid_at >= lower,
                        h.c.paid_at < upper,
                        h.c.status != "superseded",
                    )
                )
            ],
            limit=dt.timedelta(minutes=rules.reconnection_minutes),
            cutoff=cutoff,
        )
        resolved = _measure(
            [
                (row.opened_at, row.resolved_at)
                for row in conn.execute(
                    sa.select(c.c.opened_at, c.c.resolved_at).where(
                        c.c.opened_at >= lower, c.c.opened_at < upper
                    )
                )
            ],
            limit=dt.timedelta(hours=rules.complaint_resolution_hours),
            cutoff=cutoff,
        )
        cuts = conn.execute(
            sa.select(e.c.service_no, e.c.at)
            .where(e.c.to_state == "disconnected", e.c.at >= lower, e.c.at < upper)
            .order_by(e.c.at)
        ).all()
        days = calendar_repo.load(
            conn, start=start - dt.timedelta(days=1), end=end + dt.timedelta(days=1), now=now
        )
        outside = [
            _label(row) for row in cuts if not disconnection.in_disconnection_window(row.at, days, rules)
        ]
        required = {level.kind for level in alerts.levels(adc=0, rules=rules)}
        unwarned = [_label(row) for row in cuts if not _warned(conn, row.service_no, row.at, required)]
        ended = conn.execute(
            sa.select(sa.func.count()).select_from(t).where(t.c.at >= lower, t.c.at < upper)
        ).scalar_one()
        backdated = _backdated(conn, lower, upper, dt.timedelta(minutes=rules.recharge_reflection_minutes))
    return Compliance(
        start, end, reflected, reconnected, resolved, len(cuts), outside, unwarned, ended, backdated
    )


def _backdated(conn: Connection, lower: dt.datetime, upper: dt.datetime, allowed: dt.timedelta) -> list[str]:
    """Agent and counter recharges recorded in [lower, upper) whose given payment time is more than
    `allowed` before they were recorded, oldest first, each naming who gave it."""
    r, k = schema.recharges, schema.counter_collections
    in_person = [channel.value for channel in recharges.TAKEN_IN_PERSON]
    rows = conn.execute(
        sa.select(r.c.id, r.c.channel, r.c.reference, r.c.paid_at, r.c.recorded_at, k.c.taken_by)
        .select_from(r.outerjoin(k, sa.and_(r.c.channel == "counter", k.c.reference == r.c.reference)))
        .where(r.c.channel.in_(in_person), r.c.recorded_at >= lower, r.c.recorded_at < upper)
        .order_by(r.c.recorded_at, r.c.id)
    ).all()
    found = []
    for row in rows:
        back = row.recorded_at - row.paid_at
        if back <= allowed:
            continue
        who = (
            f"executive {row.taken_by}"
            if row.channel == "counter"
            else f"agent {row.reference.split('/')[0]}"
        )
        found.append(
            f"{recharges.receipt_number(row.id)} ({row.channel}, {who}): paid {clock.ist_iso(row.paid_at)}, "
            f"recorded {clock.ist_iso(row.recorded_at)}, {round(back.total_seconds() / 3600, 2)} hours back"
        )
    return found


def _measure(
    pairs: list[tuple[dt.datetime, dt.datetime | None]], *, limit: dt.timedelta, cutoff: dt.datetime
) -> Measure:
    """Each pair is (start, done or None); an unfinished one counts as late once past the limit."""
    within, worst = 0, None
    for started, done in pairs:
        took = (done if done is not None else cutoff) - started
        if done is not None and took <= limit:
            within += 1
        elif done is None and took <= limit:
            within += 1  # still inside its time: not (yet) a breach
        worst = took.total_seconds() if worst is None else max(worst, took.total_seconds())
    return Measure(len(pairs), within, worst)


def _warned(conn: Connection, service_no: str, at: dt.datetime, required: set[str]) -> bool:
    """The three alerts and the emergency-credit notice went out since the supply was last restored."""
    e, a, n = schema.connection_events, schema.alerts, schema.notifications
    since = conn.execute(
        sa.select(sa.func.max(e.c.at)).where(
            e.c.service_no == service_no, e.c.to_state == "active", e.c.at < at
        )
    ).scalar() or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    kinds = set(
        conn.execute(
            sa.select(a.c.kind).where(a.c.service_no == service_no, a.c.sent_at >= since, a.c.sent_at <= at)
        ).scalars()
    )
    credit = conn.execute(
        sa.select(n.c.id)
        .where(
            n.c.service_no == service_no,
            n.c.kind == "emergency_credit",
            n.c.created_at >= since,
            n.c.created_at <= at,
        )
        .limit(1)
    ).first()
    return required <= kinds and credit is not None


def _label(row: Any) -> str:
    return f"{row.service_no} at {clock.ist_iso(row.at)}"
