"""One consumer's round trip through every real part, on both databases and the real Mosquitto:

simulated meter → MQTT readings → the link ingests them → the daily cycle runs out the balance →
alerts leave through the outbox to the SMS gateway (a fake one over HTTP) → in the window, the
disconnect goes over MQTT and the meter opens its relay → the consumer pays online and the payment
gateway's signed webhook arrives over HTTP → the reconnect goes over MQTT at once and the relay
closes → the consumer is told, in Telugu.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.conftest import AddConnection
from tests.hes.conftest import Clock, StartLink, settled, wait_for
from tests.simulation.test_mqtt_meters import HOME, at, start_fleet
from wattwallet import config
from wattwallet.api import app as api_app
from wattwallet.api import deps
from wattwallet.context import Context
from wattwallet.lifecycle import daily_cycle, disconnections
from wattwallet.messaging import channels, dispatcher, fake_gateway
from wattwallet.simulation import meters
from wattwallet.store import connections
from wattwallet.wallet import payments

SECRET = "whsec_e2e_test_only"


@pytest.fixture
def gateway() -> Iterator[fake_gateway.FakeGateway]:
    with fake_gateway.FakeGateway() as gw:
        yield gw


def _deliver(ctx: Context, gateway: fake_gateway.FakeGateway, now: dt.datetime) -> None:
    adapters = channels.build(gateway.delivery_settings())
    try:
        dispatcher.dispatch_due(ctx, adapters, now=now, limit=100)
    finally:
        channels.close_all(adapters)


def _sms_kinds(gateway: fake_gateway.FakeGateway) -> list[str]:
    return [str(r["body"]["text"]) for r in gateway.received("sms")]


def _state(ctx: Context, service_no: str) -> tuple[str, str]:
    with ctx.store.read() as conn:
        row = connections.get(conn, service_no)
    return row.state.value, row.relay


def test_readings_to_disconnection_to_paid_reconnection_over_mqtt_and_http(
    ctx: Context,
    add_connection: AddConnection,
    start_link: StartLink,
    link_clock: Clock,
    broker_url: str,
    prefix: str,
    gateway: fake_gateway.FakeGateway,
) -> None:
    service_no = add_connection(
        meter_serial="SM-E2E-9",
        language="te",
        mobile="+919000012345",
        first_recharge_done=True,
        opening_balance_paise=500,
    )
    running = start_link()
    meter = meters.VirtualMeter("SM-E2E-9", HOME, register_wh=0)
    fleet = start_fleet(broker_url, prefix, [meter], clock_now=lambda: link_clock.now)
    try:
        # Day 1's reading comes over MQTT; the 06:00 cycle bills ~15 kWh against ₹5.
        link_clock.now = at("2025-06-03T00:10")
        fleet.publish_day()
        wait_for(settled(running.link, "reading_stored", 1))
        daily_cycle.run(running.ctx, now=at("2025-06-03T06:00"))
        _deliver(running.ctx, gateway, at("2025-06-03T06:01"))
        texts = _sms_kinds(gateway)
        assert any("బ్యాలెన్స్" in t and service_no in t for t in texts), texts  # Telugu alerts
        assert all(r["body"]["unicode"] for r in gateway.received("sms"))

        # The next working day's window: the disconnect goes over MQTT; the meter opens the relay.
        link_clock.now = at("2025-06-04T10:00")
        disconnections.run(running.ctx, now=link_clock.now, events=[])
        wait_for(settled(running.link, "ack_applied", 1))
        assert _state(ctx, service_no) == ("disconnected", "open")
        assert meter.relay == meters.OPEN

        # The consumer pays ₹500 online; the gateway's signed webhook arrives over HTTP.
        link_clock.now = at("2025-06-04T18:30")
        intent = payments.create_intent(
            running.ctx,
            service_no=service_no,
            amount_paise=50_000,
            channel="app",
            now=link_clock.now,
            minutes=30,
        )
        settings = config.ApiSettings(gateway_webhook_secret=SecretStr(SECRET))
        app = api_app.create_app(
            running.ctx, settings, runtime=deps.Runtime(ctx=running.ctx, settings=settings, clock=link_clock)
        )
        body = json.dumps(
            {
                "event_id": "evt_e2e_1",
                "type": "payment.succeeded",
                "intent_id": intent.id,
                "amount_paise": 50_000,
                "paid_at": at("2025-06-04T18:29").isoformat(),
                "gateway_payment_id": "pay_e2e_1",
            }
        ).encode()
        signature = payments.sign(secret=SECRET, timestamp=int(link_clock.now.timestamp()), body=body)
        with TestClient(app) as client:
            answer = client.post(
                "/api/v1/payments/webhook",
                content=body,
                headers={"Content-Type": "application/json", "X-Gateway-Signature": signature},
            )
        assert answer.status_code == 200, answer.text

        # The reconnect went at once over MQTT; the meter closes the relay and acknowledges.
        wait_for(settled(running.link, "ack_applied", 2))
        assert meter.relay == meters.CLOSED
        assert _state(ctx, service_no) == ("active", "closed")
        _deliver(running.ctx, gateway, at("2025-06-04T18:31"))
        later = _sms_kinds(gateway)[len(texts) :]
        assert any("రీఛార్జ్ అందింది" in t for t in later), later  # the receipt (its SMS)
        assert any("సరఫరా పునరుద్ధరించబడింది" in t for t in later), later  # reconnected
    finally:
        fleet.stop()
