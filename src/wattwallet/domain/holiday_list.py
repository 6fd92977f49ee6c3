"""Official lists of general holidays (DOMAIN.md §3), as data: one list per year.

A list is the AP Government's G.O. for the year (shipped in `wattwallet/holiday_lists/`) or a
DISCOM's own circular (loaded from CSV with `wattwallet calendar import`). Each holiday has its
date, its name in English and Telugu and the source it comes from; a holiday whose date could not
be confirmed says what is missing. Optional holidays are working days and are never listed.

This module only reads and checks the data it is given: loading files is the caller's business.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from typing import Any

from wattwallet.domain import errors

GOVERNMENT_ORDER = "government_order"
DISCOM_CIRCULAR = "discom_circular"
KINDS = (GOVERNMENT_ORDER, DISCOM_CIRCULAR)

NAME_MAX_CHARS = 120  # calendar_days.reason
SOURCE_MAX_CHARS = 240  # calendar_days.reference
CSV_COLUMNS = ("date", "name_en", "name_te")  # name_te may be left empty


class InvalidHolidayList(errors.InvalidInput):
    code = "invalid_holiday_list"


@dataclasses.dataclass(frozen=True)
class Holiday:
    day: dt.date
    name_en: str
    name_te: str
    source: str
    missing: str | None = None  # set: the date is unconfirmed, and this says what is missing

    @property
    def confirmed(self) -> bool:
        return self.missing is None


@dataclasses.dataclass(frozen=True)
class HolidayList:
    """The general holidays of one year by one authority (a G.O. or a DISCOM circular)."""

    year: int
    kind: str
    authority: str
    holidays: tuple[Holiday, ...]
    missing: str | None = None  # what the list as a whole lacks (e.g. the G.O.'s number)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidHolidayList(f"a holiday list is one of {', '.join(KINDS)}; got {self.kind!r}")
        if not self.holidays:
            raise InvalidHolidayList(f"the holiday list of {self.year} has no holidays")
        for holiday in self.holidays:
            if holiday.day.year != self.year:
                raise InvalidHolidayList(f"{holiday.day} ({holiday.name_en}) is not in {self.year}")

    def by_day(self) -> dict[dt.date, list[Holiday]]:
        """The holidays of each day, in date order (two festivals may share a day)."""
        days: dict[dt.date, list[Holiday]] = {}
        for holiday in sorted(self.holidays, key=lambda h: h.day):
            days.setdefault(holiday.day, []).append(holiday)
        return days


def _text(value: object, what: str, limit: int, *, required: bool = True) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise InvalidHolidayList(f"{what} is missing")
    if len(text) > limit:
        raise InvalidHolidayList(f"{what} is longer than {limit} characters")
    return text


def _date(value: object, what: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidHolidayList(
            f"{what} must be a date as YYYY-MM-DD, e.g. 2026-01-14; got {value!r}"
        ) from None


def from_data(data: Mapping[str, Any]) -> HolidayList:
    """A list from its data file's mapping (see `holiday_lists/ap-2026.yaml`)."""
    try:
        year = int(data["year"])
        kind = str(data.get("kind", GOVERNMENT_ORDER))
        authority = _text(data["authority"], "authority", SOURCE_MAX_CHARS)
        entries: Sequence[Mapping[str, Any]] = data["holidays"]
        seen: Mapping[str, str] = data.get("sources_read") or {}
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidHolidayList(f"a holiday list needs year, authority and holidays: {exc}") from None
    list_missing = _unconfirmed(data, f"the list of {year}")
    holidays = []
    for number, entry in enumerate(entries, start=1):
        what = f"holiday {number} of {year}"
        try:
            day = _date(entry["date"], f"{what}: date")
            name_en = _text(entry["name_en"], f"{what}: name_en", NAME_MAX_CHARS)
            name_te = _text(entry["name_te"], f"{what}: name_te", NAME_MAX_CHARS)
            seen_in = [str(key) for key in entry.get("seen_in", [])]
        except (KeyError, TypeError) as exc:
            raise InvalidHolidayList(f"{what} needs date, name_en and name_te: {exc}") from None
        unknown = [key for key in seen_in if key not in seen]
        if unknown:
            raise InvalidHolidayList(f"{what}: seen_in names sources not in sources_read: {unknown}")
        source = f"{authority}: {entry['source']}" if entry.get("source") else authority
        if seen_in:
            source = f"{source}; read in {', '.join(seen_in)}"
        holidays.append(
            Holiday(
                day=day,
                name_en=name_en,
                name_te=name_te,
                source=source[:SOURCE_MAX_CHARS],
                missing=_unconfirmed(entry, what),
            )
        )
    return HolidayList(
        year=year, kind=kind, authority=authority, holidays=tuple(holidays), missing=list_missing
    )


def _unconfirmed(entry: Mapping[str, Any], what: str) -> str | None:
    """What is missing when `unconfirmed: true`; an unconfirmed entry must say what."""
    if not entry.get("unconfirmed", False):
        return None
    missing = str(entry.get("missing") or "").strip()
    if not missing:
        raise InvalidHolidayList(f"{what} is unconfirmed but does not say what is missing")
    return missing


def from_csv(text: str, *, source: str, year: int | None = None) -> HolidayList:
    """A DISCOM's circular from CSV: a header `date,name_en,name_te` and one holiday a line.

    Blank lines and lines starting with `#` are skipped; two festivals may share a date (each on
    its own line). Any bad line raises `InvalidHolidayList` naming the line, and nothing is
    returned: the caller writes nothing.
    """
    source = source.strip()
    if not source:
        raise InvalidHolidayList('an imported list needs its source, e.g. --source "circular no ..."')
    if len(source) > SOURCE_MAX_CHARS:
        raise InvalidHolidayList(f"the source is longer than {SOURCE_MAX_CHARS} characters")
    lines = [
        (number, line)
        for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise InvalidHolidayList("the file is empty: it needs a header line date,name_en,name_te")
    header_no, header_line = lines[0]
    header = [c.strip().lower() for c in next(csv.reader([header_line]))]
    if (
        header[:2] != ["date", "name_en"]
        or not set(header) <= set(CSV_COLUMNS)
        or len(set(header)) != len(header)
    ):
        raise InvalidHolidayList(
            f"line {header_no}: the header must be {','.join(CSV_COLUMNS)} (name_te optional); "
            f"got {header_line!r}"
        )
    holidays: list[Holiday] = []
    first_seen: dict[tuple[dt.date, str], int] = {}
    for number, line in lines[1:]:
        cells = next(csv.reader(io.StringIO(line)))
        if len(cells) != len(header):
            raise InvalidHolidayList(
                f"line {number}: expected {len(header)} columns, got {len(cells)}: {line!r}"
            )
        row = dict(zip(header, cells, strict=True))
        try:
            day = _date(row["date"], "the date")
            name_en = _text(row["name_en"], "name_en", NAME_MAX_CHARS)
            name_te = _text(row.get("name_te"), "name_te", NAME_MAX_CHARS, required=False)
        except InvalidHolidayList as exc:
            raise InvalidHolidayList(f"line {number}: {exc.message}") from None
        wanted = year if year is not None else (holidays[0].day.year if holidays else day.year)
        if day.year != wanted:
            raise InvalidHolidayList(f"line {number}: {day} is not in {wanted}; one file holds one year")
        key = (day, name_en.casefold())
        if key in first_seen:
            raise InvalidHolidayList(
                f"line {number}: {day} {name_en} is listed twice (also line {first_seen[key]})"
            )
        first_seen[key] = number
        holidays.append(Holiday(day=day, name_en=name_en, name_te=name_te, source=source))
    if not holidays:
        raise InvalidHolidayList(f"line {header_no}: the file has a header but no holidays")
    return HolidayList(
        year=holidays[0].day.year, kind=DISCOM_CIRCULAR, authority=source, holidays=tuple(holidays)
    )
