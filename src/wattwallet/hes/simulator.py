"""An in-process HES for scenarios, tests and a single-machine deployment without a broker.

It confirms every command at once unless told otherwise: `fail(count)` makes the next sends fail,
`delay(minutes)` makes confirmations arrive that much later, `ok()` restores prompt service.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from wattwallet.hes import adapter


@dataclasses.dataclass
class SimulatedHeadEnd:
    failures_left: int = 0
    delay: dt.timedelta = dt.timedelta(0)
    relays: dict[str, str] = dataclasses.field(default_factory=dict)  # meter serial -> open | closed
    _pending: list[tuple[dt.datetime, adapter.Confirmation, adapter.Command]] = dataclasses.field(
        default_factory=list
    )

    def fail(self, count: int) -> None:
        self.failures_left = count

    def set_delay(self, minutes: int) -> None:
        self.delay = dt.timedelta(minutes=minutes)

    def ok(self) -> None:
        self.failures_left, self.delay = 0, dt.timedelta(0)

    def send(self, command: adapter.Command, *, now: dt.datetime) -> None:
        if self.failures_left > 0:
            self.failures_left -= 1
            raise adapter.SendFailed("simulated HES failure")
        arrives = now + self.delay
        self._pending.append((arrives, adapter.Confirmation(command.id, True, arrives), command))
        self._pending.sort(key=lambda item: item[0])

    def confirmations(self, *, until: dt.datetime) -> list[adapter.Confirmation]:
        due = [item for item in self._pending if item[0] <= until]
        self._pending = [item for item in self._pending if item[0] > until]
        for _, _, command in due:
            self.relays[command.meter_serial] = "open" if command.action == "disconnect" else "closed"
        return [confirmation for _, confirmation, _ in due]

    def next_confirmation_at(self) -> dt.datetime | None:
        return self._pending[0][0] if self._pending else None
