import pytest

from wattwallet.domain import phone


@pytest.mark.parametrize(
    "raw", ["+919876543210", "9876543210", "09876543210", "+91 98765 43210", "919876543210", "+91-6000012345"]
)
def test_accepts_indian_mobiles_in_the_ways_people_type_them(raw: str) -> None:
    assert phone.normalize_mobile(raw) in ("+919876543210", "+916000012345")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("", phone.PhoneMalformed),
        ("hello", phone.PhoneMalformed),
        ("98765", phone.PhoneMalformed),
        (9876543210, phone.PhoneMalformed),  # must be text, not a number that lost its zeros
        ("+14155552671", phone.PhoneNotIndian),
        ("+447911123456", phone.PhoneNotIndian),
        ("+914023456789", phone.PhoneNotMobile),  # Hyderabad landline
        ("04023456789", phone.PhoneNotMobile),
        ("5876543210", phone.PhoneNotMobile),  # a landline (Rajasthan), not 6-9
        ("9" * 40, phone.PhoneMalformed),
    ],
)
def test_refuses_what_is_not_an_indian_mobile(raw: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        phone.normalize_mobile(raw)


def test_masks_for_logs() -> None:
    assert phone.masked("+919876543210") == "+91XXXXXX3210"
