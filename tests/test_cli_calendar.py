"""`wattwallet calendar` as an operator types it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from typer.testing import CliRunner, Result

from wattwallet import cli
from wattwallet.domain import calendar


def wattwallet(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args), env={"WATTWALLET_DATABASE_URL": url})


def test_seed_list_and_set(store_url: str) -> None:
    expected = len(calendar.default_non_working_days(2025))
    seeded = wattwallet(store_url, "calendar", "seed", "--year", "2025")
    assert seeded.exit_code == 0, seeded.output
    assert f"calendar 2025: {expected} default non-working days added" in seeded.stdout
    again = wattwallet(store_url, "calendar", "seed", "--year", "2025")
    assert again.exit_code == 0 and "calendar 2025: 0 default non-working days added" in again.stdout

    changed = wattwallet(
        store_url,
        "calendar",
        "set",
        "2025-06-14",
        "--working",
        "--reason",
        "Working Saturday: meter drive",
        "--by",
        "A. Rao",
    )
    assert changed.exit_code == 0, changed.output
    assert (
        "2025-06-14 (Sat) is now a working day: Working Saturday: meter drive (by A. Rao)" in changed.stdout
    )
    holiday = wattwallet(
        store_url, "calendar", "set", "2025-06-18", "--holiday", "--reason", "Cyclone", "--by", "A. Rao"
    )
    assert holiday.exit_code == 0 and "is now not a working day: Cyclone" in holiday.stdout

    listed = json.loads(wattwallet(store_url, "calendar", "list", "--year", "2025", "--json").stdout)
    by_day = {row["day"]: row for row in listed}
    assert len(listed) == expected + 1
    assert by_day["2025-06-14"]["working"] is True and by_day["2025-06-14"]["source"] == "staff"
    cyclone = by_day["2025-06-18"]
    assert (cyclone["working"], cyclone["reason"], cyclone["source"]) == (False, "Cyclone", "staff")
    assert (cyclone["updated_by"], cyclone["weekday"]) == ("A. Rao", "Wed")
    assert by_day["2025-08-15"]["reason"] == "Independence Day" and by_day["2025-08-15"]["source"] == "seed"

    text = wattwallet(store_url, "calendar", "list", "--year", "2025")
    assert text.exit_code == 0, text.output
    assert f"calendar 2025: {expected} non-working days, 2 staff changes" in text.stdout
    assert "2025-06-14 Sat  working  Working Saturday: meter drive (staff: A. Rao)" in text.stdout
    assert "2025-01-14 Tue  holiday  Makar Sankranti" in text.stdout


def test_list_seeds_a_year_never_seeded(store_url: str) -> None:
    listed = json.loads(wattwallet(store_url, "calendar", "list", "--year", "2026", "--json").stdout)
    assert len(listed) == len(calendar.default_non_working_days(2026))


def test_bad_input_exits_2_with_a_clear_message(store_url: str) -> None:
    bad_day = wattwallet(
        store_url, "calendar", "set", "2025-02-30", "--holiday", "--reason", "x", "--by", "A"
    )
    assert bad_day.exit_code == 2
    assert "error: DAY must be a date as YYYY-MM-DD" in bad_day.stderr and "[invalid_day]" in bad_day.stderr

    no_reason = wattwallet(
        store_url, "calendar", "set", "2025-02-03", "--holiday", "--reason", " ", "--by", "A"
    )
    assert no_reason.exit_code == 2 and "[invalid_calendar_entry]" in no_reason.stderr

    far = wattwallet(store_url, "calendar", "seed", "--year", "2099")
    assert far.exit_code == 2 and "[calendar_year_unsupported]" in far.stderr

    missing_flag = wattwallet(store_url, "calendar", "set", "2025-02-03", "--reason", "x", "--by", "A")
    assert missing_flag.exit_code == 2
