"""`wattwallet bills run | show | pdf`: what an operator types, with exit 2 and nothing written on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.billing.conftest import Plan, simulate_june
from tests.conftest import AddConnection, table_counts
from wattwallet.cli import main as cli
from wattwallet.context import Context

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


def wattwallet(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args), env={"WATTWALLET_DATABASE_URL": url})


def test_run_show_and_pdf(
    ctx: Context, store_url: str, add_connection: AddConnection, tmp_path: Path
) -> None:
    service_no = add_connection(language="te")
    simulate_june(ctx, service_no, Plan(daily_kwh={n: 4 for n in range(3, 32)}))
    first = wattwallet(store_url, "bills", "run", "--month", "2025-06")
    assert first.exit_code == 0, first.output
    assert "1 new" in first.output
    again = wattwallet(store_url, "bills", "run", "--month", "2025-06", "--json")
    assert json.loads(again.output)["unchanged"] == 1
    shown = wattwallet(store_url, "bills", "show", service_no, "--month", "2025-06", "--json")
    data = json.loads(shown.output)
    assert data["bill_no"] == f"BL2506-{service_no}" and data["statement"]["units_wh"] == 29 * 4_000
    text = wattwallet(store_url, "bills", "show", service_no, "--month", "2025-06")
    assert "closing balance" in text.output and data["verification_code"] in text.output
    for language in ("te", "en"):
        out = tmp_path / f"bill-{language}.pdf"
        made = wattwallet(
            store_url,
            "bills",
            "pdf",
            service_no,
            "--month",
            "2025-06",
            "--language",
            language,
            "-o",
            str(out),
        )
        assert made.exit_code == 0, made.output
        assert out.read_bytes().startswith(b"%PDF")


def test_bad_input_exits_2_and_writes_nothing(
    ctx: Context, store_url: str, add_connection: AddConnection, tmp_path: Path
) -> None:
    service_no = add_connection()
    simulate_june(ctx, service_no, Plan(daily_kwh={n: 4 for n in range(3, 32)}))
    before = table_counts(ctx.store)
    out = tmp_path / "x.pdf"
    cases = [
        (("bills", "run", "--month", "2999-01"), "bill_month_not_over"),
        (("bills", "run", "--month", "2025-6x"), "bill_month_invalid"),
        (("bills", "run", "--month", "2025-06", "--connection", "9999999999999"), "unknown_connection"),
        (("bills", "run", "--month", "2025-05", "--connection", service_no), "bill_month_before_connection"),
        (("bills", "show", "9999999999999", "--month", "2025-06"), "unknown_connection"),
        (("bills", "show", service_no, "--month", "2025-06"), "bill_not_found"),
        (
            ("bills", "pdf", service_no, "--month", "2025-06", "--language", "hi", "-o", str(out)),
            "bill_language_invalid",
        ),
        (("bills", "pdf", service_no, "--month", "2025-06", "-o", str(out)), "bill_not_found"),
    ]
    for args, code in cases:
        result = wattwallet(store_url, *args)
        assert result.exit_code == 2, (args, result.output)
        assert f"[{code}]" in result.output, (args, result.output)
    assert table_counts(ctx.store) == before
    assert not out.exists()
