"""Bugs planted on purpose, to show that a simulation run catches them (tests only).

Each is a patch of engine functions for the length of a `with planted(name)` block, and nothing
when no bug is named: the engine carries no hook of its own.

- `late_disconnect`: the disconnection window is 13:05-17:00 instead of 10:00-13:00.
- `double_credit`: a webhook delivered twice credits the wallet twice (the event-id check and the
  recharge's reference idempotency both lost).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import types
from collections.abc import Iterator
from typing import Any
from unittest import mock

from wattwallet.domain import disconnection, policy
from wattwallet.wallet import payments, recharges

NAMES = ("late_disconnect", "double_credit")


@contextlib.contextmanager
def planted(name: str | None) -> Iterator[None]:
    if name is None:
        yield
        return
    if name == "late_disconnect":

        def window(rules: policy.Policy) -> tuple[dt.time, dt.time]:
            return dt.time(13, 5), dt.time(17, 0)

        with mock.patch.object(disconnection, "_window", window):
            yield
    elif name == "double_credit":
        calls: dict[str, int] = {}

        def recharge_wallet(ctx: Any, *, reference: str, **call: Any) -> Any:
            calls[reference] = calls.get(reference, 0) + 1
            again = "" if calls[reference] == 1 else f".again{calls[reference]}"
            return recharges.recharge_wallet(ctx, reference=reference + again, **call)

        shim = types.SimpleNamespace(**{**vars(recharges), "recharge_wallet": recharge_wallet})
        with (
            mock.patch.object(payments, "recharges", shim),
            mock.patch.object(payments, "_stored", lambda *_: None),
        ):
            yield
    else:
        raise ValueError(f"no planted bug {name!r}; there are {', '.join(NAMES)}")
