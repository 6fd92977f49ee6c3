"""Field types every router shares."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, Field

from wattwallet.domain import clock, money

# Instants are answered in IST, as the rules read them, whatever offset they were stored or given with.
Instant = Annotated[dt.datetime, AfterValidator(lambda v: v.astimezone(clock.IST))]

# A row id in a path: within the BIGINT column's range on both databases (SQLite would raise
# OverflowError past it, PostgreSQL a DataError), so anything outside is a 422, never a 500.
BIGINT_MAX = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="The row's id")]

# Money in a request: a real JSON integer of paise, nothing that merely converts to one (true,
# 10000.0 and "10000" are refused, not taken as 1 paisa or ₹100).
Paise = Annotated[
    int,
    Field(strict=True, gt=0, le=money.MAX_AMOUNT_PAISE, description="Paise (₹1 = 100)", examples=[50_000]),
]
