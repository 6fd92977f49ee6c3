"""Figures as registered SMS texts show them: the product's own words, never a locale library's.

Every SMS is registered byte for byte on the operators' DLT platform, so a date or a time inside
one must not change when Babel's CLDR data does (CLDR moved from `10:00 am` to `10:00 AM` and
from plain to narrow no-break spaces in past releases). These formatters use fixed month names
and day periods in English and Telugu, plain spaces, Latin digits and Indian grouping.

- money: ₹1,23,456.50 / -₹0.05 (both languages);
- a day: `30 Jul 2025` / `30 జులై 2025`;
- an instant, in IST: `16 Jul 2025, 10:00 am` / `16 జులై 2025, ఉ. 10:00`. Telugu names the part
  of the day before the clock, as Telugu readers say it (ఉదయం 10 గంటలు), abbreviated so that an
  instant stays within DLT's 30 characters a variable.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from wattwallet.domain import clock, money

MONTHS: Final[dict[str, tuple[str, ...]]] = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "te": (
        "జనవరి",
        "ఫిబ్రవరి",
        "మార్చి",
        "ఏప్రిల్",
        "మే",
        "జూన్",
        "జులై",
        "ఆగస్టు",
        "సెప్టెంబర్",
        "అక్టోబర్",
        "నవంబర్",
        "డిసెంబర్",
    ),
}
# Months in an instant, Telugu: the abbreviations Telugu newspapers print.
_TELUGU_MONTHS_SHORT: Final = (
    "జన",
    "ఫిబ్ర",
    "మార్చి",
    "ఏప్రి",
    "మే",
    "జూన్",
    "జులై",
    "ఆగ",
    "సెప్టెం",
    "అక్టో",
    "నవం",
    "డిసెం",
)
# Telugu parts of the day by the hour they start: రాత్రి (night), ఉదయం (morning), మధ్యాహ్నం
# (afternoon), సాయంత్రం (evening), abbreviated as printed: రా. ఉ. మ. సా.
_TELUGU_PERIODS: Final = ((0, "రా."), (5, "ఉ."), (12, "మ."), (16, "సా."), (19, "రా."))


def _check_language(language: str) -> None:
    if language not in MONTHS:
        raise ValueError(f"no formatting for language {language!r}")


def money_text(paise: int, language: str) -> str:
    """₹1,23,456.50: the same in both languages (Latin digits are what Telugu SMS and bills use)."""
    _check_language(language)
    return money.inr(paise)


def day_text(day: dt.date, language: str) -> str:
    _check_language(language)
    return f"{day.day} {MONTHS[language][day.month - 1]} {day.year}"


def instant_text(instant: dt.datetime, language: str) -> str:
    """The instant as a clock in India shows it (IST), to the minute."""
    _check_language(language)
    if instant.utcoffset() is None:
        raise ValueError("an instant must be an aware datetime")
    local = instant.astimezone(clock.IST)
    hour12 = local.hour % 12 or 12
    clock_text = f"{hour12}:{local.minute:02d}"
    if language == "en":
        day_period = "am" if local.hour < 12 else "pm"
        return f"{local.day} {MONTHS['en'][local.month - 1]} {local.year}, {clock_text} {day_period}"
    period = next(name for start, name in reversed(_TELUGU_PERIODS) if local.hour >= start)
    return f"{local.day} {_TELUGU_MONTHS_SHORT[local.month - 1]} {local.year}, {period} {clock_text}"
