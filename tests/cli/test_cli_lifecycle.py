"""The lifecycle commands (readings, cycle, jobs, short bills, complaints, holds, HES, the
disconnection queue, the compliance report, language), on SQLite and PostgreSQL.

The commands read the wall clock through `common.now`; the tests replace it with a clock they
move by hand, so that a connection registered "today" can have readings on the following IST
days and every figure is deterministic.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from wattwallet import tariffs
from wattwallet.cli import common
from wattwallet.cli import main as cli
from wattwallet.domain import clock
from wattwallet.hes import commands
from wattwallet.store import db

SN = "1234567890123"
METER = "SM-0001"
IST = clock.IST
START = dt.datetime(2025, 6, 2, 9, 0, tzinfo=IST)  # a Monday; sample tariff and FPPCA in force


class WallClock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def set(self, text: str) -> str:
        """Move to an IST wall time given as 'YYYY-MM-DDTHH:MM'; return it as an ISO instant."""
        self.at = dt.datetime.fromisoformat(text).replace(tzinfo=IST)
        return self.at.isoformat()


def ww(url: str, *args: str) -> Result:
    # The sample book: these tests pin DOMAIN.md's sample figures.
    env = {"WATTWALLET_DATABASE_URL": url, "WATTWALLET_TARIFF_FILE": str(tariffs.FILES["sample"])}
    return CliRunner().invoke(cli.app, list(args), env=env)


def ok(url: str, *args: str) -> Result:
    result = ww(url, *args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def refused(url: str, *args: str, code: str) -> Result:
    result = ww(url, *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert f"[{code}]" in result.stderr, result.stderr
    return result


def as_json(url: str, *args: str) -> Any:
    return json.loads(ok(url, *args, "--json").stdout)


def read(url: str, wall: WallClock, at: str, kwh: str) -> Result:
    """A reading taken at IST wall time `at`, reported five minutes later."""
    when = dt.datetime.fromisoformat(at).replace(tzinfo=IST)
    wall.at = when + dt.timedelta(minutes=5)
    return ww(url, "reading", "add", METER, kwh, "--at", when.isoformat())


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> WallClock:
    fake = WallClock(START)
    monkeypatch.setattr(common, "now", fake)
    return fake


@pytest.fixture
def url(store_url: str, wall: WallClock) -> str:
    ok(store_url, "db", "upgrade")
    ok(
        store_url,
        "connection",
        "add",
        SN,
        "--name",
        "Ravi Kumar",
        "--category",
        "LT-I",
        "--load-kw",
        "2",
        "--mobile",
        "98765 43210",
        "--meter",
        METER,
    )
    return store_url


def test_reading_add_stored_duplicate_and_refused(url: str, wall: WallClock) -> None:
    stored = read(url, wall, "2025-06-03T00:05", "10.5")
    assert stored.exit_code == 0, stored.stderr
    assert stored.stdout.strip() == (
        f"stored: meter {METER} at 2025-06-03T00:05:00+05:30: 10.500 kWh (connection {SN})"
    )

    again = read(url, wall, "2025-06-03T00:05", "10.500")
    assert again.exit_code == 0 and again.stdout.startswith("duplicate: ")

    conflict = read(url, wall, "2025-06-03T00:05", "11")
    assert conflict.exit_code == 2 and "[reading_conflict]" in conflict.stderr

    backwards = read(url, wall, "2025-06-03T06:00", "9")
    assert backwards.exit_code == 2
    assert "refused: " in backwards.stderr and "[register_backwards]" in backwards.stderr

    unknown = ww(url, "reading", "add", "SM-9999", "1", "--at", wall.at.isoformat())
    assert unknown.exit_code == 2 and "[unknown_meter]" in unknown.stderr

    future = (wall.at + dt.timedelta(hours=1)).isoformat()
    assert "[reading_in_future]" in ww(url, "reading", "add", METER, "12", "--at", future).stderr
    refused(url, "reading", "add", METER, "ten", code="reading_invalid")
    refused(url, "reading", "add", METER, "12", "--at", "2025-06-03T07:00", code="invalid_input")

    # The backwards register was flagged for staff; it has no consumption to release.
    [flag] = as_json(url, "holds", "list")
    assert (flag["service_no"], flag["kind"], flag["status"]) == (SN, "register_backwards", "open")
    assert flag["from"] == flag["to"] == "2025-06-03" and flag["units"] == "-1.500"
    refused(
        url, "holds", "release", str(flag["id"]), "--by", "asha", "--note", "x", code="release_not_possible"
    )
    ok(url, "holds", "dismiss", str(flag["id"]), "--by", "asha", "--note", "CT ratio reset")
    assert as_json(url, "holds", "list") == []


def test_cycle_run_bills_the_days_between_readings(url: str, wall: WallClock) -> None:
    ok(url, "recharge", SN, "500", "--ref", "C-1", "--channel", "counter", "--executive", "sc.ravi")
    assert read(url, wall, "2025-06-03T00:05", "12.5").exit_code == 0
    assert read(url, wall, "2025-06-04T00:05", "20").exit_code == 0

    report = as_json(url, "cycle", "run", "--now", wall.set("2025-06-04T06:00"))
    # 2 June: 12.5 kWh, 3 June: 7.5 kWh. Energy ₹38.00 (20 units at ₹1.90), duty 6 p and FPPCA
    # 40 p a unit (₹9.20), fixed ₹20 a month pro rata: floor(₹20 / 30 days) = ₹0.66 a day (₹1.32).
    assert report == {
        "at": "2025-06-04T06:00:00+05:30",
        "connections": 1,
        "days": 2,
        "deducted": "48.52",
        "held": 0,
        "alerts": {},
        "due": 0,
        "notifications": 0,
        "batches": 1,
    }
    wallet = as_json(url, "wallet", SN)
    assert wallet["balance"] == "451.48"

    text = ok(url, "cycle", "run", "--now", wall.at.isoformat()).stdout
    assert "0 connections, 0 days billed" in text and "deducted ₹0.00" in text
    refused(url, "cycle", "run", "--now", "tomorrow", code="invalid_input")


def test_disconnection_queue_jobs_and_compliance(url: str, wall: WallClock) -> None:
    assert ok(url, "disconnections", "queue").stdout.strip() == "no connection is due for disconnection"
    assert as_json(url, "disconnections", "queue") == []
    assert ok(url, "hes", "failures").stdout.strip() == "no failing HES commands"
    assert as_json(url, "hes", "failures") == []

    # No recharge yet: the wallet is at zero, so one day of 40 kWh crosses every alert level and
    # the emergency credit (the default ADC, ₹20 for 2 kW) at once.
    assert read(url, wall, "2025-06-03T00:05", "40").exit_code == 0
    text = ok(url, "cycle", "run", "--now", wall.set("2025-06-03T06:00")).stdout
    assert "alerts sent: low_balance_2_days 1, low_balance_3_days 1, zero_balance 1" in text
    assert "newly due for disconnection: 1" in text

    wall.set("2025-06-03T08:00")
    [entry] = as_json(url, "disconnections", "queue")
    assert entry == {
        "service_no": SN,
        # 30 units at ₹1.90 and 10 at ₹3.00, duty and FPPCA on 40 units, a day's fixed charge.
        "balance": "-106.06",
        "emergency_credit": "20.00",
        "due_at": "2025-06-03T06:00:00+05:30",
        "zero_alert_at": "2025-06-03T06:00:00+05:30",
        # A full day after the zero-balance alert, then the next window on a working day.
        "earliest": "2025-06-04T10:00:00+05:30",
        "on_hold": False,
        "command_id": None,
        "command_status": None,
    }
    line = ok(url, "disconnections", "queue").stdout
    assert (
        line.startswith(f"{SN}  balance -₹106.06  emergency credit ₹20.00")
        and "earliest 2025-06-04 10:00 IST" in line
    )

    # The worker's tick at the window's opening cuts the supply (the simulated HES confirms at once).
    tick = ok(url, "jobs", "run", "--now", wall.set("2025-06-04T10:00"))
    events = [json.loads(line) for line in tick.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds.index("command.sent") < kinds.index("command.confirmed") < kinds.index("state")
    assert {"type": "state", "connection": SN, "from": "active", "to": "disconnected"}.items() <= next(
        e for e in events if e["type"] == "state"
    ).items()
    assert tick.stderr.startswith(f"jobs ran as of 2025-06-04 10:00 IST: {len(events)} events (")
    assert as_json(url, "disconnections", "queue") == []
    assert as_json(url, "hes", "failures") == []

    wall.set("2025-06-04T12:00")
    report = as_json(url, "report", "compliance", "--from", "2025-06-01", "--to", "2025-06-30")
    assert report["disconnections"] == 1
    assert report["disconnections_outside_window"] == 0
    assert report["disconnections_without_alerts_and_emergency_credit"] == 0
    assert report["breaches"] == {"outside_window": [], "without_warnings": [], "backdated_recharges": []}
    text = ok(url, "report", "compliance", "--from", "2025-06-01", "--to", "2025-06-30").stdout
    assert "disconnections: 1\n" in text and "disconnections outside the window: 0\n" in text
    assert "breaches" not in text


def test_holds_dismiss_release_and_the_queue_shows_holds_and_commands(url: str, wall: WallClock) -> None:
    # 1000 kWh in a day on a 2 kW connection (at most 72 kWh is plausible): held, not deducted.
    assert read(url, wall, "2025-06-03T00:05", "1000").exit_code == 0
    assert "held for staff review: 1" in ok(url, "cycle", "run", "--now", wall.set("2025-06-03T06:00")).stdout
    [first] = as_json(url, "holds", "list")
    assert (first["kind"], first["from"], first["to"], first["units"]) == (
        "implausible",
        "2025-06-02",
        "2025-06-02",
        "1000.000",
    )
    dismissed = ok(url, "holds", "dismiss", str(first["id"]), "--by", "asha", "--note", "meter fault")
    assert f"held consumption #{first['id']} on {SN} dismissed" in dismissed.stdout
    assert ok(url, "holds", "list").stdout.strip() == "nothing held for review"
    assert [h["status"] for h in as_json(url, "holds", "list", "--all")] == ["dismissed"]
    refused(
        url, "holds", "dismiss", str(first["id"]), "--by", "asha", "--note", "x", code="hold_already_reviewed"
    )
    refused(url, "holds", "dismiss", "999", "--by", "asha", "--note", "x", code="unknown_hold")
    refused(url, "holds", "dismiss", str(first["id"]), "--by", " ", "--note", "x", code="invalid_input")

    assert read(url, wall, "2025-06-04T00:05", "1100").exit_code == 0  # 100 kWh: held again
    ok(url, "cycle", "run", "--now", wall.set("2025-06-04T06:00"))
    [second] = as_json(url, "holds", "list")
    missing_note = ww(url, "holds", "release", str(second["id"]), "--by", "asha")
    assert missing_note.exit_code == 2 and "--note" in missing_note.stderr
    released = ok(url, "holds", "release", str(second["id"]), "--by", "asha", "--note", "AC installed")
    # Energy on 100 units from the month's first slab (₹304.50), duty ₹6.00 and FPPCA ₹40.00; the
    # wallet was at zero (no recharge) less the two held days' fixed charges (2 x ₹0.66).
    assert released.stdout.strip() == (
        f"held consumption #{second['id']} on {SN} released (100.000 kWh): ₹350.50 deducted, balance -₹351.82"
    )

    # Released and deducted: the balance is far below the emergency credit, so the connection is due.
    [entry] = as_json(url, "disconnections", "queue")
    assert entry["on_hold"] is False and float(entry["balance"]) < -float(entry["emergency_credit"])

    # Suspect consumption again: the queue shows the connection held back.
    assert read(url, wall, "2025-06-05T00:05", "2000").exit_code == 0
    ok(url, "cycle", "run", "--now", wall.set("2025-06-05T06:00"))
    [entry] = as_json(url, "disconnections", "queue")
    assert entry["on_hold"] is True
    assert "ON HOLD" in ok(url, "disconnections", "queue").stdout

    # A disconnect command under way shows in the queue; once given up, among the HES failures.
    store = db.Store.from_url(url)
    try:
        with store.write() as conn:
            commands.lock(conn, SN)
            command_id = commands.issue(
                conn,
                service_no=SN,
                meter_serial=METER,
                action=commands.DISCONNECT,
                reason="test",
                now=wall.at,
            )
        [entry] = as_json(url, "disconnections", "queue")
        assert (entry["command_id"], entry["command_status"]) == (command_id, "pending")
        assert f"command {command_id} pending" in ok(url, "disconnections", "queue").stdout
        with store.write() as conn:
            conn.exec_driver_sql(
                "UPDATE hes_commands SET status = 'failed', attempts = 5, last_error = 'no response', "
                f"next_attempt_at = NULL WHERE id = '{command_id}'"
            )
    finally:
        store.dispose()
    [failed] = as_json(url, "hes", "failures")
    assert (failed["id"], failed["status"], failed["attempts"]) == (command_id, "failed", 5)
    assert ok(url, "hes", "failures").stdout.strip() == (
        f"{command_id}  {SN}  disconnect  failed after 5 attempts: no response"
    )
    assert as_json(url, "disconnections", "queue")[0]["command_id"] is None


def test_short_bill_raise_is_idempotent_by_ref(url: str, wall: WallClock) -> None:
    raised = ok(url, "short-bill", "raise", SN, "350", "--reason", "back-billing April", "--ref", "SB-1")
    assert raised.stdout.splitlines() == [
        f"short bill SB-1 on {SN}: ₹350.00 (back-billing April)",
        "  raised 2025-06-02, deducted from the wallet on 2025-06-17 unless paid; status open",
    ]
    again = ok(url, "short-bill", "raise", SN, "350", "--reason", "back-billing April", "--ref", "SB-1")
    assert again.stdout.startswith("short bill SB-1 (already raised: nothing new)")
    refused(
        url,
        "short-bill",
        "raise",
        SN,
        "400",
        "--reason",
        "back-billing April",
        "--ref",
        "SB-1",
        code="duplicate_conflict",
    )
    refused(url, "short-bill", "raise", SN, "0", "--reason", "x", "--ref", "SB-2", code="amount_not_positive")
    refused(
        url,
        "short-bill",
        "raise",
        "1234567890999",
        "10",
        "--reason",
        "x",
        "--ref",
        "SB-3",
        code="unknown_connection",
    )
    refused(url, "short-bill", "raise", SN, "10", "--reason", " ", "--ref", "SB-4", code="short_bill_invalid")


def test_complaint_open_list_resolve(url: str, wall: WallClock) -> None:
    opened = ok(url, "complaint", "open", SN, "--ref", "1912-77", "--source", "helpline")
    assert opened.stdout.strip() == (
        f"complaint 1912-77 on {SN} (reconnection, via helpline): opened 2025-06-02 09:00 IST, "
        "to be resolved by 2025-06-02 13:00 IST"
    )
    assert (
        "(already opened: the same complaint)"
        in ok(url, "complaint", "open", SN, "--ref", "1912-77", "--source", "helpline").stdout
    )
    refused(url, "complaint", "open", SN, "--ref", "X-1", "--source", "auto", code="complaint_invalid")
    refused(
        url,
        "complaint",
        "open",
        SN,
        "--ref",
        "X-1",
        "--source",
        "consumer",
        "--kind",
        "billing",
        code="complaint_invalid",
    )
    refused(
        url,
        "complaint",
        "open",
        "1234567890999",
        "--ref",
        "X-1",
        "--source",
        "consumer",
        code="unknown_connection",
    )

    wall.set("2025-06-02T12:00")
    listed = ok(url, "complaint", "list").stdout
    assert "1912-77" in listed and "due 2025-06-02 13:00 IST" in listed and "OVERDUE" not in listed
    wall.set("2025-06-02T14:00")
    assert "OVERDUE" in ok(url, "complaint", "list").stdout
    [item] = as_json(url, "complaint", "list")
    assert (item["ref"], item["source"], item["due_at"], item["resolved_at"], item["overdue"]) == (
        "1912-77",
        "helpline",
        "2025-06-02T13:00:00+05:30",
        None,
        True,
    )

    no_note = ww(url, "complaint", "resolve", "1912-77", "--by", "ravi")
    assert no_note.exit_code == 2 and "--note" in no_note.stderr
    refused(url, "complaint", "resolve", "1912-77", "--by", "ravi", "--note", "  ", code="complaint_invalid")
    refused(url, "complaint", "resolve", "NOPE-1", "--by", "ravi", "--note", "done", code="unknown_complaint")
    resolved = ok(url, "complaint", "resolve", "1912-77", "--by", "ravi", "--note", "relay closed on site")
    assert resolved.stdout.strip() == (
        f"complaint 1912-77 on {SN} resolved 2025-06-02 14:00 IST, 60 minutes after the deadline"
    )
    assert (
        "already resolved" in ok(url, "complaint", "resolve", "1912-77", "--by", "ravi", "--note", "x").stdout
    )
    assert ok(url, "complaint", "list").stdout.strip() == "no open complaints"
    [item] = as_json(url, "complaint", "list", "--all")
    assert (item["resolution"], item["overdue"]) == ("staff", True)

    report = ok(url, "report", "compliance", "--from", "2025-06-02", "--to", "2025-06-02").stdout
    assert "reconnection complaints resolved within 4 hours: 0 of 1 (0.0%), worst 300.0 minutes" in report


def test_report_compliance_json_and_bad_periods(url: str, wall: WallClock) -> None:
    ok(url, "recharge", SN, "500", "--ref", "C-1", "--channel", "counter", "--executive", "sc.ravi")
    report = as_json(url, "report", "compliance", "--from", "2025-06-01", "--to", "2025-06-30")
    assert report == {
        "from": "2025-06-01",
        "to": "2025-06-30",
        "recharges_reflected_within_15_min": {
            "total": 1,
            "within": 1,
            "percent": 100.0,
            "worst_minutes": 0.0,
        },
        "reconnections_within_15_min_of_payment": {
            "total": 0,
            "within": 0,
            "percent": None,
            "worst_minutes": None,
        },
        "reconnection_complaints_resolved_within_4_h": {
            "total": 0,
            "within": 0,
            "percent": None,
            "worst_minutes": None,
        },
        "disconnections": 0,
        "disconnections_outside_window": 0,
        "disconnections_without_alerts_and_emergency_credit": 0,
        "terminations": 0,
        "backdated_recharges": 0,
        "breaches": {"outside_window": [], "without_warnings": [], "backdated_recharges": []},
    }
    text = ok(url, "report", "compliance", "--from", "2025-06-01", "--to", "2025-06-30").stdout
    assert text.splitlines() == [
        "compliance 2025-06-01 to 2025-06-30 (IST days)",
        "recharges reflected within 15 minutes: 1 of 1 (100.0%), worst 0.0 minutes",
        "reconnections within 15 minutes of payment: none in the period",
        "reconnection complaints resolved within 4 hours: none in the period",
        "disconnections: 0",
        "disconnections outside the window: 0",
        "disconnections without the three alerts and emergency credit: 0",
        "terminations: 0",
        "recharges back-dated by agents or counters: 0",
    ]
    refused(url, "report", "compliance", "--from", "2025-06-30", "--to", "2025-06-01", code="period_invalid")
    refused(url, "report", "compliance", "--from", "June", "--to", "2025-06-01", code="invalid_day")


def test_language(url: str, wall: WallClock) -> None:
    assert ok(url, "language", SN, "te").stdout.strip() == f"connection {SN}: language te"
    assert as_json(url, "wallet", SN)["language"] == "te"
    assert ok(url, "language", SN, "TE").stdout.strip() == f"connection {SN}: language te (unchanged)"
    refused(url, "language", SN, "fr", code="language_invalid")
    refused(url, "language", "1234567890999", "en", code="unknown_connection")


@pytest.mark.parametrize(
    "command",
    [
        ["reading"],
        ["reading", "add"],
        ["cycle", "run"],
        ["jobs", "run"],
        ["short-bill", "raise"],
        ["complaint"],
        ["complaint", "open"],
        ["complaint", "list"],
        ["complaint", "resolve"],
        ["holds", "list"],
        ["holds", "release"],
        ["holds", "dismiss"],
        ["hes", "failures"],
        ["disconnections", "queue"],
        ["report", "compliance"],
        ["language"],
    ],
)
def test_every_lifecycle_command_explains_itself(command: list[str]) -> None:
    result = CliRunner().invoke(cli.app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout and len(result.stdout) > 200
