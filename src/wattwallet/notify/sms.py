"""Where texts that must reach a phone now (OTPs) are handed over.

Recorded notifications wait for the delivery stage; an OTP cannot wait, and its code must never be
stored in clear, so it goes straight to a `Sender`. Until an SMS gateway adapter is configured,
`Inbox` appends to a local file (a developer's phone) and `Recorder` keeps the last texts in memory
(tests and the demo).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import threading
from pathlib import Path
from typing import Protocol


@dataclasses.dataclass(frozen=True)
class Sms:
    to: str  # E.164
    text: str
    sender: str  # the DLT sender header
    dlt_template_id: str
    kind: str


class Sender(Protocol):
    def send(self, sms: Sms) -> None: ...


class Recorder:
    """Keeps the last `keep` texts in memory."""

    def __init__(self, keep: int = 1000) -> None:
        self.sent: collections.deque[Sms] = collections.deque(maxlen=keep)
        self._lock = threading.Lock()

    def send(self, sms: Sms) -> None:
        with self._lock:
            self.sent.append(sms)

    def last_to(self, to: str) -> Sms | None:
        with self._lock:
            return next((s for s in reversed(self.sent) if s.to == to), None)


class Inbox:
    """Appends each text to a JSON-lines file: for a developer without an SMS gateway."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, sms: Sms) -> None:
        line = json.dumps(dataclasses.asdict(sms), ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
