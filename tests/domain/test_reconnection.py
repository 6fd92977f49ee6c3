"""The amount needed to reconnect: the smallest acceptable recharge that leaves the wallet above
zero after pending dues are taken from it (DOMAIN.md §5), with or without a dues-share cap."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wattwallet.domain import policy, recharge, reconnection

RULES = policy.Policy()
CAPPED = RULES.model_copy(update={"dues_max_share_percent": 40})


def needed(wallet: int, dues: int, rules: policy.Policy = RULES) -> int:
    return reconnection.amount_needed(wallet_paise=wallet, dues_paise=dues, rules=rules)


def test_dues_come_first_so_the_amount_covers_them_too() -> None:
    # The reported case: ₹400 of dues and -₹23.99. ₹100 would go wholly to dues.
    assert needed(-2_399, 40_000) == 50_000
    assert needed(-2_399, 0) == 10_000
    assert needed(0, 0) == 10_000  # zero is not above zero
    assert needed(-10_000, 0) == 20_000  # ₹100 would leave exactly zero


def test_a_dues_cap_leaves_more_of_each_recharge_for_the_wallet() -> None:
    assert needed(-2_399, 40_000, CAPPED) == 10_000  # ₹40 to dues, ₹60 to the wallet
    assert needed(-6_000, 40_000, CAPPED) == 20_000  # ₹100 leaves exactly zero: not enough


def test_nothing_is_needed_above_zero() -> None:
    assert needed(1, 40_000) == 0


@given(
    wallet=st.integers(-5_000_000, 0),
    dues=st.integers(0, 5_000_000),
    cap=st.sampled_from([100, 75, 40, 10]),
)
def test_the_amount_is_the_smallest_acceptable_recharge_that_reconnects(
    wallet: int, dues: int, cap: int
) -> None:
    rules = RULES.model_copy(update={"dues_max_share_percent": cap})
    amount = needed(wallet, dues, rules)
    step = rules.recharge_multiple_paise

    def reconnects(paid: int) -> bool:
        return wallet + recharge.split(amount_paise=paid, dues_paise=dues, rules=rules).to_wallet > 0

    assert amount % step == 0 and amount >= rules.recharge_minimum_paise
    assert reconnects(amount)
    assert amount == rules.recharge_minimum_paise or not reconnects(amount - step)
