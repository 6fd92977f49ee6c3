from decimal import Decimal

import pytest

from wattwallet.domain import money


@pytest.mark.parametrize(
    ("raw", "paise"),
    [
        ("500", 50_000),
        (500, 50_000),
        ("99.5", 9_950),
        ("0.01", 1),
        (120.25, 12_025),
        (Decimal("7.10"), 710),
        (" 100.00 ", 10_000),
        ("1e3", 100_000),
    ],
)
def test_parses_rupees_into_paise(raw: object, paise: int) -> None:
    assert money.parse_rupees(raw) == paise


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("abc", money.AmountNotNumeric),
        ("", money.AmountNotNumeric),
        (None, money.AmountNotNumeric),
        (True, money.AmountNotNumeric),
        ([100], money.AmountNotNumeric),
        ("NaN", money.AmountNotNumeric),
        ("Infinity", money.AmountNotNumeric),
        ("100.001", money.AmountTooManyDecimals),
        (0.125, money.AmountTooManyDecimals),
        ("0", money.AmountNotPositive),
        ("-100", money.AmountNotPositive),
        ("1e20", money.AmountTooLarge),
    ],
)
def test_refuses_amounts_that_are_not_exact_positive_rupees(raw: object, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        money.parse_rupees(raw)
    assert caught.value.code  # type: ignore[attr-defined]


def test_trailing_zero_decimals_are_exact() -> None:
    assert money.parse_rupees("100.000") == 10_000


def test_zero_and_negative_allowed_when_asked() -> None:
    assert money.parse_rupees("0", allow_zero=True) == 0
    assert money.parse_rupees("-12.50", allow_negative=True) == -1_250


@pytest.mark.parametrize(
    ("paise", "shown"),
    [
        (0, "₹0.00"),
        (5, "₹0.05"),
        (50_000, "₹500.00"),
        (12_345_650, "₹1,23,456.50"),
        (1_000_000_000, "₹1,00,00,000.00"),
        (-150_050, "-₹1,500.50"),
        (99_999, "₹999.99"),
    ],
)
def test_indian_grouping(paise: int, shown: str) -> None:
    assert money.inr(paise) == shown


def test_plain_rupees_for_machine_output() -> None:
    assert money.rupees(50_000) == "500.00"
    assert money.rupees(-5) == "-0.05"


def test_round_up_to_step() -> None:
    assert money.round_up_to(10_001, 10_000) == 20_000
    assert money.round_up_to(10_000, 10_000) == 10_000
    assert money.round_up_to(-5_000, 10_000) == 0
