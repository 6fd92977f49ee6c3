"""Field types every router shares."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator

from wattwallet.domain import clock

# Instants are answered in IST, as the rules read them, whatever offset they were stored or given with.
Instant = Annotated[dt.datetime, AfterValidator(lambda v: v.astimezone(clock.IST))]
