"""What WattWallet needs from a head-end system, whichever one it is (simulator, MQTT link).

Sending is one step and the outcome another, as with a real HES: `send` hands a command over (or
fails at once), and the confirmation arrives later through `confirmations` (or, for a live link,
the link calls `hes.commands.confirm` itself).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Protocol


@dataclasses.dataclass(frozen=True)
class Command:
    id: str
    service_no: str
    meter_serial: str
    action: str  # disconnect | reconnect


@dataclasses.dataclass(frozen=True)
class Confirmation:
    command_id: str
    ok: bool
    at: dt.datetime
    detail: str = ""


class SendFailed(Exception):
    """The HES did not take the command (unreachable, refused, timed out)."""


class HeadEnd(Protocol):
    def send(self, command: Command, *, now: dt.datetime) -> None:
        """Hand the command to the HES; raise SendFailed if it was not taken."""

    def confirmations(self, *, until: dt.datetime) -> list[Confirmation]:
        """Confirmations that have arrived by `until`, each given once."""

    def next_confirmation_at(self) -> dt.datetime | None:
        """When the next confirmation is expected (simulated time), if one is pending."""
