"""Recharge rules (DOMAIN.md §2): first-recharge minimum, multiples of ₹100, dues first."""

from __future__ import annotations

import dataclasses
import enum
import re

from wattwallet.domain import connection, errors, money, policy


class Channel(enum.StrEnum):
    PORTAL = "portal"
    APP = "app"
    RETAIL = "retail"
    KIOSK = "kiosk"
    COUNTER = "counter"


_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")


class UnknownChannel(errors.InvalidInput):
    code = "unknown_channel"


class ReferenceInvalid(errors.InvalidInput):
    code = "reference_invalid"


class BelowFirstRechargeMinimum(errors.RuleViolation):
    code = "first_recharge_below_minimum"


class BelowMinimum(errors.RuleViolation):
    code = "below_minimum"


class NotMultipleOf100(errors.RuleViolation):
    code = "not_multiple_of_100"


class ConnectionTerminated(errors.RuleViolation):
    code = "connection_terminated"


class ConnectionNotPrepaid(errors.RuleViolation):
    code = "connection_not_prepaid"


class DuplicateConflict(errors.ReferenceReused):
    """The channel reference was used before for a different amount or connection."""


@dataclasses.dataclass(frozen=True)
class Split:
    to_dues: int
    to_wallet: int


def channel(raw: object) -> Channel:
    try:
        return Channel(str(raw).strip().lower())
    except ValueError:
        names = ", ".join(c.value for c in Channel)
        raise UnknownChannel(f"unknown recharge channel {raw!r}; use one of {names}") from None


def reference(raw: object, *, what: str = "recharge reference") -> str:
    """A channel or staff reference: 1 to 64 safe characters. `what` names it in the message."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not _REFERENCE.match(text):
        raise ReferenceInvalid(
            f"a {what} is 1 to 64 letters, digits or . _ : / - (starting with a letter or digit), got {raw!r}"
        )
    return text


def first_recharge_minimum(*, mandatory_charges_paise: int, rules: policy.Policy) -> int:
    return max(rules.first_recharge_floor_paise, mandatory_charges_paise)


def check_allowed(
    *,
    amount_paise: int,
    is_first: bool,
    mandatory_charges_paise: int,
    state: connection.State,
    mode: connection.BillingMode,
    rules: policy.Policy,
) -> None:
    """Raise the named rule the recharge breaks, if any. `amount_paise` is already positive."""
    if state is connection.State.TERMINATED:
        raise ConnectionTerminated("this connection is terminated and cannot be recharged")
    if mode is not connection.BillingMode.PREPAID:
        raise ConnectionNotPrepaid("this connection is postpaid: pay its bill instead of recharging")
    if is_first:
        minimum = first_recharge_minimum(mandatory_charges_paise=mandatory_charges_paise, rules=rules)
        if amount_paise < minimum:
            raise BelowFirstRechargeMinimum(
                f"first recharge must be at least {money.inr(minimum)}",
                minimum=money.rupees(minimum),
            )
        return
    if amount_paise < rules.recharge_minimum_paise:
        minimum = rules.recharge_minimum_paise
        raise BelowMinimum(f"a recharge must be at least {money.inr(minimum)}", minimum=money.rupees(minimum))
    step = rules.recharge_multiple_paise
    if amount_paise % step:
        lower, upper = amount_paise // step * step, money.round_up_to(amount_paise, step)
        raise NotMultipleOf100(
            f"a recharge must be a multiple of {money.inr(step)}: "
            f"try {money.inr(lower)} or {money.inr(upper)}",
            minimum=money.rupees(upper),
        )


def split(*, amount_paise: int, dues_paise: int, rules: policy.Policy) -> Split:
    """Pending dues come out of the recharge first, up to the configured share of it."""
    cap = amount_paise * rules.dues_max_share_percent // 100
    to_dues = max(0, min(dues_paise, cap))
    return Split(to_dues=to_dues, to_wallet=amount_paise - to_dues)
