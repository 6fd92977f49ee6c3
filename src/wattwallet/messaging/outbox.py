"""Messages to consumers, rendered in their language and recorded together with their deliveries
(the outbox: `services.deliveries`), in the transaction of the event that causes them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy.engine import Connection

from wattwallet.domain import events as domain_events
from wattwallet.messaging import deliveries, templates
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
    """Record rendered messages, one INSERT for the lot, and their deliveries, one INSERT ... SELECT
    (so the daily cycle's thousands of alerts cost two statements, not a round trip each)."""
    if not rendered:
        return
    ids = bulk.reserve_ids(conn, schema.notifications, len(rendered))
    bulk.insert(
        conn,
        schema.notifications,
        (
            "id",
            "service_no",
            "kind",
            "language",
            "channels",
            "recipient",
            "text",
            "sms_text",
            "status",
            "created_at",
        ),
        [
            (
                i,
                m.service_no,
                m.kind,
                m.language,
                ",".join(m.channels),
                m.recipient,
                r.text,
                r.sms_text,
                "recorded",
                now,
            )
            for i, (m, r) in zip(ids, rendered, strict=True)
        ],
    )
    deliveries.create(conn, notification_ids=ids, now=now)


def event(message: Message, rendered: templates.Rendered, *, now: dt.datetime) -> domain_events.MessageStored:
    """What storing a message tells the caller (and the scenario replay)."""
    return domain_events.MessageStored(
        at=now,
        connection=message.service_no,
        kind=message.kind,
        channels=tuple(message.channels),
        language=message.language,
        recipient=message.recipient,
        text=rendered.text,
        sms=rendered.sms_text,
    )
