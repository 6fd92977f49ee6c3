"""The operators' commands, on SQLite and PostgreSQL, as an operator types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from wattwallet.cli import main as cli
from wattwallet.store import migrate

SN = "1234567890123"


def wattwallet(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args), env={"WATTWALLET_DATABASE_URL": url})


@pytest.fixture
def url(store_url: str) -> str:
    result = wattwallet(store_url, "db", "upgrade")
    assert result.exit_code == 0, result.output
    result = wattwallet(
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
        "SM-0001",
        "--language",
        "te",
        "--arrears",
        "250",
    )
    assert result.exit_code == 0, result.output
    return store_url


def test_recharge_wallet_and_verify(url: str) -> None:
    refused = wattwallet(
        url, "recharge", SN, "400", "--ref", "C-1", "--channel", "counter", "--executive", "sc.ravi"
    )
    assert refused.exit_code == 2
    assert "first recharge must be at least ₹500.00 [first_recharge_below_minimum]" in refused.stderr

    paid = wattwallet(
        url, "recharge", SN, "500", "--ref", "C-1", "--channel", "counter", "--executive", "sc.ravi"
    )
    assert paid.exit_code == 0, paid.output
    assert "₹250.00 to dues, ₹250.00 to the wallet" in paid.stdout

    repeat = wattwallet(
        url, "recharge", SN, "500", "--ref", "C-1", "--json", "--channel", "counter", "--executive", "sc.ravi"
    )
    receipt = json.loads(repeat.stdout)
    assert receipt["replayed"] is True and receipt["balance"] == "250.00" and receipt["to_dues"] == "250.00"

    wallet = json.loads(wattwallet(url, "wallet", SN, "--json").stdout)
    assert wallet["balance"] == "250.00" and wallet["dues"] == "0.00" and wallet["language"] == "te"
    assert [r["reference"] for r in wallet["recent_recharges"]] == ["C-1"]

    text = wattwallet(url, "wallet", SN)
    assert "balance ₹250.00" in text.stdout

    verified = wattwallet(url, "ledger", "verify")
    assert verified.exit_code == 0 and "ledger OK: 2 postings" in verified.stdout


def test_dues_add_then_recovered(url: str) -> None:
    wattwallet(url, "recharge", SN, "500", "--ref", "C-1", "--channel", "counter", "--executive", "sc.ravi")
    added = wattwallet(url, "dues", "add", SN, "120.50", "--reason", "meter replacement", "--ref", "ADJ-7")
    assert added.exit_code == 0 and "total dues now ₹120.50" in added.stdout
    paid = json.loads(
        wattwallet(
            url,
            "recharge",
            SN,
            "200",
            "--ref",
            "C-2",
            "--json",
            "--channel",
            "counter",
            "--executive",
            "sc.ravi",
        ).stdout
    )
    assert (paid["to_dues"], paid["to_wallet"], paid["balance"]) == ("120.50", "79.50", "329.50")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["recharge", SN, "12.345", "--ref", "C-9", "--channel", "counter", "--executive", "sc.ravi"],
            "[amount_too_many_decimals]",
        ),
        (
            ["recharge", SN, "abc", "--ref", "C-9", "--channel", "counter", "--executive", "sc.ravi"],
            "[amount_not_numeric]",
        ),
        (
            ["recharge", SN, "--ref", "C-9", "--channel", "counter", "--executive", "sc.ravi", "--", "-5"],
            "[amount_not_positive]",
        ),
        (
            [
                "recharge",
                "9999999999999",
                "500",
                "--ref",
                "C-9",
                "--channel",
                "counter",
                "--executive",
                "sc.ravi",
            ],
            "[unknown_connection]",
        ),
        (["recharge", SN, "500", "--ref", "C-9", "--channel", "upi"], "[unknown_channel]"),
        (
            [
                "recharge",
                SN,
                "500",
                "--ref",
                "C-9",
                "--paid-at",
                "yesterday",
                "--channel",
                "counter",
                "--executive",
                "sc.ravi",
            ],
            "--paid-at must be an ISO 8601",
        ),
        (["wallet", "12"], "[service_number_invalid]"),
        (
            [
                "connection",
                "add",
                "1234567890124",
                "--name",
                "X",
                "--category",
                "LT-I",
                "--load-kw",
                "2",
                "--mobile",
                "040 2345 6789",
                "--meter",
                "SM-2",
            ],
            "[phone_not_mobile]",
        ),
        (
            [
                "connection",
                "add",
                "1234567890124",
                "--name",
                "X",
                "--category",
                "HT",
                "--load-kw",
                "2",
                "--mobile",
                "9876543210",
                "--meter",
                "SM-2",
            ],
            "[unknown_category]",
        ),
        (
            [
                "connection",
                "add",
                SN,
                "--name",
                "X",
                "--category",
                "LT-I",
                "--load-kw",
                "2",
                "--mobile",
                "9876543210",
                "--meter",
                "SM-2",
            ],
            "[connection_exists]",
        ),
    ],
)
def test_bad_input_exits_2_with_the_code(url: str, args: list[str], message: str) -> None:
    result = wattwallet(url, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert isinstance(result.exception, SystemExit)


def test_verify_exits_1_naming_the_first_discrepancy(url: str) -> None:
    wattwallet(url, "recharge", SN, "500", "--ref", "C-1", "--channel", "counter", "--executive", "sc.ravi")
    from wattwallet.store import db

    store = db.Store.from_url(url)
    with store.write() as conn:
        conn.exec_driver_sql(f"UPDATE ledger_accounts SET balance = balance + 1 WHERE code = 'wallet:{SN}'")
    store.dispose()
    result = wattwallet(url, "ledger", "verify")
    assert result.exit_code == 1
    assert f"ledger FAILED [stored_balance]: account wallet:{SN} stores a balance of 25001" in result.stderr
    as_json = json.loads(wattwallet(url, "ledger", "verify", "--json").stdout)
    assert as_json["ok"] is False and as_json["discrepancies"][0]["check"] == "stored_balance"


def test_a_database_without_the_schema_says_to_upgrade(tmp_path: Path) -> None:
    result = wattwallet(f"sqlite:///{tmp_path / 'new.db'}", "wallet", SN)
    assert result.exit_code == 2
    assert "run `wattwallet db upgrade` first" in result.stderr


def test_db_status(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert wattwallet(url, "db", "status").exit_code == 1
    assert wattwallet(url, "db", "upgrade").exit_code == 0
    status = wattwallet(url, "db", "status")
    head = migrate.head_revision()
    assert status.exit_code == 0 and f"database schema: {head}; latest: {head}" in status.stdout


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["db"],
        ["connection", "add"],
        ["recharge"],
        ["wallet"],
        ["dues", "add"],
        ["ledger", "verify"],
        ["scenario", "run"],
    ],
)
def test_every_command_explains_itself(command: list[str]) -> None:
    result = CliRunner().invoke(cli.app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout and len(result.stdout) > 200
