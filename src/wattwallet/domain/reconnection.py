"""How much a disconnected consumer must recharge to be reconnected (DOMAIN.md §5).

The supply comes back when the wallet is above zero *after* a recharge, and pending dues are taken
from a recharge first (up to the dues-share cap, when one is set). So the amount needed is the
smallest recharge the rules accept, a multiple of ₹100 and at least the minimum, whose share left
after dues lifts the wallet above zero. Telling the consumer only what the wallet lacks would send
them round in circles: with ₹400 of dues and a balance of -₹23.99, ₹100 goes wholly to dues.
"""

from __future__ import annotations

from wattwallet.domain import policy, recharge


def amount_needed(*, wallet_paise: int, dues_paise: int, rules: policy.Policy) -> int:
    """The smallest acceptable recharge that leaves the wallet above zero after dues (0 when the
    wallet is already above zero)."""
    if wallet_paise > 0:
        return 0
    step = rules.recharge_multiple_paise
    short = 1 - wallet_paise  # what must reach the wallet: it must end above zero

    def enough(steps: int) -> bool:
        split = recharge.split(amount_paise=steps * step, dues_paise=max(0, dues_paise), rules=rules)
        return split.to_wallet >= short

    # What reaches the wallet never falls as the recharge grows, so the fewest steps that are
    # enough can be searched for. Paying all the dues and the shortfall is always enough.
    low = max(1, -(-rules.recharge_minimum_paise // step))
    high = max(low, -(-(max(0, dues_paise) + short) // step))
    while low < high:
        middle = (low + high) // 2
        if enough(middle):
            high = middle
        else:
            low = middle + 1
    return low * step
