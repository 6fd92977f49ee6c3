"""Every policy number the regulation leaves to the DISCOM, with the defaults of DOMAIN.md.

One object, loaded from configuration (environment, scenario `settings:`), passed to the rules.
Nothing in the rules hard-codes these numbers.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Recharge (DOMAIN.md §2)
    first_recharge_floor_paise: int = Field(
        50_000, ge=0, description="First recharge at least this (₹500) ..."
    )
    recharge_multiple_paise: int = Field(
        10_000, gt=0, description="Later recharges in multiples of this (₹100)"
    )
    recharge_minimum_paise: int = Field(10_000, gt=0, description="Later recharges at least this (₹100)")
    dues_max_share_percent: int = Field(
        100, ge=0, le=100, description="At most this share of each recharge goes to pending dues"
    )
    recharge_reflection_minutes: int = Field(15, gt=0, description="A recharge must reflect within this")
