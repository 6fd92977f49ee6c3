"""Staff work queues: reconnection complaints, the disconnection queue, failing HES commands and
held consumption (both databases)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from tests.api.conftest import Api
from tests.api.test_staff_support import Desk, refused
from tests.conftest import table_counts
from wattwallet.domain import clock
from wattwallet.domain import readings as reading_rules
from wattwallet.hes import commands
from wattwallet.lifecycle import daily_cycle, readings
from wattwallet.store import schema


@pytest.fixture
def desk(api: Api) -> Desk:
    return Desk(api)


def ist(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=clock.IST)


def read_and_bill(api: Api, meter: str, at: str, kwh: str, *, cycle_at: str) -> None:
    """A reading taken at IST `at` (reported five minutes later), then the daily cycle."""
    taken = ist(at)
    readings.record(
        api.ctx,
        [reading_rules.parse(meter_serial=meter, read_at=taken, kwh=kwh)],
        now=taken + dt.timedelta(minutes=5),
    )
    api.clock.now = ist(cycle_at)
    daily_cycle.run(api.ctx, now=api.clock.now)


def test_helpline_complaints_queue_with_deadlines(api: Api, desk: Desk, consumer: Any) -> None:
    service_no, _ = consumer(1)
    other, _ = consumer(2)
    docket = "1912/2025/0042"  # a docket number with slashes, as the helpline issues them
    opened = desk("helpline", "POST", f"/connections/{service_no}/complaints", json={"ref": docket})
    assert opened.status_code == 201, opened.text
    complaint = opened.json()
    assert dt.datetime.fromisoformat(complaint.pop("opened_at")) == api.clock.now
    assert dt.datetime.fromisoformat(complaint.pop("due_at")) == api.clock.now + dt.timedelta(hours=4)
    assert complaint == {
        "ref": docket,
        "service_no": service_no,
        "kind": "reconnection",
        "source": "helpline",
        "resolved_at": None,
        "resolution": None,
        "overdue": False,
        "replayed": False,
    }
    again = desk("helpline", "POST", f"/connections/{service_no}/complaints", json={"ref": docket})
    assert (again.status_code, again.json()["replayed"]) == (200, True)
    clash = desk("helpline", "POST", f"/connections/{other}/complaints", json={"ref": docket})
    refused(clash, 409, "duplicate_conflict")
    refused(
        desk("helpline", "POST", "/connections/9999999999999/complaints", json={"ref": "D9"}),
        404,
        "unknown_connection",
    )

    [queued] = desk("service_centre", "GET", "/complaints").json()
    assert (queued["ref"], queued["overdue"]) == (docket, False)
    api.clock.advance(hours=4, minutes=1)
    [queued] = desk("service_centre", "GET", "/complaints").json()
    assert queued["overdue"] is True

    path = f"/complaints/{docket}/resolve"
    refused(desk("helpline", "POST", path, json={"note": ""}), 422, "request_invalid")
    refused(
        desk("helpline", "POST", "/complaints/NO-SUCH/resolve", json={"note": "x"}), 404, "unknown_complaint"
    )
    resolved = desk("helpline", "POST", path, json={"note": "relay closed from the HES console"})
    assert resolved.status_code == 200, resolved.text
    done = resolved.json()
    assert dt.datetime.fromisoformat(done["resolved_at"]) == api.clock.now
    assert (done["resolution"], done["overdue"], done["replayed"]) == ("staff", True, False)
    with api.ctx.store.read() as conn:
        row = conn.execute(sa.select(schema.complaints).where(schema.complaints.c.ref == docket)).one()
    assert (row.resolved_by, row.resolution_note) == ("helpline.user", "relay closed from the HES console")

    api.clock.advance(minutes=5)
    repeat = desk("helpline", "POST", path, json={"note": "again"}).json()
    assert repeat["replayed"] is True and repeat["resolved_at"] == done["resolved_at"]
    assert desk("helpline", "GET", "/complaints").json() == []
    assert [
        c["ref"] for c in desk("helpline", "GET", "/complaints", params={"open_only": "false"}).json()
    ] == [docket]


def test_disconnection_queue_and_hes_failures(api: Api, desk: Desk, consumer: Any) -> None:
    service_no, _ = consumer(1, meter_serial="SM-Q1")
    assert desk("field", "GET", "/disconnections/queue").json() == []
    assert desk("billing", "GET", "/hes/failures").json() == []

    # No recharge: one day of 40 kWh crosses every alert and the emergency credit (₹20) at once.
    read_and_bill(api, "SM-Q1", "2025-06-03T00:05", "40", cycle_at="2025-06-03T06:00")
    api.clock.now = ist("2025-06-03T08:00")
    [entry] = desk("field", "GET", "/disconnections/queue").json()
    assert entry == {
        "service_no": service_no,
        "balance_paise": -10_606,
        "emergency_credit_paise": 2_000,
        "due_at": "2025-06-03T06:00:00+05:30",
        "zero_alert_at": "2025-06-03T06:00:00+05:30",
        # A full day after the zero-balance alert, then the next window on a working day.
        "earliest": "2025-06-04T10:00:00+05:30",
        "ready": False,
        "on_hold": False,
        "command_id": None,
        "command_status": None,
    }
    overview = desk("field", "GET", f"/connections/{service_no}").json()
    assert (overview["balance_paise"], overview["disconnect_due_at"]) == (
        -10_606,
        "2025-06-03T06:00:00+05:30",
    )
    api.clock.now = ist("2025-06-04T10:00")
    assert desk("billing", "GET", "/disconnections/queue").json()[0]["ready"] is True

    with api.ctx.store.write() as conn:
        commands.lock(conn, service_no)
        command_id = commands.issue(
            conn,
            service_no=service_no,
            meter_serial="SM-Q1",
            action=commands.DISCONNECT,
            reason="test",
            now=api.clock.now,
        )
    [entry] = desk("field", "GET", "/disconnections/queue").json()
    assert (entry["command_id"], entry["command_status"]) == (command_id, "pending")
    with api.ctx.store.write() as conn:
        h = schema.hes_commands
        conn.execute(
            sa.update(h)
            .where(h.c.id == command_id)
            .values(status="failed", attempts=5, last_error="no response", next_attempt_at=None)
        )
    [failed] = desk("field", "GET", "/hes/failures").json()
    assert (failed["id"], failed["service_no"], failed["command"]) == (command_id, service_no, "disconnect")
    assert (failed["status"], failed["attempts"], failed["last_error"]) == ("failed", 5, "no response")
    assert failed["created_at"] == "2025-06-04T10:00:00+05:30"


def test_billing_reviews_held_consumption(api: Api, desk: Desk, consumer: Any) -> None:
    service_no, _ = consumer(1, meter_serial="SM-H1")
    # 1000 kWh in a day on a 2 kW connection (at most 72 kWh is plausible): held, not deducted.
    read_and_bill(api, "SM-H1", "2025-06-03T00:05", "1000", cycle_at="2025-06-03T06:00")
    [held] = desk("billing", "GET", "/holds").json()
    hold_id = held.pop("id")
    assert held == {
        "service_no": service_no,
        "kind": "implausible",
        "from_date": "2025-06-02",
        "to_date": "2025-06-02",
        "units_wh": 1_000_000,
        "status": "open",
        "created_at": "2025-06-03T06:00:00+05:30",
    }
    assert desk("billing", "GET", f"/connections/{service_no}").json()["open_holds"] == 1

    refused(desk("billing", "POST", f"/holds/{hold_id}/dismiss", json={}), 422, "request_invalid")
    dismissed = desk("billing", "POST", f"/holds/{hold_id}/dismiss", json={"note": "meter fault"})
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["status"] == "dismissed"
    before = table_counts(api.ctx.store)
    again = desk("billing", "POST", f"/holds/{hold_id}/dismiss", json={"note": "meter fault"})
    refused(again, 409, "hold_already_reviewed")
    refused(desk("billing", "POST", "/holds/999/release", json={"note": "x"}), 404, "unknown_hold")
    assert table_counts(api.ctx.store) == before
    assert desk("billing", "GET", "/holds").json() == []
    assert [h["status"] for h in desk("billing", "GET", "/holds", params={"open_only": False}).json()] == [
        "dismissed"
    ]

    read_and_bill(api, "SM-H1", "2025-06-04T00:05", "1100", cycle_at="2025-06-04T06:00")  # 100 kWh: held
    [second] = desk("billing", "GET", "/holds").json()
    released = desk("billing", "POST", f"/holds/{second['id']}/release", json={"note": "AC installed"})
    assert released.status_code == 200, released.text
    # Energy on 100 units from the month's first slab (₹304.50), duty ₹6.00 and FPPCA ₹40.00; the
    # wallet was at zero (no recharge) less the two held days' fixed charges (2 x ₹0.66).
    body = released.json()
    assert (body["status"], body["deducted_paise"], body["balance_paise"]) == ("released", 35_050, -35_182)
    with api.ctx.store.read() as conn:
        h = schema.held_consumption
        reviewers = conn.execute(sa.select(h.c.reviewed_by).order_by(h.c.id)).scalars().all()
    assert reviewers == ["billing.user", "billing.user"]
