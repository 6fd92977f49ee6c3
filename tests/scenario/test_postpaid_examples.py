"""Prepaid or postpaid on one meter (DOMAIN.md §8), pinned down by the example scenarios: each way of
settling a switch, the postpaid bill and its payments, and one engine rating both schedules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wattwallet.scenario import model, runner

EXAMPLES = Path(__file__).parents[2] / "examples" / "scenarios"


def replay(name: str) -> list[dict[str, Any]]:
    return list(runner.replay(model.load((EXAMPLES / name).read_text(encoding="utf-8"))))


def of(lines: list[dict[str, Any]], *types: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["type"] in types]


def paise(text: str) -> int:
    return int(Decimal(text) * 100)


def test_a_credit_becomes_an_advance_set_against_the_first_bills() -> None:
    lines = replay("postpaid_switch_with_credit.yaml")
    sn = "1234567891501"
    [requested] = of(lines, "mode.requested")
    assert (requested["from"], requested["to"], requested["effective_on"]) == (
        "prepaid",
        "postpaid",
        "2025-06-20",
    )
    [changed] = of(lines, "mode.changed")
    assert changed["at"] == "2025-06-20T06:00:00+05:30"  # the start of the day, after its cycle
    # The prepaid days up to 19 June were deducted; the wallet then went to the advance, whole.
    deductions = [d for d in of(lines, "deduction") if d["connection"] == sn]
    assert deductions[-1]["date"] == "2025-06-19"
    assert paise(changed["carried"]) == 40_000 - sum(paise(d["amount"]) for d in deductions)
    assert (changed["balance"], changed["to_bill"]) == ("0.00", "0.00")
    # No deduction after the switch: the days are rated for the bill instead.
    charges = [c for c in of(lines, "charge") if c["connection"] == sn]
    assert charges[0]["date"] == "2025-06-20"
    [june, july] = [b for b in of(lines, "bill") if b.get("mode") == "postpaid"]
    june_days = [c for c in charges if c["date"] < "2025-07-01"]
    assert paise(june["charges"]) == sum(paise(c["amount"]) for c in june_days)
    # The advance (the wallet's credit, and ₹100 paid before any bill) is set against the June bill.
    assert paise(june["advance"]) == paise(changed["carried"]) + 10_000
    assert paise(june["amount"]) == paise(june["charges"]) - paise(june["advance"])
    assert june["due_on"] == "2025-07-16"  # 15 days after it is issued
    # Unpaid, it is carried to the July bill as arrears.
    assert paise(july["arrears"]) == paise(june["amount"])
    assert paise(july["amount"]) == paise(july["arrears"]) + paise(july["charges"])
    # The June prepaid statement covers the prepaid days only.
    [statement] = [b for b in of(lines, "bill") if b["connection"] == sn and "mode" not in b]
    assert paise(statement["amount"]) == sum(paise(d["amount"]) for d in deductions)


def test_postpaid_payments_any_amount_oldest_bill_first_and_bad_ones_refused() -> None:
    lines = replay("postpaid_switch_with_credit.yaml")
    payments = [
        (p["type"], p["ref"], p.get("reason"), p.get("outstanding"))
        for p in of(lines, "payment.accepted", "payment.rejected")
    ]
    july = [b for b in of(lines, "bill") if b.get("mode") == "postpaid"][-1]
    left = f"{Decimal(july['amount']) - 150:.2f}"
    assert payments == [
        ("payment.accepted", "PAY-EARLY", None, "0.00"),  # nothing billed yet: all of it an advance
        ("payment.rejected", "PAY-0", "amount_not_positive", None),
        ("payment.rejected", "PAY-DEC", "amount_too_many_decimals", None),
        ("payment.rejected", "PAY-PRE", "payment_connection_prepaid", None),
        ("payment.accepted", "PAY-1", None, left),
        ("payment.accepted", "PAY-1", None, left),  # the same reference again: the same payment
        ("payment.rejected", "PAY-1", "duplicate_conflict", None),
    ]
    assert of(lines, "payment.accepted")[-1]["repeat"] is True
    rejected = of(lines, "mode.rejected")
    assert [r["reason"] for r in rejected] == ["mode_unchanged", "mode_switch_date_past"]


def test_a_debit_and_an_open_short_bill_go_onto_the_first_postpaid_bill() -> None:
    lines = replay("postpaid_switch_with_debit.yaml")
    [changed] = of(lines, "mode.changed")
    assert paise(changed["carried"]) < 0  # in emergency credit when the switch took effect
    assert paise(changed["to_bill"]) == -paise(changed["carried"]) + 12_000  # and the ₹120 short bill
    # The short bill is not deducted from a wallet any more. The cycle of the switch morning found
    # the balance past the emergency credit; the switch calls that disconnection off: none is sent.
    assert not of(lines, "short_bill.deducted", "command.sent")
    assert all(d["at"] <= changed["at"] for d in of(lines, "disconnection.due"))
    [bill] = [b for b in of(lines, "bill") if b.get("mode") == "postpaid"]
    assert bill["arrears"] == changed["to_bill"]
    assert paise(bill["amount"]) == paise(bill["arrears"]) + paise(bill["charges"])
    assert bill["language"] == "te"


def _to_prepaid(name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    lines = replay(name)
    [changed] = of(lines, "mode.changed")
    assert (changed["from"], changed["to"], changed["at"]) == (
        "postpaid",
        "prepaid",
        "2025-07-15T06:00:00+05:30",
    )
    [june] = of(lines, "bill")
    # What was owed: the unpaid June bill and the days of July not billed yet, rated by the same engine.
    july_days = [c for c in of(lines, "charge") if c["date"] >= "2025-07-01"]
    assert [c["date"] for c in july_days][-1] == "2025-07-14"
    assert paise(changed["to_dues"]) == paise(june["amount"]) + sum(paise(c["amount"]) for c in july_days)
    # From the switch day on, days are deducted from the wallet again.
    assert of(lines, "deduction")[0]["date"] == "2025-07-15"
    return changed, lines


def test_a_deposit_larger_than_what_is_owed_clears_it_and_the_rest_goes_to_the_wallet() -> None:
    changed, lines = _to_prepaid("prepaid_switch_deposit_covers_dues.yaml")
    assert changed["deposit_adjusted"] == changed["to_dues"]
    assert paise(changed["carried"]) == 200_000 - paise(changed["to_dues"])
    assert (changed["balance"], changed["dues"]) == (changed["carried"], "0.00")
    recharges = of(lines, "recharge.accepted", "recharge.rejected")
    assert [(r["type"], r.get("reason"), r.get("minimum"), r.get("to_dues")) for r in recharges] == [
        ("recharge.rejected", "first_recharge_below_minimum", "500.00", None),  # the rule applies again
        ("recharge.accepted", None, None, "0.00"),
    ]


def test_a_deposit_smaller_than_what_is_owed_leaves_dues_recovered_from_recharges_first() -> None:
    changed, lines = _to_prepaid("prepaid_switch_deposit_short_of_dues.yaml")
    assert changed["deposit_adjusted"] == "200.00"
    assert (changed["carried"], changed["balance"]) == ("0.00", "0.00")
    assert paise(changed["dues"]) == paise(changed["to_dues"]) - 20_000
    [accepted] = of(lines, "recharge.accepted")
    assert (accepted["to_dues"], accepted["dues"]) == (changed["dues"], "0.00")
    assert paise(accepted["to_wallet"]) == 100_000 - paise(changed["dues"])


def test_the_shared_scenario_sample_runs_to_the_end() -> None:
    lines = replay("scenarios_md_sample.yaml")
    assert lines[-1]["at"] <= "2025-09-30T00:00:00+05:30"
    [changed] = of(lines, "mode.changed")
    assert (changed["from"], changed["to"], changed["at"]) == (
        "prepaid",
        "postpaid",
        "2025-06-23T06:00:00+05:30",
    )
    months = [b["month"] for b in of(lines, "bill") if b.get("mode") == "postpaid"]
    assert months == ["2025-06", "2025-07", "2025-08"]


# --- One engine, two schedules -------------------------------------------------------------------

_YAML = """
start: "2025-06-01T00:05:00+05:30"
end: "2025-07-02T09:00:00+05:30"
tariff_book: sample
connections:
  - {{id: "1234567891601", category: {category}, load_kw: 3, mobile: "+919876501601",
     first_recharge_done: true, balance: 100000}}
  - {{id: "1234567891602", category: {category}, load_kw: 3, mode: postpaid, mobile: "+919876501602"}}
events:
{events}
"""
JUNE_1 = dt.date(2025, 6, 1)


@settings(max_examples=25, deadline=None)
@given(
    category=st.sampled_from(["LT-I", "LT-II"]),
    days=st.lists(st.one_of(st.none(), st.integers(0, 40_000)), min_size=30, max_size=30),
)
def test_a_month_billed_postpaid_equals_the_daily_deductions_it_would_have_had_prepaid(
    category: str, days: list[int | None]
) -> None:
    """The same readings, one connection prepaid and one postpaid: June's postpaid charges are, to
    the paisa, the sum of June's deductions from the prepaid wallet. A None is a day the meter did
    not report (caught up by the next reading, across slabs); 30 June always reports."""
    events, wh = [], 0
    for i, used in enumerate(days):
        wh += used or 0
        if used is None and i < len(days) - 1:
            continue
        at = f"{JUNE_1 + dt.timedelta(days=i + 1)}T00:15:00+05:30"  # the midnight register ending the day
        for sn in ("1234567891601", "1234567891602"):
            events.append(f'  - {{at: "{at}", reading: {{connection: "{sn}", kwh: {wh / 1000}}}}}')
    lines = list(runner.replay(model.load(_YAML.format(category=category, events="\n".join(events)))))
    deducted = sum(
        paise(d["amount"])
        for d in of(lines, "deduction")
        if d["connection"] == "1234567891601" and d["date"].startswith("2025-06")
    )
    [bill] = [b for b in of(lines, "bill") if b.get("mode") == "postpaid" and b["month"] == "2025-06"]
    assert paise(bill["charges"]) == deducted
    assert bill["arrears"] == "0.00"
    assert bill["units"] == f"{wh / 1000:.3f}"


_DISCONNECTED = """
start: "2025-06-02T09:00:00+05:30"
end: "2025-06-12T12:00:00+05:30"
tariff_book: sample
connections:
  - {id: "1234567891701", category: LT-I, load_kw: 2, mobile: "+919876501701", first_recharge_done: true, balance: 20}
events:
"""


def test_a_disconnected_connection_is_reconnected_when_its_switch_to_postpaid_takes_effect() -> None:
    readings = "\n".join(
        f'  - {{at: "2025-06-{d:02d}T00:15:00+05:30", reading: {{connection: "1234567891701", kwh: {(d - 2) * 8}}}}}'
        for d in range(3, 13)
    )
    ask = '  - {at: "2025-06-09T15:00:00+05:30", mode: {connection: "1234567891701", mode: postpaid}}'
    lines = list(runner.replay(model.load(_DISCONNECTED + readings + "\n" + ask)))
    states = [(s["at"], s["to"]) for s in of(lines, "state")]
    assert states[0][1] == "disconnected" and states[0][0] < "2025-06-09"
    [changed] = of(lines, "mode.changed")
    assert changed["at"] == "2025-06-10T06:00:00+05:30"
    reconnect = [c for c in of(lines, "command.sent") if c["command"] == "reconnect"]
    assert reconnect and reconnect[0]["at"] == changed["at"]
    assert states[-1] == ("2025-06-10T06:00:00+05:30", "active")
    # A debit carried onto the first bill, and no more disconnections.
    assert paise(changed["carried"]) < 0
    assert [c["command"] for c in of(lines, "command.sent")] == ["disconnect", "reconnect"]
