"""When each scheduled job runs, as production runs it; scenario replay walks the same times."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from wattwallet.domain import clock, policy

DAILY_CYCLE = "daily_cycle"


def occurrences(
    *, after: dt.datetime, until: dt.datetime, rules: policy.Policy
) -> Iterator[tuple[dt.datetime, str]]:
    """Job runs in (after, until], in time order."""
    day = clock.ist_date(after)
    while True:
        run_at = dt.datetime.combine(day, rules.daily_cycle_time, tzinfo=clock.IST)
        if run_at > until:
            return
        if run_at > after:
            yield run_at, DAILY_CYCLE
        day += dt.timedelta(days=1)
