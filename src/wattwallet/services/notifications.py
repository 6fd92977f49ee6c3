"""Messages to consumers, rendered in their language and recorded (delivery is a later stage)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from wattwallet.domain import clock
from wattwallet.notify import templates
from wattwallet.store import bulk, schema

DEFAULT_CHANNELS = ("sms", "app")


@dataclasses.dataclass(frozen=True)
class Message:
    service_no: str
    language: str
    kind: str
    figures: Mapping[str, object]
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    recipient: str | None = None  # None: the connection's registered mobile

    def render(self) -> templates.Rendered:
        return templates.render(self.kind, self.language, service_no=self.service_no, **self.figures)


def store(
    conn: Connection, rendered: Sequence[tuple[Message, templates.Rendered]], *, now: dt.datetime
) -> None:
    """Record rendered messages, one INSERT for the lot."""
    if not rendered:
        return
    bulk.insert(
        conn,
        schema.notifications,
        ("service_no", "kind", "language", "channels", "recipient", "text", "status", "created_at"),
        [
            (m.service_no, m.kind, m.language, ",".join(m.channels), m.recipient, r.text, "recorded", now)
            for m, r in rendered
        ],
    )


def event(message: Message, rendered: templates.Rendered, *, now: dt.datetime) -> dict[str, Any]:
    """The scenario-replay line for a message."""
    return {
        "at": clock.ist_iso(now),
        "type": "notification",
        "connection": message.service_no,
        "kind": message.kind,
        "channels": list(message.channels),
        "language": message.language,
        **({"to": message.recipient} if message.recipient else {}),
        "text": rendered.text,
    }
