"""The shipped example scenarios, replayed by the real engine, pin the recharge rules down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wattwallet.scenario import model, runner

EXAMPLES = Path(__file__).parents[2] / "examples" / "scenarios"


def replay(name: str, *types: str) -> list[dict[str, Any]]:
    """The lines of an example; only those of the given types (default: recharge outcomes)."""
    lines = runner.replay(model.load((EXAMPLES / name).read_text(encoding="utf-8")))
    wanted = types or ("recharge.accepted", "recharge.rejected")
    return [line for line in lines if line["type"] in wanted]


def brief(lines: list[dict[str, Any]], *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(line.get(f) for f in ("type", *fields)) for line in lines]


def test_every_example_replays() -> None:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        lines = list(runner.replay(model.load(path.read_text(encoding="utf-8"))))
        assert lines, f"{path.name} printed nothing"
        assert all(line["at"].endswith("+05:30") and "type" in line for line in lines)


def test_first_recharge() -> None:
    lines = replay("first_recharge.yaml")
    assert brief(lines, "ref", "reason", "minimum", "balance") == [
        ("recharge.rejected", "PG-1", "first_recharge_below_minimum", "500.00", None),
        ("recharge.accepted", "PG-2", None, None, "500.00"),
        ("recharge.rejected", "APP-1", "not_multiple_of_100", "200.00", None),
        ("recharge.rejected", "APP-2", "below_minimum", "100.00", None),
        ("recharge.accepted", "APP-3", None, None, "700.00"),
        ("recharge.accepted", "RT-77-0001", None, None, "25700.00"),
    ]
    assert lines[0]["at"] == "2025-06-02T09:05:00+05:30"
    assert all(line["connection"] == "1234567890123" for line in lines)


def test_each_accepted_recharge_sends_its_receipt_in_the_consumers_language() -> None:
    lines = replay("first_recharge.yaml", "recharge.accepted", "notification")
    receipts = [line for line in lines if line["type"] == "notification"]
    assert [line["kind"] for line in receipts] == ["recharge_success"] * 3
    assert all(line["language"] == "te" for line in receipts)
    assert "₹25,000.00" in receipts[-1]["text"] and "రీఛార్జ్" in receipts[-1]["text"]


def test_mandatory_charges_raise_the_first_recharge_minimum() -> None:
    lines = replay("mandatory_charges.yaml")
    assert brief(lines, "reason", "minimum", "amount", "balance") == [
        ("recharge.rejected", "first_recharge_below_minimum", "900.00", "500.00", None),
        ("recharge.accepted", None, None, "900.50", "900.50"),
    ]


def test_dues_are_paid_first() -> None:
    lines = replay("dues_first.yaml")
    assert brief(lines, "connection", "amount", "to_dues", "to_wallet", "balance", "dues") == [
        ("recharge.accepted", "1234567890200", "500.00", "500.00", "0.00", "0.00", "200.00"),
        ("recharge.accepted", "1234567890200", "300.00", "200.00", "100.00", "100.00", "0.00"),
        ("recharge.accepted", "1234567890201", "100.00", "0.00", "100.00", "142.50", "0.00"),
    ]


def test_dues_share_cap() -> None:
    assert brief(replay("dues_capped.yaml"), "to_dues", "to_wallet", "dues") == [
        ("recharge.accepted", "400.00", "600.00", "600.00"),
        ("recharge.accepted", "200.00", "300.00", "400.00"),
    ]


def test_idempotency() -> None:
    lines = replay("idempotency.yaml")
    assert brief(lines, "connection", "channel", "reason", "balance", "repeat") == [
        ("recharge.accepted", "1234567890401", "portal", None, "300.00", None),
        ("recharge.accepted", "1234567890401", "portal", None, "300.00", True),
        ("recharge.rejected", "1234567890401", "portal", "duplicate_conflict", None, None),
        ("recharge.rejected", "1234567890402", "portal", "duplicate_conflict", None, None),
        ("recharge.accepted", "1234567890402", "kiosk", None, "300.00", None),
    ]
    assert lines[0]["receipt"] == lines[1]["receipt"]


def test_bad_requests_each_get_their_reason() -> None:
    assert [line["reason"] for line in replay("bad_requests.yaml")] == [
        "unknown_connection",
        "unknown_channel",
        "amount_not_positive",
        "amount_not_positive",
        "connection_not_prepaid",
        "reference_invalid",
    ]


@pytest.mark.parametrize("name", ["first_recharge.yaml", "idempotency.yaml"])
def test_replay_is_deterministic(name: str) -> None:
    assert replay(name) == replay(name)


def test_lt2_moves_from_minor_to_major_the_day_the_month_passes_50_units() -> None:
    lines = replay("lt2_minor_to_major.yaml", "deduction")
    by_day = {line["date"]: {i["component"]: i["amount"] for i in line["items"]} for line in lines}
    assert by_day["2025-11-04"]["energy:minor"] == "64.80"  # 48 units: still minor, Rs 5.40
    crossing = by_day["2025-11-05"]
    assert crossing["energy:major:repricing"] == "72.00"  # 48 units repriced at Rs 6.90
    assert (crossing["energy:major:0-50"], crossing["energy:major:50-100"]) == ("13.80", "76.50")
    assert crossing["fixed_charge:repricing"] == "8.00"  # 4 days at Rs 75 instead of Rs 55 per kW
    assert by_day["2025-11-06"]["energy:major:50-100"] == "91.80"
    assert all(day["electricity_duty"] == "12.00" for day in by_day.values())  # Rs 1 a unit


def test_a_levy_window_opening_adds_its_line_to_the_itemisation() -> None:
    lines = replay("lt2_minor_to_major.yaml", "deduction")
    refund = "levy:FPPCA-FY2024-25-refund"
    with_refund = [line["date"] for line in lines if refund in {i["component"] for i in line["items"]}]
    assert with_refund and min(with_refund) == "2025-11-01"
    assert all(d >= "2025-11-01" for d in with_refund)


def test_a_scenario_without_a_book_is_rated_by_the_deployment_discoms() -> None:
    text = (
        (EXAMPLES / "lt2_minor_to_major.yaml")
        .read_text(encoding="utf-8")
        .replace("tariff_book: APSPDCL\n", "")
    )
    assert model.load(text).tariff_book == "APSPDCL"
    assert model.load(text, default_book="APEPDCL").tariff_book == "APEPDCL"
