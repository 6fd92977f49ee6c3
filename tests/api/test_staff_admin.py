"""Staff administration: the working-day calendar, the compliance report and staff accounts (both
databases)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.api.conftest import Api
from tests.api.test_staff_support import Desk, refused
from tests.conftest import table_counts
from wattwallet.cli import common
from wattwallet.cli import main as cli
from wattwallet.domain import clock
from wattwallet.domain import readings as reading_rules
from wattwallet.lifecycle import daily_cycle, readings
from wattwallet.store import schema


@pytest.fixture
def desk(api: Api) -> Desk:
    return Desk(api)


def ist(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=clock.IST)


def test_admin_keeps_the_calendar_and_the_rules_follow_it(api: Api, desk: Desk, consumer: Any) -> None:
    august = {"from": "2025-08-01", "to": "2025-08-31"}
    listed = desk("admin", "GET", "/calendar", params=august)
    assert listed.status_code == 200, listed.text
    days = {d["day"]: d for d in listed.json()}
    assert days["2025-08-15"] | {"updated_at": None, "reference": None} == {
        "day": "2025-08-15",
        "weekday": "Fri",
        "working": False,
        "reason": "Independence Day",
        "reason_te": "స్వాతంత్ర్య దినోత్సవం",
        "source": "official",
        "reference": None,
        "confirmed": True,
        "status": "confirmed",
        "updated_by": None,
        "updated_at": None,
    }
    assert days["2025-08-15"]["reference"].startswith("G.O.Rt.No.2115, GA (Political.B) Dept, 06-12-2024")
    assert {"2025-08-03", "2025-08-09", "2025-08-10", "2025-08-31"} <= set(days)  # Sundays, 2nd Saturday
    assert all(d["working"] is False for d in days.values()) and all(
        "2025-08-01" <= d <= "2025-08-31" for d in days
    )

    cyclone = desk(
        "admin", "PUT", "/calendar/2025-08-18", json={"working": False, "reason": "Declared holiday: cyclone"}
    )
    assert cyclone.status_code == 200, cyclone.text
    row = cyclone.json()
    assert dt.datetime.fromisoformat(row.pop("updated_at")) == api.clock.now
    assert row == {
        "day": "2025-08-18",
        "weekday": "Mon",
        "working": False,
        "reason": "Declared holiday: cyclone",
        "reason_te": None,
        "source": "staff",
        "reference": None,
        "confirmed": True,
        "status": "confirmed",
        "updated_by": "admin.user",
    }
    drive = desk(
        "admin", "PUT", "/calendar/2025-08-10", json={"working": True, "reason": "Collection drive Sunday"}
    )
    assert drive.json()["working"] is True
    days = {d["day"]: d for d in desk("admin", "GET", "/calendar", params=august).json()}
    assert (days["2025-08-18"]["source"], days["2025-08-18"]["working"]) == ("staff", False)
    assert (days["2025-08-10"]["source"], days["2025-08-10"]["working"]) == ("staff", True)

    before = table_counts(api.ctx.store)
    refused(
        desk("admin", "GET", "/calendar", params={"from": "2025-08-31", "to": "2025-08-01"}),
        422,
        "period_invalid",
    )
    refused(
        desk("admin", "GET", "/calendar", params={"from": "2025-01-01", "to": "2026-01-02"}),
        422,
        "period_invalid",
    )
    refused(desk("admin", "GET", "/calendar", params={"from": "August"}), 422, "request_invalid")
    refused(
        desk("admin", "PUT", "/calendar/2099-01-01", json={"working": False, "reason": "x"}),
        422,
        "calendar_year_unsupported",
    )
    refused(
        desk("admin", "PUT", "/calendar/2025-08-19", json={"working": False, "reason": ""}),
        422,
        "request_invalid",
    )
    assert table_counts(api.ctx.store) == before

    # A year with no official list: its computed holidays say so.
    computed = {
        d["day"]: d
        for d in desk("admin", "GET", "/calendar", params={"from": "2027-01-01", "to": "2027-01-31"}).json()
    }
    assert (computed["2027-01-26"]["source"], computed["2027-01-26"]["status"]) == (
        "computed",
        "computed, not confirmed",
    )
    assert computed["2027-01-26"]["confirmed"] is False and computed["2027-01-03"]["status"] == "confirmed"

    # A connection due for disconnection waits for the next working day's window: declaring
    # 4 June a holiday moves its earliest cut to 5 June.
    service_no, _ = consumer(1, meter_serial="SM-C1")
    taken = ist("2025-06-03T00:05")
    readings.record(api.ctx, [reading_rules.parse(meter_serial="SM-C1", read_at=taken, kwh="40")], now=taken)
    daily_cycle.run(api.ctx, now=ist("2025-06-03T06:00"))
    api.clock.now = ist("2025-06-03T08:00")
    [entry] = desk("admin", "GET", "/disconnections/queue").json()
    assert entry["earliest"] == "2025-06-04T10:00:00+05:30"
    desk(
        "admin", "PUT", "/calendar/2025-06-04", json={"working": False, "reason": "Declared holiday: floods"}
    )
    [entry] = desk("admin", "GET", "/disconnections/queue").json()
    assert (entry["service_no"], entry["earliest"]) == (service_no, "2025-06-05T10:00:00+05:30")


def test_compliance_report_has_the_figures_of_the_cli(
    api: Api, desk: Desk, consumer: Any, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service_no, _ = consumer(1)
    paid = desk(
        "admin",
        "POST",
        "/recharges",
        json={"service_no": service_no, "amount_paise": 50_000, "reference": "C1"},
    )
    assert paid.status_code == 201
    desk("admin", "POST", f"/connections/{service_no}/complaints", json={"ref": "D-1"})
    api.clock.advance(hours=1)
    desk("admin", "POST", "/complaints/D-1/resolve", json={"note": "supply was on; consumer's MCB"})
    api.clock.advance(hours=1)

    june = {"from": "2025-06-01", "to": "2025-06-30"}
    answer = desk("billing", "GET", "/reports/compliance", params=june)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["recharges_reflected_within_15_min"] == {
        "total": 1,
        "within": 1,
        "percent": 100.0,
        "worst_minutes": 0.0,
    }
    assert report["reconnection_complaints_resolved_within_4_h"]["within"] == 1
    assert report["disconnections_outside_window"] == 0

    monkeypatch.setattr(common, "now", api.clock)
    printed = CliRunner().invoke(
        cli.app,
        ["report", "compliance", "--from", "2025-06-01", "--to", "2025-06-30", "--json"],
        env={"WATTWALLET_DATABASE_URL": store_url},
    )
    assert printed.exit_code == 0, printed.output
    assert report == json.loads(printed.stdout)

    refused(
        desk("admin", "GET", "/reports/compliance", params={"from": "2025-06-30", "to": "2025-06-01"}),
        422,
        "period_invalid",
    )
    refused(
        desk("admin", "GET", "/reports/compliance", params={"from": "2025-06-01"}), 422, "request_invalid"
    )


def test_admin_creates_staff_users_and_never_shows_the_password(api: Api, desk: Desk) -> None:
    password = "monsoon tariff ledger 2025"
    new = {"username": "asha.k", "name": "Asha  Kumari", "role": "helpline", "password": password}
    made = desk("admin", "POST", "/users", json=new)
    assert made.status_code == 201, made.text
    assert made.json() == {"username": "asha.k", "name": "Asha Kumari", "role": "helpline", "active": True}
    assert password not in made.text and "argon2" not in made.text
    with api.ctx.store.read() as conn:
        stored = conn.execute(
            sa.select(schema.staff_users.c.password_hash).where(schema.staff_users.c.username == "asha.k")
        ).scalar_one()
    assert stored.startswith("$argon2id$") and password not in stored

    signed_in = api.client.post(
        "/api/v1/auth/staff/session", json={"username": "asha.k", "password": password}
    )
    assert (signed_in.status_code, signed_in.json()["role"]) == (200, "helpline")

    before = table_counts(api.ctx.store)
    refused(desk("admin", "POST", "/users", json=new), 409, "staff_exists")
    refused(
        desk("admin", "POST", "/users", json={**new, "username": "ravi", "role": "janitor"}),
        422,
        "request_invalid",
    )
    short = desk("admin", "POST", "/users", json={**new, "username": "ravi", "password": "pw-9xq"})
    refused(short, 422, "request_invalid")
    assert "pw-9xq" not in short.text
    refused(desk("admin", "POST", "/users", json={**new, "username": "Ravi K"}), 422, "staff_invalid")
    refused(
        desk("admin", "POST", "/users", json={**new, "username": "ravi", "password_hash": "x"}),
        422,
        "request_invalid",
    )
    assert table_counts(api.ctx.store) == before
