"""`wattwallet calendar` as an operator types it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from wattwallet import holiday_lists
from wattwallet.cli import main as cli


def wattwallet(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args), env={"WATTWALLET_DATABASE_URL": url})


def test_seed_list_and_set(store_url: str) -> None:
    expected = len(holiday_lists.year_defaults(2025).days)
    seeded = wattwallet(store_url, "calendar", "seed", "--year", "2025")
    assert seeded.exit_code == 0, seeded.output
    assert (
        f"calendar 2025: {expected} default non-working days written; "
        "official: G.O.Rt.No.2115, GA (Political.B) Dept, 06-12-2024" in seeded.stdout
    )
    again = wattwallet(store_url, "calendar", "seed", "--year", "2025")
    assert again.exit_code == 0 and "calendar 2025: 0 default non-working days written" in again.stdout

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
    independence = by_day["2025-08-15"]
    assert (independence["reason"], independence["reason_te"]) == ("Independence Day", "స్వాతంత్ర్య దినోత్సవం")
    assert (independence["source"], independence["status"]) == ("official", "confirmed")
    assert independence["reference"].startswith("G.O.Rt.No.2115")

    text = wattwallet(store_url, "calendar", "list", "--year", "2025")
    assert text.exit_code == 0, text.output
    assert f"calendar 2025: {expected} non-working days, 2 staff changes" in text.stdout
    assert "2025-06-14 Sat  working  Working Saturday: meter drive (staff: A. Rao)" in text.stdout
    assert "2025-01-14 Tue  holiday  Makara Sankranti\n" in text.stdout
    assert "  basis: official: G.O.Rt.No.2115" in text.stdout


def test_list_seeds_a_year_never_seeded(store_url: str) -> None:
    listed = json.loads(wattwallet(store_url, "calendar", "list", "--year", "2026", "--json").stdout)
    assert len(listed) == len(holiday_lists.year_defaults(2026).days)
    assert {row["source"] for row in listed} == {"official"}
    unconfirmed = {row["day"] for row in listed if row["status"] == "unconfirmed"}
    assert unconfirmed == {"2026-03-21", "2026-10-18"}


def test_a_year_without_an_official_list_is_marked_computed_not_confirmed(store_url: str) -> None:
    text = wattwallet(store_url, "calendar", "list", "--year", "2027")
    assert text.exit_code == 0, text.output
    assert "  basis: computed, not confirmed: no official list for 2027" in text.stdout
    assert "2027-01-26 Tue  holiday  Republic Day  [computed, not confirmed]" in text.stdout
    assert "2027-01-03 Sun  holiday  Sunday\n" in text.stdout  # Sundays need no list


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


CIRCULAR = """date,name_en,name_te
2026-01-14,Bhogi,భోగి
2026-01-15,Makara Sankranti,మకర సంక్రాంతి
2026-03-21,Eid-ul-Fitr (Ramzan),రంజాన్
"""


def test_import_a_discom_circular(store_url: str, tmp_path: Path) -> None:
    path = tmp_path / "apspdcl-2026.csv"
    path.write_text(CIRCULAR, encoding="utf-8")
    done = wattwallet(
        store_url, "calendar", "import", str(path), "--source", "APSPDCL circular no. 9", "--by", "S. Reddy"
    )
    assert done.exit_code == 0, done.output
    assert "calendar 2026: 3 holidays from 'APSPDCL circular no. 9' loaded" in done.stdout
    listed = {
        r["day"]: r
        for r in json.loads(wattwallet(store_url, "calendar", "list", "--year", "2026", "--json").stdout)
    }
    assert "2026-03-03" not in listed  # Holi: not in this circular
    assert listed["2026-01-15"]["source"] == "circular" and listed["2026-01-15"]["updated_by"] == "S. Reddy"
    assert listed["2026-01-15"]["reference"] == "APSPDCL circular no. 9"
    assert listed["2026-01-04"]["reason"] == "Sunday"
    history = json.loads(wattwallet(store_url, "calendar", "history", "--year", "2026", "--json").stdout)
    assert [(h["action"], h["by"]) for h in history] == [("import", "S. Reddy")]
    assert history[0]["reference"] == "APSPDCL circular no. 9"

    moved = wattwallet(
        store_url,
        "calendar",
        "move",
        "2026-03-21",
        "2026-03-20",
        "--reason",
        "moon sighting",
        "--by",
        "B. Devi",
    )
    assert moved.exit_code == 0, moved.output
    assert "2026-03-21 (Sat) is now a working day; 2026-03-20 (Fri) is the holiday" in moved.stdout
    text = wattwallet(store_url, "calendar", "history", "--year", "2026").stdout
    assert (
        "import  by S. Reddy: APSPDCL circular no. 9" in text and "move    by B. Devi: moon sighting" in text
    )


def test_a_bad_circular_exits_2_naming_the_line_and_writes_nothing(store_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(CIRCULAR + "2026-02-30,Nothing,\n", encoding="utf-8")
    bad = wattwallet(store_url, "calendar", "import", str(path), "--source", "circular 1", "--by", "S. Reddy")
    assert bad.exit_code == 2
    assert "error: line 5: the date must be a date as YYYY-MM-DD" in bad.stderr
    assert "[invalid_holiday_list]" in bad.stderr
    missing = wattwallet(
        store_url, "calendar", "import", str(tmp_path / "none.csv"), "--source", "c", "--by", "S. Reddy"
    )
    assert missing.exit_code == 2 and "error: cannot read" in missing.stderr
    no_source = wattwallet(store_url, "calendar", "import", str(path), "--source", " ", "--by", "S. Reddy")
    assert no_source.exit_code == 2 and "needs its source" in no_source.stderr
    history = json.loads(wattwallet(store_url, "calendar", "history", "--year", "2026", "--json").stdout)
    assert history == []
