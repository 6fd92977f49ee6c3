"""Field types every router shares."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator

from wattwallet.domain import clock

# Instants are answered in IST, as the rules read them, whatever offset they were stored or given with.
Instant = Annotated[dt.datetime, AfterValidator(lambda v: v.astimezone(clock.IST))]

# A row id in a path: within the BIGINT column's range on both databases (SQLite would raise
# OverflowError past it, PostgreSQL a DataError), so anything outside is a 422, never a 500.
BIGINT_MAX = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="The row's id")]
