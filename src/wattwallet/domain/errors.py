"""The base of every anticipated failure.

Each rule module defines its own named exceptions (e.g. `recharge.BelowFirstRechargeMinimum`)
on top of this base, so that interfaces (CLI, scenario replay, HTTP) can turn any of them into
a stable machine code plus a human message without knowing the rule behind it.
"""

from __future__ import annotations

from typing import Any, ClassVar


class WattWalletError(Exception):
    """An anticipated failure with a stable machine-readable `code`."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


class InvalidInput(WattWalletError):
    """Input that is malformed before any rule can look at it."""

    code = "invalid_input"


class NotFound(WattWalletError):
    code = "not_found"


class Conflict(WattWalletError):
    code = "conflict"


class ReferenceReused(Conflict):
    """A reference used before for something else (another amount, connection or content): the base
    of each capability's own conflict, one code for all of them since the caller's fix is the same."""

    code = "duplicate_conflict"


class PeriodInvalid(InvalidInput):
    """A date range that ends before it starts, or is longer than allowed (reports, the calendar)."""

    code = "period_invalid"


class RuleViolation(WattWalletError):
    """Well-formed input that a business rule refuses."""

    code = "rule_violation"


class Unauthenticated(WattWalletError):
    """The caller is not who they claim, or has not said (sign-in failures, bad signatures)."""

    code = "unauthenticated"


class Forbidden(WattWalletError):
    """The caller is known but may not do this."""

    code = "forbidden"


class RateLimited(WattWalletError):
    code = "rate_limited"


class Unavailable(WattWalletError):
    """A part this needs is not configured or not reachable."""

    code = "service_unavailable"
