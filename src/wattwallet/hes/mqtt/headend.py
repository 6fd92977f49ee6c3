"""The HeadEnd adapter over MQTT: a command goes out as a QoS 1 PUBLISH the broker must take.

The hes_commands row is the outbox. `send` returns only once the broker has acknowledged the
PUBLISH; when the broker is unreachable, or does not answer in time, it raises SendFailed and the
row stays pending, so the usual retry with backoff sends it again (and the link sends such
commands at once when the broker is back). Nothing is kept only in memory. A command may so reach
the HES twice; its command_id makes the second a no-op for the HES (docs/hes-mqtt.md).

Confirmations are not handed out here: the link applies each acknowledgement as it arrives
(hes.mqtt.acks), so `confirmations` is always empty and the scheduler's confirmation job idles.
"""

from __future__ import annotations

import datetime as dt

from paho.mqtt.enums import MQTTErrorCode

from wattwallet.domain import clock, disconnection, policy
from wattwallet.hes import adapter
from wattwallet.hes.mqtt import client as link_client
from wattwallet.hes.mqtt import protocol

LINK_DOWN = "mqtt: broker not connected"
NOT_ACKNOWLEDGED = "mqtt: broker did not acknowledge the command in time"
ERROR_PREFIX = "mqtt:"  # last_error of a command that failed for the link, not for the HES


class MqttHeadEnd:
    def __init__(
        self,
        *,
        client: link_client.LinkClient,
        topics: protocol.Topics,
        rules: policy.Policy,
        timeout_seconds: float,
    ) -> None:
        self._client = client
        self._topics = topics
        self._rules = rules
        self._timeout = timeout_seconds

    def send(self, command: adapter.Command, *, now: dt.datetime) -> None:
        if not self._client.is_connected():
            raise adapter.SendFailed(LINK_DOWN)
        not_after = None
        if command.action == "disconnect":
            # The HES must not cut supply after today's window, however late the command reaches it.
            not_after = disconnection.window_on(clock.ist_date(now), self._rules)[1]
        payload = protocol.command_payload(command, issued_at=now.astimezone(clock.IST), not_after=not_after)
        info = self._client.publish(self._topics.command(command.meter_serial), payload, qos=1)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise adapter.SendFailed(
                LINK_DOWN if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN else f"mqtt: {info.rc}"
            )
        try:
            info.wait_for_publish(self._timeout)
        except (RuntimeError, ValueError) as exc:
            raise adapter.SendFailed(f"{ERROR_PREFIX} {exc}") from None
        if not info.is_published():
            raise adapter.SendFailed(NOT_ACKNOWLEDGED)

    def confirmations(self, *, until: dt.datetime) -> list[adapter.Confirmation]:
        return []

    def next_confirmation_at(self) -> dt.datetime | None:
        return None
