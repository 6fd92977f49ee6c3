"""Each lifecycle rule, shown by a scenario in examples/scenarios and pinned down here."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from wattwallet.scenario import model, runner

EXAMPLES = Path(__file__).parents[2] / "examples" / "scenarios"


def replay(name: str, *, compliance: bool = False) -> list[dict[str, Any]]:
    return list(
        runner.replay(model.load((EXAMPLES / name).read_text(encoding="utf-8")), compliance=compliance)
    )


def of(lines: list[dict[str, Any]], *types: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["type"] in types]


def kinds(lines: list[dict[str, Any]], kind_type: str = "alert") -> list[str]:
    return [line["kind"] for line in of(lines, kind_type)]


def money(text: str) -> Decimal:
    return Decimal(text)


def test_daily_deduction_itemised_with_catch_up_across_the_month_end() -> None:
    deductions = of(replay("daily_deduction.yaml"), "deduction")
    assert [(d["date"], d["units"]) for d in deductions] == [
        ("2025-06-27", "28.500"),
        ("2025-06-28", "8.000"),
        ("2025-06-29", "8.000"),
        ("2025-06-30", "8.000"),
        ("2025-07-01", "8.000"),
    ]
    first = {item["component"]: item["amount"] for item in deductions[0]["items"]}
    assert first == {
        "energy:0-30": "54.15",
        "electricity_duty": "1.71",
        "levy:FPPCA-2025-26": "11.40",
        "fixed_charge": "0.66",
    }
    # 28 June crosses from the first slab (1.5 units left at ₹1.90) into the second (6.5 at ₹3.00).
    crossing = {item["component"]: item["amount"] for item in deductions[1]["items"]}
    assert (crossing["energy:0-30"], crossing["energy:30-75"]) == ("2.85", "19.50")
    # 30 June is the month's last day: it takes the fixed-charge remainder (₹20 - 29 x ₹0.66 = ₹0.86
    # for a full month; this connection started on the 27th, so round(4 x 20/30) - 3 x 0.66 = ₹0.69).
    assert {i["component"]: i["amount"] for i in deductions[3]["items"]}["fixed_charge"] == "0.69"
    # July starts the slabs again from zero.
    assert deductions[4]["items"][0]["component"] == "energy:0-30"
    for d in deductions:
        assert sum(money(i["amount"]) for i in d["items"]) == money(d["amount"])
    balances = [money(d["balance"]) for d in deductions]
    assert balances[-1] == 1000 - sum(money(d["amount"]) for d in deductions)


def test_meter_anomalies_never_drain_the_wallet() -> None:
    lines = replay("meter_anomalies.yaml")
    assert of(lines, "reading.duplicate")[0]["kwh"] == "7"
    assert of(lines, "reading.refused")[0]["reason"] == "register_backwards"
    [held] = of(lines, "consumption.held")
    assert (held["kind"], held["units"]) == ("implausible", "500.000")
    deductions = of(lines, "deduction")
    assert [d["units"] for d in deductions] == [
        "7.000",
        "0.000",
        "23.000",
    ]  # the 500 units are not billed ...
    assert [i["component"] for i in deductions[1]["items"]] == [
        "fixed_charge"
    ]  # ... the day's fixed charge is
    assert of(lines, "disconnection.due")  # real consumption took it below the emergency credit ...
    assert not of(lines, "command.sent", "state")  # ... but an open hold keeps the supply on


def test_alerts_go_once_at_each_level_and_re_arm_after_a_recharge() -> None:
    lines = replay("alerts_and_emergency_credit.yaml")
    assert kinds(lines) == [
        "low_balance_3_days",
        "low_balance_2_days",
        "zero_balance",
        "low_balance_3_days",
        "low_balance_2_days",
    ]
    [credit] = of(lines, "emergency_credit")
    assert credit["amount"] == "20.00"  # fewer than 7 billed days: the LT-I default ADC, 2 kW x ₹10
    texts = [n for n in of(lines, "notification") if n["kind"] == "zero_balance"]
    assert texts[0]["language"] == "te" and "సర్వీస్" in texts[0]["text"] and "-₹16.40" in texts[0]["text"]


def test_one_large_deduction_sends_all_alerts_and_still_gives_a_day_of_grace() -> None:
    lines = replay("one_large_deduction.yaml")
    alerts = of(lines, "alert")
    assert [a["kind"] for a in alerts] == ["low_balance_3_days", "low_balance_2_days", "zero_balance"]
    assert len({a["at"] for a in alerts}) == 1  # together
    [due] = of(lines, "disconnection.due")
    assert due["at"] == "2025-06-09T06:00:00+05:30" and due["earliest"] == "2025-06-10T10:00:00+05:30"
    [cut] = [line for line in of(lines, "state") if line["to"] == "disconnected"]
    assert cut["at"] == "2025-06-10T10:00:00+05:30"


def test_disconnection_waits_for_the_window_on_the_next_working_day() -> None:
    lines = replay("disconnection_window.yaml")
    [due] = of(lines, "disconnection.due")
    assert due["earliest"] == "2025-08-11T10:00:00+05:30"  # holiday, second Saturday, Sunday skipped
    [sent] = of(lines, "command.sent")
    assert sent["at"] == "2025-08-11T10:00:00+05:30" and sent["command"] == "disconnect"
    scheduled = [n for n in of(lines, "notification") if n["kind"] == "disconnection_scheduled"]
    assert "11 aug 2025, 10:00 am" in scheduled[0]["text"].casefold()  # "am" or "AM": CLDR's case


def test_a_recharge_meanwhile_cancels_the_disconnection() -> None:
    lines = replay("recharge_cancels_disconnection.yaml")
    assert [line["type"] for line in of(lines, "command.failed", "command.cancelled", "command.sent")] == [
        "command.failed",
        "command.cancelled",
    ]
    assert not of(lines, "state")


def test_hes_failures_are_retried_with_backoff_until_confirmed() -> None:
    lines = replay("hes_failures.yaml")
    commands = of(lines, "command.failed", "command.sent", "command.confirmed", "state")
    assert [(c["at"][11:16], c["type"]) for c in commands] == [
        ("10:00", "command.failed"),
        ("10:01", "command.failed"),
        ("10:06", "command.failed"),
        ("10:21", "command.sent"),
        ("10:21", "command.confirmed"),
        ("10:21", "state"),
    ]


def test_reconnection_at_any_hour_and_the_amount_needed() -> None:
    lines = replay("reconnection.yaml")
    [needed] = of(lines, "reconnect.amount_needed")
    assert (needed["balance"], needed["amount_needed"]) == ("-70.92", "100.00")
    [back] = [line for line in of(lines, "state") if line["to"] == "active"]
    assert back["at"] == "2025-06-08T22:40:00+05:30"  # a Sunday night, at once
    assert [n["language"] for n in of(lines, "notification")] == ["te"] * len(of(lines, "notification"))


def test_reconnection_not_confirmed_in_15_minutes_escalates_by_itself() -> None:
    lines = replay("reconnection_escalation.yaml", compliance=True)
    [opened] = of(lines, "complaint.opened")
    assert (opened["source"], opened["at"]) == ("auto", "2025-06-05T20:13:00+05:30")  # payment 19:58 + 15 min
    assert opened["due"] == "2025-06-06T00:13:00+05:30"
    assert [c["at"][11:16] for c in of(lines, "command.sent")][-2:] == ["20:00", "20:13"]  # sent again
    [resolved] = of(lines, "complaint.resolved")
    assert resolved["resolution"] == "relay_closed" and resolved["within_deadline"] is True
    [report] = of(lines, "compliance")
    assert report["reconnections_within_15_min_of_payment"] == {
        "total": 1,
        "within": 0,
        "percent": 0.0,
        "worst_minutes": 42.0,
    }
    assert report["disconnections_outside_window"] == 0
    assert report["disconnections_without_alerts_and_emergency_credit"] == 0


def test_a_helpline_complaint_is_resolved_when_the_relay_closes() -> None:
    lines = replay("complaint.yaml")
    [opened] = of(lines, "complaint.opened")
    assert (opened["ref"], opened["source"]) == ("1912-000123", "helpline")
    [resolved] = of(lines, "complaint.resolved")
    assert resolved["at"] == "2025-06-05T18:10:00+05:30" and resolved["within_deadline"] is True


def test_short_bill_notice_reminders_deduction_and_what_follows() -> None:
    lines = replay("short_bill.yaml", compliance=True)
    raised = of(lines, "short_bill.raised")
    assert [r.get("repeat", False) for r in raised] == [False, True] and raised[0]["due"] == "2025-06-17"
    assert [r["reason"] for r in of(lines, "short_bill.rejected")] == [
        "amount_not_positive",
        "duplicate_conflict",
    ]
    assert [(r["day"], r["at"][:10]) for r in of(lines, "short_bill.reminder")] == [
        (12, "2025-06-14"),
        (13, "2025-06-15"),
        (14, "2025-06-16"),
    ]
    [deducted] = of(lines, "short_bill.deducted")
    assert (deducted["at"][:10], deducted["amount"], deducted["balance"]) == (
        "2025-06-17",
        "350.00",
        "-50.00",
    )
    assert kinds(lines) == ["low_balance_3_days", "low_balance_2_days", "zero_balance"]
    [cut] = [line for line in of(lines, "state") if line["to"] == "disconnected"]
    assert cut["at"] == "2025-06-18T10:00:00+05:30"
    [report] = of(lines, "compliance")
    assert report["disconnections"] == 1 and report["disconnections_without_alerts_and_emergency_credit"] == 0


def test_termination_after_three_months_disconnected() -> None:
    lines = replay("termination.yaml", compliance=True)
    [ended] = of(lines, "termination")
    assert ended["at"] == "2025-09-05T06:00:00+05:30"
    assert (ended["final_balance"], ended["arrears"], ended["refund"]) == ("-52.96", "52.96", "0.00")
    assert kinds(lines, "work_order") == ["meter_removal"]
    assert of(lines, "recharge.rejected")[0]["reason"] == "connection_terminated"
    assert of(lines, "compliance")[0]["terminations"] == 1


def test_language_can_change_any_time() -> None:
    lines = replay("language.yaml")
    assert of(lines, "language.changed")[0]["to"] == "te"
    languages = [(n["kind"], n["language"]) for n in of(lines, "notification")]
    assert languages[0] == ("low_balance_3_days", "en")
    assert ("zero_balance", "te") in languages


def test_an_open_short_bill_becomes_arrears_at_termination() -> None:
    lines = replay("short_bill_at_termination.yaml")
    [ended] = of(lines, "termination")
    assert (ended["final_balance"], ended["arrears"]) == ("-52.96", "402.96")  # wallet debit + ₹350 bill
    assert not of(lines, "short_bill.reminder", "short_bill.deducted")  # nothing more for a closed wallet


def test_a_recharge_while_the_disconnect_is_with_the_hes() -> None:
    lines = replay("recharge_during_disconnection.yaml", compliance=True)
    assert not of(lines, "command.cancelled")  # it was already sent: nothing to call off
    states = [(s["at"][11:16], s["to"]) for s in of(lines, "state")]
    assert states == [("10:40", "disconnected"), ("11:20", "active")]
    assert [n["kind"] for n in of(lines, "notification")].count("disconnected") == 0  # told nothing false
    [opened] = of(lines, "complaint.opened")
    assert opened["source"] == "auto" and opened["at"][11:16] == "10:40"  # already past 10:10 + 15 min
    [report] = of(lines, "compliance")
    assert report["reconnections_within_15_min_of_payment"] == {
        "total": 1,
        "within": 0,
        "percent": 0.0,
        "worst_minutes": 70.0,
    }


def test_no_disconnect_is_sent_in_the_last_half_hour_of_the_window() -> None:
    lines = replay("window_cut_off.yaml", compliance=True)
    [due] = of(lines, "disconnection.due")
    assert (due["at"], due["earliest"]) == ("2025-06-17T12:40:00+05:30", "2025-06-19T10:00:00+05:30")
    [cut] = [s for s in of(lines, "state") if s["to"] == "disconnected"]
    assert cut["at"] == "2025-06-19T10:20:00+05:30"
    assert of(lines, "compliance")[0]["disconnections_outside_window"] == 0


def test_a_new_warning_cycle_after_reconnection() -> None:
    lines = replay("warnings_after_reconnection.yaml", compliance=True)
    at_recharge = [a["kind"] for a in of(lines, "alert") if a["at"] == "2025-06-08T22:40:00+05:30"]
    assert at_recharge == ["low_balance_3_days", "low_balance_2_days"]
    sent = [c["at"][11:19] for c in of(lines, "command.sent") if c["command"] == "reconnect"]
    assert sent == ["22:41:30"]  # the second payment sent it at once, not after the back-off
    [report] = of(lines, "compliance")
    assert report["disconnections"] == 2
    assert report["disconnections_without_alerts_and_emergency_credit"] == 0


def test_a_helpline_mobile_change() -> None:
    lines = replay("mobile_change.yaml")
    assert [r["reason"] for r in of(lines, "mobile_change.rejected")] == ["old_mobile_mismatch"]
    [changed] = of(lines, "mobile.changed")
    assert (changed["via"], changed["old"], changed["new"]) == ("helpline", "+919876502301", "+919000000001")
    told = [n["to"] for n in of(lines, "notification") if n["kind"] == "mobile_changed"]
    assert told == ["+919876502301", "+919000000001"]
