"""Registered mobile numbers: Indian mobiles only, stored in E.164 (+91XXXXXXXXXX)."""

from __future__ import annotations

import re

import phonenumbers

from wattwallet.domain import errors

_INDIAN_MOBILE = re.compile(r"^[6-9]\d{9}$")


class PhoneMalformed(errors.InvalidInput):
    code = "phone_malformed"


class PhoneNotIndian(errors.InvalidInput):
    code = "phone_not_indian"


class PhoneNotMobile(errors.InvalidInput):
    code = "phone_not_mobile"


def normalize_mobile(raw: object) -> str:
    """Parse a number as typed by a person (+91 98765 43210, 09876543210, 9876543210)."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 32:
        raise PhoneMalformed(f"mobile number must be text like +919876543210, got {raw!r}")
    try:
        number = phonenumbers.parse(raw, "IN")
    except phonenumbers.NumberParseException:
        raise PhoneMalformed(f"{raw!r} is not a phone number") from None
    if number.country_code != 91:
        raise PhoneNotIndian(f"{raw!r} is not an Indian (+91) number")
    if not phonenumbers.is_valid_number(number):
        raise PhoneMalformed(f"{raw!r} is not a valid Indian number")
    national = str(number.national_number)
    kind = phonenumbers.number_type(number)
    is_mobile = kind == phonenumbers.PhoneNumberType.MOBILE or (
        kind == phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE and _INDIAN_MOBILE.match(national)
    )
    if not is_mobile or not _INDIAN_MOBILE.match(national):
        raise PhoneNotMobile(f"{raw!r} is not a mobile number (ten digits starting 6-9)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked(e164: str) -> str:
    """For logs and staff screens: +91XXXXXX3210."""
    return e164[:3] + "X" * max(0, len(e164) - 7) + e164[-4:]
