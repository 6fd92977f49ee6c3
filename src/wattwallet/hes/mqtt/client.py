"""The paho-mqtt client the link runs, set up for a persistent session and for throughput.

MQTT 5 is used for its Receive Maximum: with MQTT 3.1.1 a stock Mosquitto lets only 20 messages be
unacknowledged, and we acknowledge a message only once what it says is committed.

Stock paho reads a packet in three or more recv() calls and one select() and builds a Properties
object for every PUBLISH; that caps it near 10,000 messages a second on this hardware, below the
ingest target. `_FastClient` keeps paho for everything (connection, session, keep-alive,
reconnection, outbound QoS 1) and replaces three hot spots: reads go through a 256 KiB buffer, a
read drains every packet that has arrived, and an inbound PUBLISH is decoded in place and handed
straight to the sink. They rest on paho internals (2.1, 2.2); if a paho release moves them, the
check below falls back to stock paho, slower but correct (`fast_client=false` forces it).
"""

from __future__ import annotations

import logging
import ssl
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from wattwallet.hes.mqtt import settings as hes_settings

log = logging.getLogger("wattwallet.hes.mqtt")

# topic, payload, packet id (0 for QoS 0), QoS
Sink = Callable[[str, bytes, int, int], None]

_READ_SIZE = 256 * 1024
_DRAIN_PACKETS = 10_000  # then let writes (acknowledgements, pings) go out
_PUBACK = 0x40
_FAST_HOOKS = ("_sock_recv", "_packet_read", "_loop_rc_handle", "_handle_publish", "_packet_queue")
FAST_AVAILABLE = all(callable(getattr(mqtt.Client, name, None)) for name in _FAST_HOOKS)


class LinkClient(mqtt.Client):
    """Stock paho plus `ack_many`; inbound messages go to the sink."""

    def __init__(self, *, client_id: str, manual_ack: bool, sink: Sink) -> None:
        super().__init__(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=manual_ack,
            reconnect_on_failure=True,
        )
        self._ww_sink = sink
        self.on_message = self._deliver

    def _deliver(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._ww_sink(message.topic, bytes(message.payload), message.mid, message.qos)

    def ack_many(self, mids: Sequence[int]) -> None:
        """Acknowledge QoS 1 messages, in the order they arrived (MQTT requires that order)."""
        for mid in mids:
            self.ack(mid, 1)


class _FastClient(LinkClient):
    def __init__(self, *, client_id: str, manual_ack: bool, sink: Sink) -> None:
        super().__init__(client_id=client_id, manual_ack=manual_ack, sink=sink)
        self._ww_buffer = b""
        self._ww_at = 0

    def reconnect(self) -> MQTTErrorCode:
        self._ww_buffer, self._ww_at = b"", 0  # bytes of the old connection mean nothing now
        return super().reconnect()

    def _sock_recv(self, bufsize: int) -> bytes:
        buffer, at = self._ww_buffer, self._ww_at
        if at >= len(buffer):
            buffer, at = super()._sock_recv(_READ_SIZE), 0  # BlockingIOError when nothing is there
            if not buffer:
                return buffer  # connection closed
        chunk = buffer[at : at + bufsize]
        self._ww_buffer, self._ww_at = buffer, at + len(chunk)
        return chunk

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        for _ in range(_DRAIN_PACKETS):
            if self._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                return MQTTErrorCode.MQTT_ERR_SUCCESS
        if self._ww_at < len(self._ww_buffer) and self._sockpairW is not None:
            self._sockpairW.send(b"\0")  # buffered packets left: do not sleep in select()
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _handle_publish(self) -> MQTTErrorCode:
        header: int = self._in_packet["command"]
        qos = (header & 0x06) >> 1
        if qos == 2:
            return super()._handle_publish()  # we subscribe at QoS 1
        packet = self._in_packet["packet"]
        try:
            size = (packet[0] << 8) | packet[1]
            topic = bytes(packet[2 : 2 + size]).decode("utf-8")
            at, mid = 2 + size, 0
            if qos:
                mid, at = (packet[at] << 8) | packet[at + 1], at + 2
            length, shift = 0, 0  # MQTT 5 properties: skipped (we use none of them)
            while True:
                byte = packet[at]
                at += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            payload = bytes(packet[at + length :])
        except (IndexError, UnicodeDecodeError):
            return MQTTErrorCode.MQTT_ERR_PROTOCOL
        self._ww_sink(topic, payload, mid, qos)
        if qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def ack_many(self, mids: Sequence[int]) -> None:
        if mids:  # one write for the lot: PUBACK with reason "success" omitted (MQTT 5, 3.2.2.1)
            packet = b"".join(bytes((_PUBACK, 2, mid >> 8, mid & 0xFF)) for mid in mids)
            self._packet_queue(_PUBACK, packet, 0, 0)


def build(
    config: hes_settings.HesSettings,
    *,
    client_id: str,
    consume: bool,
    sink: Sink,
) -> LinkClient:
    """A client ready for `connect_async`; `consume` asks for manual acknowledgements."""
    fast = config.fast_client and FAST_AVAILABLE
    if config.fast_client and not FAST_AVAILABLE:
        log.warning("this paho-mqtt lacks the hooks of the fast client: using stock paho (slower)")
    cls = _FastClient if fast else LinkClient
    client = cls(client_id=client_id, manual_ack=consume, sink=sink)
    parts = _url(config)
    if parts.username:
        password = parts.password or (config.password.get_secret_value() if config.password else None)
        client.username_pw_set(urllib.parse.unquote(parts.username), password)
    if parts.scheme in ("mqtts", "ssl"):
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    client.max_inflight_messages_set(100)  # our own commands awaiting the broker's PUBACK
    client.max_queued_messages_set(0)
    return client


def connect(client: LinkClient, config: hes_settings.HesSettings, *, consume: bool) -> None:
    """Start connecting (and reconnecting, for ever) in paho's network thread."""
    parts = _url(config)
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = config.session_expiry_seconds if consume else 0
    properties.ReceiveMaximum = config.receive_maximum
    default_port = 8883 if parts.scheme in ("mqtts", "ssl") else 1883
    client.connect_async(
        parts.hostname or "127.0.0.1",
        parts.port or default_port,
        keepalive=config.keepalive_seconds,
        clean_start=not consume,  # the consumer resumes its session: nothing queued meanwhile is lost
        properties=properties,
    )
    client.loop_start()


def _url(config: hes_settings.HesSettings) -> urllib.parse.SplitResult:
    if config.broker_url is None:
        raise ValueError("no broker URL: the MQTT link is not configured")
    return urllib.parse.urlsplit(config.broker_url)
