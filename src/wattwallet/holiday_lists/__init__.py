"""The official general-holiday lists shipped with WattWallet: one data file per year.

`ap-<year>.yaml` holds the AP Government's G.O. for that year (DOMAIN.md §3). A year with a
file is decided by it; a year without one falls back to the computed holidays of the `holidays`
package and is shown as unconfirmed. A DISCOM's own circular is imported into the store
(`wattwallet calendar import`) and there replaces what these files give.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path

import yaml

from wattwallet.domain import holiday_list, working_days

DIRECTORY = Path(__file__).parent
_FILE = re.compile(r"ap-(\d{4})\.yaml")


def years() -> list[int]:
    """The years that have an official list."""
    return sorted(int(m.group(1)) for p in DIRECTORY.iterdir() if (m := _FILE.fullmatch(p.name)))


@functools.cache
def official(year: int) -> holiday_list.HolidayList | None:
    """The shipped G.O. list of `year`, or None when there is none."""
    path = DIRECTORY / f"ap-{year}.yaml"
    if not path.exists():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise holiday_list.InvalidHolidayList(f"cannot read holiday list {path}: {exc}") from None
    if not isinstance(data, dict):
        raise holiday_list.InvalidHolidayList(f"holiday list {path} must hold a mapping")
    found = holiday_list.from_data(data)
    if found.year != year:
        raise holiday_list.InvalidHolidayList(f"holiday list {path} says it is for {found.year}")
    return found


@functools.cache
def year_defaults(year: int) -> working_days.YearDefaults:
    """The default calendar of `year`: the shipped list, or the computed fallback."""
    return working_days.year_defaults(year, official=official(year))


def default_working_days(first: dt.date, last: dt.date) -> working_days.WorkingDays:
    """The default calendar (no staff changes, no imported circular) for [first, last]."""
    return working_days.WorkingDays.from_defaults(
        first, last, (year_defaults(y) for y in range(first.year, last.year + 1))
    )
