"""A malformed scenario exits 2 with a message naming the field and its line; never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from wattwallet.cli import main as cli

GOOD_CONNECTION = """
connections:
  - id: "1234567890123"
    category: LT-I
    load_kw: 2
    mobile: "+919876543210"
"""


def run_in_process(tmp_path: Path, text: str) -> Result:
    """The command in this process: fast enough for many cases."""
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return CliRunner().invoke(cli.app, ["scenario", "run", str(path)])


def run(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    """The real command in a child process: exit code, stdout and stderr as a user sees them."""
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "wattwallet", "scenario", "run", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


CASES = {
    "not yaml": ("start: [unclosed", "not valid YAML"),
    "not a mapping": ("- 1\n- 2", "(top)"),
    "missing start": (GOOD_CONNECTION + "events: []", "start"),
    "bad start": ('start: "yesterday"' + GOOD_CONNECTION, "line 1, start: 'yesterday' is not an ISO 8601"),
    "naive start": ('start: "2025-06-02T09:00:00"' + GOOD_CONNECTION, "has no UTC offset"),
    "unknown top field": ('start: "2025-06-02T09:00:00+05:30"\nstrat: 1', "strat"),
    "unknown tariff book": (
        'start: "2025-06-02T09:00:00+05:30"\ntariff_book: APNPDCL' + GOOD_CONNECTION,
        "line 2, tariff_book: unknown tariff book 'APNPDCL'",
    ),
    "unknown setting": (
        'start: "2025-06-02T09:00:00+05:30"\nsettings:\n  first_recharge_flor_paise: 1',
        "line 3, settings.first_recharge_flor_paise: unknown field",
    ),
    "bad setting": (
        'start: "2025-06-02T09:00:00+05:30"\nsettings:\n  dues_max_share_percent: 150',
        "settings.dues_max_share_percent",
    ),
    "bad mobile": (
        'start: "2025-06-02T09:00:00+05:30"\n' + GOOD_CONNECTION.replace("+919876543210", "+914023456789"),
        "connections[0]: '+914023456789' is not a mobile number",
    ),
    "unknown category": (
        'start: "2025-06-02T09:00:00+05:30"\n' + GOOD_CONNECTION.replace("LT-I", "LT-IX"),
        "unknown tariff category 'LT-IX'",
    ),
    "missing load": (
        'start: "2025-06-02T09:00:00+05:30"\n' + GOOD_CONNECTION.replace("    load_kw: 2\n", ""),
        "connections[0].load_kw: is required",
    ),
    "balance without first recharge": (
        'start: "2025-06-02T09:00:00+05:30"\n' + GOOD_CONNECTION + "    balance: 10\n",
        "connections[0].balance: an opening balance needs first_recharge_done",
    ),
    "duplicate connection": (
        'start: "2025-06-02T09:00:00+05:30"\n'
        + GOOD_CONNECTION
        + '  - {id: "1234567890123", category: LT-I, load_kw: 1, mobile: "+919876543211"}\n',
        "connections[1].id: connection 1234567890123 appears twice",
    ),
    "amount with three decimals": (
        'start: "2025-06-02T09:00:00+05:30"\n' + GOOD_CONNECTION + "events:\n"
        '  - at: "2025-06-02T09:05:00+05:30"\n'
        '    recharge: {connection: "1234567890123", amount: 500.125, ref: "A"}\n',
        "line 10, events[0].recharge.amount: amount 500.125 has more than two decimals",
    ),
    "amount not a number": (
        'start: "2025-06-02T09:00:00+05:30"\n' + GOOD_CONNECTION + "events:\n"
        '  - at: "2025-06-02T09:05:00+05:30"\n'
        '    recharge: {connection: "1234567890123", amount: "five hundred", ref: "A"}\n',
        "events[0].recharge.amount",
    ),
    "missing ref": (
        'start: "2025-06-02T09:00:00+05:30"\n' + GOOD_CONNECTION + "events:\n"
        '  - at: "2025-06-02T09:05:00+05:30"\n'
        '    recharge: {connection: "1234567890123", amount: 500}\n',
        "events[0].recharge.ref: is required",
    ),
    "unknown event field": (
        'start: "2025-06-02T09:00:00+05:30"\n' + GOOD_CONNECTION + "events:\n"
        '  - at: "2025-06-02T09:05:00+05:30"\n'
        '    recharge: {connection: "1234567890123", amount: 500, ref: "A", amont: 1}\n',
        "events[0].recharge.amont: unknown field",
    ),
    "two kinds in one event": (
        'start: "2025-06-02T09:00:00+05:30"\n' + GOOD_CONNECTION + "events:\n"
        '  - at: "2025-06-02T09:05:00+05:30"\n'
        '    recharge: {connection: "1234567890123", amount: 500, ref: "A"}\n'
        '    language: {connection: "1234567890123", language: en}\n',
        "events[0]: an event has `at` and exactly one of",
    ),
    "unknown event kind": (
        'start: "2025-06-02T09:00:00+05:30"\n' + GOOD_CONNECTION + "events:\n"
        '  - at: "2025-06-02T09:05:00+05:30"\n'
        '    refund: {connection: "1234567890123"}\n',
        "events[0].refund: unknown event kind",
    ),
    "event before start": (
        'start: "2025-06-02T09:00:00+05:30"\n' + GOOD_CONNECTION + "events:\n"
        '  - at: "2025-06-01T09:05:00+05:30"\n'
        '    recharge: {connection: "1234567890123", amount: 500, ref: "A"}\n',
        "events[0].at: event is before the scenario start",
    ),
    "event missing at": (
        'start: "2025-06-02T09:00:00+05:30"\n' + GOOD_CONNECTION + "events:\n"
        '  - recharge: {connection: "1234567890123", amount: 500, ref: "A"}\n',
        "events[0].at",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_malformed_scenario_exits_2_naming_the_field(tmp_path: Path, case: str) -> None:
    text, expected = CASES[case]
    result = run_in_process(tmp_path, text)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not an uncaught error
    assert expected in result.stderr, result.stderr
    assert result.stdout == ""


def test_a_malformed_scenario_in_a_real_process_shows_no_traceback(tmp_path: Path) -> None:
    text, expected = CASES["amount with three decimals"]
    result = run(tmp_path, text)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and expected in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wattwallet", "scenario", "run", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "cannot read" in result.stderr


def test_good_scenario_prints_json_lines_and_exits_0(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        'start: "2025-06-02T09:00:00+05:30"\n' + GOOD_CONNECTION + "events:\n"
        '  - at: "2025-06-02T09:05:00+05:30"\n'
        '    recharge: {connection: "1234567890123", amount: "500.00", channel: kiosk, ref: "K-1"}\n',
    )
    assert result.returncode == 0, result.stderr
    line, receipt = [json.loads(text) for text in result.stdout.splitlines()]
    assert receipt["type"] == "notification" and receipt["kind"] == "recharge_success"
    assert line["type"] == "recharge.accepted" and line["balance"] == "500.00" and line["channel"] == "kiosk"
