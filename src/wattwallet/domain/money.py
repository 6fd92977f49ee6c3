"""Money is integer paise everywhere; rupee strings exist only at the edges."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from wattwallet.domain import errors

PAISE_PER_RUPEE = 100
# A technical bound, not a policy cap: it keeps every sum far inside a 64-bit integer.
MAX_AMOUNT_PAISE = 10**15


class AmountNotNumeric(errors.InvalidInput):
    code = "amount_not_numeric"


class AmountTooManyDecimals(errors.InvalidInput):
    code = "amount_too_many_decimals"


class AmountNotPositive(errors.InvalidInput):
    code = "amount_not_positive"


class AmountTooLarge(errors.InvalidInput):
    code = "amount_too_large"


def parse_rupees(value: object, *, allow_zero: bool = False, allow_negative: bool = False) -> int:
    """Turn a rupee amount ("500", "99.5", 120, 120.25) into paise, refusing anything inexact."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise AmountNotNumeric(f"amount must be a number of rupees, got {value!r}")
    text = str(value).strip() if not isinstance(value, Decimal) else value
    try:
        rupees = Decimal(text)
    except (InvalidOperation, ValueError):
        raise AmountNotNumeric(f"amount must be a number of rupees, got {value!r}") from None
    if not rupees.is_finite():
        raise AmountNotNumeric(f"amount must be a finite number of rupees, got {value!r}")
    exponent = rupees.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and rupees != rupees.quantize(Decimal("0.01")):
        raise AmountTooManyDecimals(f"amount {value} has more than two decimals (paise)")
    paise = int(rupees * PAISE_PER_RUPEE)
    if paise == 0 and not allow_zero:
        raise AmountNotPositive("amount must be greater than zero")
    if paise < 0 and not allow_negative:
        raise AmountNotPositive(f"amount must be greater than zero, got {value}")
    if abs(paise) > MAX_AMOUNT_PAISE:
        raise AmountTooLarge(f"amount {value} is beyond what one transaction can carry")
    return paise


def round_paise(amount: Decimal) -> int:
    """Round a fractional paise amount to whole paise, half away from zero."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rupees(paise: int) -> str:
    """Plain rupees with two decimals, as the scenario output and APIs carry them: "-12.50"."""
    sign = "-" if paise < 0 else ""
    whole, frac = divmod(abs(paise), PAISE_PER_RUPEE)
    return f"{sign}{whole}.{frac:02d}"


def inr(paise: int) -> str:
    """Rupees as an Indian reader expects them: ₹1,23,456.50 (lakh/crore grouping)."""
    sign = "-" if paise < 0 else ""
    whole, frac = divmod(abs(paise), PAISE_PER_RUPEE)
    digits = str(whole)
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    grouped = ",".join([*groups, tail]) if groups else tail
    return f"{sign}₹{grouped}.{frac:02d}"


def round_up_to(paise: int, step: int) -> int:
    """The smallest multiple of `step` at or above `paise` (for "recharge at least ₹X")."""
    return -(-paise // step) * step
