"""Time: rules think in India Standard Time; the store keeps UTC. `now` is always passed in."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")


def ist_date(instant: dt.datetime) -> dt.date:
    return instant.astimezone(IST).date()


def ist_iso(instant: dt.datetime) -> str:
    """ISO 8601 in +05:30, as the scenario output shows times."""
    return instant.astimezone(IST).isoformat()


def require_aware(instant: dt.datetime, what: str = "time") -> dt.datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must carry a time zone")
    return instant
