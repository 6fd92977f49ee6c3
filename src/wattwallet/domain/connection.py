"""Service connections: the identifiers and attributes a DISCOM registers (DOMAIN.md §1)."""

from __future__ import annotations

import enum
import re
from decimal import Decimal, InvalidOperation

from wattwallet.domain import errors

_SERVICE_NO = re.compile(r"^[0-9]{6,20}$")
_METER_SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,31}$")
MAX_LOAD_KW = Decimal(10_000)


class BillingMode(enum.StrEnum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"


class State(enum.StrEnum):
    ACTIVE = "active"
    DISCONNECTED = "disconnected"
    TERMINATED = "terminated"


class Language(enum.StrEnum):
    ENGLISH = "en"
    TELUGU = "te"


class ServiceNumberInvalid(errors.InvalidInput):
    code = "service_number_invalid"


class MeterSerialInvalid(errors.InvalidInput):
    code = "meter_serial_invalid"


class LoadInvalid(errors.InvalidInput):
    code = "load_invalid"


class BillingModeInvalid(errors.InvalidInput):
    code = "billing_mode_invalid"


class LanguageInvalid(errors.InvalidInput):
    code = "language_invalid"


def service_number(raw: object) -> str:
    text = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if not _SERVICE_NO.match(text):
        raise ServiceNumberInvalid(f"service number must be 6 to 20 digits, got {raw!r}")
    return text


def meter_serial(raw: object) -> str:
    text = raw.strip() if isinstance(raw, str) else ""
    if not _METER_SERIAL.match(text):
        raise MeterSerialInvalid(f"meter serial must be 3 to 32 letters, digits or '-', got {raw!r}")
    return text


def load_kw(raw: object) -> Decimal:
    """Sanctioned load in kW, to the watt."""
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise LoadInvalid(f"sanctioned load must be a number of kW, got {raw!r}") from None
    if isinstance(raw, bool) or not value.is_finite() or value <= 0 or value > MAX_LOAD_KW:
        raise LoadInvalid(f"sanctioned load must be above 0 and at most {MAX_LOAD_KW} kW, got {raw!r}")
    if value != value.quantize(Decimal("0.001")):
        raise LoadInvalid(f"sanctioned load is kept to the watt (3 decimals), got {raw!r}")
    return value


def billing_mode(raw: object) -> BillingMode:
    try:
        return BillingMode(str(raw).strip().lower())
    except ValueError:
        raise BillingModeInvalid(f"billing mode must be prepaid or postpaid, got {raw!r}") from None


def language(raw: object) -> Language:
    try:
        return Language(str(raw).strip().lower())
    except ValueError:
        raise LanguageInvalid(f"language must be en (English) or te (Telugu), got {raw!r}") from None
