"""The official holiday lists shipped as data, day by day, and a DISCOM circular read from CSV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from wattwallet import holiday_lists
from wattwallet.domain import holiday_list, working_days

# What the G.O. itself says (counted in the copies read): the files must hold exactly this many.
GENERAL_HOLIDAYS = {2025: 23, 2026: 24}


def _raw(year: int) -> dict[str, Any]:
    data = yaml.safe_load((holiday_lists.DIRECTORY / f"ap-{year}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_year_matches_its_official_file_day_by_day(year: int) -> None:
    """Every day of the year: not working exactly when it is a Sunday, a second Saturday or a
    general holiday of the shipped file (read here straight from the YAML)."""
    listed = {entry["date"] for entry in _raw(year)["holidays"]}
    assert len(listed) == GENERAL_HOLIDAYS[year]
    days = holiday_lists.default_working_days(dt.date(year, 1, 1), dt.date(year, 12, 31))
    assert days.unconfirmed_years == frozenset()
    day = dt.date(year, 1, 1)
    checked = 0
    while day.year == year:
        off = day.weekday() == 6 or working_days.is_second_saturday(day) or day in listed
        assert days.is_working(day) is not off, day
        checked += 1
        day += dt.timedelta(days=1)
    assert checked == (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days


@pytest.mark.parametrize(
    ("day", "working"),
    [
        # The corrections: the G.O. against the `holidays` package.
        ("2026-01-13", True),
        ("2026-01-14", False),  # Bhogi
        ("2026-01-15", False),  # Makara Sankranti
        ("2026-01-16", False),  # Kanuma
        ("2026-03-03", False),  # Holi
        ("2026-03-04", True),
        ("2026-03-27", False),  # Sri Rama Navami
        ("2026-03-26", True),
        ("2026-06-25", False),  # Moharram
        ("2026-06-26", True),
        ("2026-08-21", False),  # Varalakshmi Vratham
        ("2026-08-28", True),
        ("2026-08-25", False),  # Milad-un-Nabi
        ("2026-08-26", True),
        ("2026-10-19", True),  # Durgashtami is 18 Oct (a Sunday)
        # Ramzan: 20 Mar in the G.O., moved to Saturday 21 Mar on moon sighting.
        ("2026-03-20", True),
        ("2026-03-21", False),
        # Central-government days that are not AP general holidays.
        ("2026-03-31", True),  # Mahavir Jayanti
        ("2026-05-01", True),  # Buddha Purnima
        ("2026-11-24", True),  # Guru Nanak Jayanti
        ("2025-04-10", True),
        ("2025-05-12", True),
        ("2025-11-05", True),
        # 2025 days of G.O.Rt.No.2115.
        ("2025-08-08", False),  # Varalakshmi Vratham
        ("2025-09-30", False),  # Durgashtami
        ("2025-08-16", False),  # Sri Krishna Ashtami, a third Saturday
    ],
)
def test_known_corrections(day: str, working: bool) -> None:
    days = holiday_lists.default_working_days(dt.date(2025, 1, 1), dt.date(2026, 12, 31))
    assert days.is_working(dt.date.fromisoformat(day)) is working


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_holiday_has_both_names_a_source_and_says_what_is_unconfirmed(year: int) -> None:
    found = holiday_lists.official(year)
    assert found is not None and found.year == year and found.kind == holiday_list.GOVERNMENT_ORDER
    for h in found.holidays:
        assert h.name_en and h.name_te and h.source.startswith(found.authority), h
        assert h.confirmed or h.missing
    raw = _raw(year)
    assert "public-sector undertaking" in (holiday_lists.DIRECTORY / f"ap-{year}.yaml").read_text()
    assert set(raw["sources_read"]) >= {k for e in raw["holidays"] for k in e.get("seen_in", [])}


def test_the_unconfirmed_2026_dates_are_marked() -> None:
    year = holiday_lists.year_defaults(2026)
    unconfirmed = {d for d, e in year.days.items() if not e.confirmed}
    assert unconfirmed == {dt.date(2026, 3, 21), dt.date(2026, 10, 18)}
    assert year.confirmed and year.basis == working_days.OFFICIAL  # a G.O. year, a few dates unconfirmed
    assert year.days[dt.date(2026, 3, 21)].reason_te == "ఈద్-ఉల్-ఫితర్ (రంజాన్)"
    assert "G.O. number not seen" in year.reference


def test_a_list_that_hides_what_is_unconfirmed_is_refused() -> None:
    data = {
        "year": 2026,
        "authority": "G.O.",
        "holidays": [{"date": "2026-01-14", "name_en": "Bhogi", "name_te": "భోగి", "unconfirmed": True}],
    }
    with pytest.raises(holiday_list.InvalidHolidayList, match="does not say what is missing"):
        holiday_list.from_data(data)
    data["holidays"] = [{"date": "2026-01-14", "name_en": "Bhogi", "name_te": "భోగి", "seen_in": ["x"]}]
    with pytest.raises(holiday_list.InvalidHolidayList, match="sources_read"):
        holiday_list.from_data(data)
    data["holidays"] = [{"date": "2025-12-31", "name_en": "Bhogi", "name_te": "భోగి"}]
    with pytest.raises(holiday_list.InvalidHolidayList, match="not in 2026"):
        holiday_list.from_data(data)


def test_shipped_years() -> None:
    assert holiday_lists.years() == [2025, 2026]


# --- a DISCOM circular from CSV ----------------------------------------------------------------

CIRCULAR = """date,name_en,name_te
# APSPDCL holidays 2026
2026-01-14,Bhogi,భోగి
2026-01-15,Makara Sankranti,మకర సంక్రాంతి

2026-10-02,Mahatma Gandhi Jayanti,
2026-10-02,"Founders' Day, APSPDCL",
"""


def test_a_circular_reads_with_its_source_on_every_day() -> None:
    read = holiday_list.from_csv("\ufeff" + CIRCULAR, source="APSPDCL circular no. 42")
    assert (read.year, read.kind, read.authority) == (
        2026,
        holiday_list.DISCOM_CIRCULAR,
        "APSPDCL circular no. 42",
    )
    assert [h.day.isoformat() for h in read.holidays] == [
        "2026-01-14",
        "2026-01-15",
        "2026-10-02",
        "2026-10-02",
    ]
    assert all(h.source == "APSPDCL circular no. 42" and h.confirmed for h in read.holidays)
    year = working_days.year_defaults(2026, official=read)
    assert year.basis == working_days.CIRCULAR and year.confirmed
    assert year.days[dt.date(2026, 10, 2)].reason == "Mahatma Gandhi Jayanti; Founders' Day, APSPDCL"
    assert year.days[dt.date(2026, 1, 4)].reason == working_days.SUNDAY  # Sundays come anyway
    assert dt.date(2026, 3, 3) not in year.days  # only what the circular lists


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("day,name\n2026-01-14,Bhogi\n", "line 1: the header must be"),
        ("date,name_en,name_te\n", "line 1: the file has a header but no holidays"),
        ("date,name_en,name_te\n2026-01-14,Bhogi,భోగి\n14/01/2026,Sankranti,\n", "line 3: the date must be"),
        ("date,name_en,name_te\n2026-01-14,,భోగి\n", "line 2: name_en is missing"),
        ("date,name_en,name_te\n2026-01-14,Bhogi\n", "line 2: expected 3 columns, got 2"),
        ("date,name_en\n2026-01-14,Bhogi\n2027-01-14,Bhogi\n", "line 3: 2027-01-14 is not in 2026"),
        ("date,name_en\n2026-01-14,Bhogi\n\n2026-01-14,bhogi\n", "line 4: 2026-01-14 bhogi is listed twice"),
        ("date,name_en\n2026-01-14," + "x" * 121 + "\n", "line 2: name_en is longer than 120"),
    ],
)
def test_bad_circulars_name_the_line(text: str, message: str) -> None:
    with pytest.raises(holiday_list.InvalidHolidayList, match=message):
        holiday_list.from_csv(text, source="circular no. 1")


def test_a_circular_needs_its_source_and_the_year_asked_for() -> None:
    with pytest.raises(holiday_list.InvalidHolidayList, match="needs its source"):
        holiday_list.from_csv(CIRCULAR, source=" ")
    with pytest.raises(holiday_list.InvalidHolidayList, match="line 3: 2026-01-14 is not in 2027"):
        holiday_list.from_csv(CIRCULAR, source="circular", year=2027)


def test_the_readme_example_circular_reads() -> None:
    example = Path(__file__).parents[2] / "examples" / "holidays" / "discom-circular-2026.csv"
    read = holiday_list.from_csv(example.read_text(encoding="utf-8"), source="example")
    assert read.year == 2026 and len(read.holidays) >= 20
