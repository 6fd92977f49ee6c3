"""The channel adapters over real HTTP against the fake gateway on 127.0.0.1: what arrives, and how
each kind of gateway failure is classified (retry later, or dead at once)."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pydantic
import pytest
from pydantic import SecretStr

from tests.messaging.test_templates import CASES, figures_for
from wattwallet.messaging import channels, fake_gateway, sms, templates
from wattwallet.messaging.channels import base, push, sms_gateway, whatsapp
from wattwallet.messaging.channels import settings as channel_settings

SERVICE_NO = "1234567890123"


@pytest.fixture
def gateway() -> Iterator[fake_gateway.FakeGateway]:
    with fake_gateway.FakeGateway() as gw:
        yield gw


@pytest.fixture
def adapters(gateway: fake_gateway.FakeGateway) -> Iterator[dict[str, base.Channel]]:
    found = channels.build(gateway.delivery_settings())
    yield found
    channels.close_all(found)


def outgoing(
    kind: str, language: str, *, channel: str = "sms", to: str = "+919876543210", **figures: object
) -> base.Outgoing:
    rendered = templates.render(kind, language, **figures_for(kind, service_no=SERVICE_NO, **figures))
    return base.Outgoing(
        delivery_id=42,
        attempt=1,
        channel=channel,
        service_no=SERVICE_NO,
        consumer_id=17,
        kind=kind,
        language=language,
        text=rendered.sms_text if channel == "sms" else rendered.text,  # as the outbox hands it over
        to=to,
    )


# --- What arrives ---------------------------------------------------------------------------


def test_a_telugu_low_balance_alert_arrives_as_unicode_with_its_figures(
    gateway: fake_gateway.FakeGateway, adapters: dict[str, base.Channel]
) -> None:
    message = outgoing("low_balance_3_days", "te", balance=45_050, days=3)
    sent = adapters["sms"].send(message)
    [arrived] = gateway.received("sms")
    body = arrived["body"]
    assert sent.provider_message_id == arrived["id"]
    assert body["to"] == "+919876543210"
    assert body["unicode"] is True
    assert "₹450.50" in body["text"] and "బ్యాలెన్స్ తక్కువగా ఉంది" in body["text"]
    assert body["text"] == message.text
    assert body["sender"] == "APSPDC"
    assert body["dlt_template_id"] == templates.load().get("low_balance_3_days", "te").dlt_template_id
    assert body["reference"] == "wattwallet-delivery-42"


def test_an_english_recharge_receipt_arrives_as_unicode_because_of_the_rupee_sign(
    gateway: fake_gateway.FakeGateway, adapters: dict[str, base.Channel]
) -> None:
    message = outgoing("recharge_success", "en", amount=50_000, to_dues=0, balance=61_250, ref="AG-1")
    adapters["sms"].send(message)
    [arrived] = gateway.received("sms")
    assert arrived["body"]["text"] == (
        f"Recharge of ₹500.00 received for service no. {SERVICE_NO}. Balance now ₹612.50. Details in the app."
    )
    assert arrived["body"]["unicode"] is True


def test_plain_english_goes_as_gsm7(
    gateway: fake_gateway.FakeGateway, adapters: dict[str, base.Channel]
) -> None:
    message = outgoing("otp_sign_in", "en")
    assert templates.sms_encoding(message.text) == "GSM-7"
    adapters["sms"].send(message)
    assert gateway.received("sms")[0]["body"]["unicode"] is False


def test_a_configured_sender_header_and_entity_id_go_with_the_text(gateway: fake_gateway.FakeGateway) -> None:
    settings = channel_settings.SmsGatewaySettings(
        base_url=gateway.base_url + "/",
        api_key=SecretStr(fake_gateway.SMS_KEY),
        sender="APDISC",
        dlt_entity_id="1101000000000012345",
    )
    adapter = sms_gateway.SmsGateway(settings)
    try:
        adapter.send(outgoing("zero_balance", "en"))
    finally:
        adapter.close()
    body = gateway.received("sms")[0]["body"]
    assert body["sender"] == "APDISC"
    assert body["dlt_entity_id"] == "1101000000000012345"


def test_a_whatsapp_template_message_carries_the_figures_in_order(
    gateway: fake_gateway.FakeGateway, adapters: dict[str, base.Channel]
) -> None:
    message = outgoing(
        "recharge_success", "te", channel="whatsapp", amount=50_000, to_dues=1_000, balance=61_250, ref="AG-1"
    )
    sent = adapters["whatsapp"].send(message)
    [arrived] = gateway.received("whatsapp")
    assert arrived["path"] == f"/{fake_gateway.PHONE_NUMBER_ID}/messages"
    assert sent.provider_message_id == arrived["id"]
    body = arrived["body"]
    assert body["messaging_product"] == "whatsapp" and body["type"] == "template"
    assert body["to"] == "919876543210"
    assert body["template"]["name"] == "recharge_success"
    assert body["template"]["language"] == {"code": "te"}
    [component] = body["template"]["components"]
    # The Telugu text shows service no., amount, to-dues, balance, ref, in that order.
    assert [p["text"] for p in component["parameters"]] == [
        SERVICE_NO,
        "₹500.00",
        "₹10.00",
        "₹612.50",
        "AG-1",
    ]


@pytest.mark.parametrize(("kind", "language"), CASES)
def test_whatsapp_parameters_read_back_every_template(kind: str, language: str) -> None:
    figures = figures_for(kind, service_no=SERVICE_NO)
    text = templates.render(kind, language, **figures).text
    values = whatsapp.parameters(kind=kind, language=language, text=text)
    template = templates.load().get(kind, language).text
    # Filling the template's placeholders, in order, with the values gives the text back.
    rebuilt = template
    for value in values:
        start = rebuilt.index("{")
        rebuilt = rebuilt[:start] + value + rebuilt[rebuilt.index("}", start) + 1 :]
    assert rebuilt == text
    assert SERVICE_NO in values


def test_a_text_that_no_longer_matches_its_template_is_refused() -> None:
    with pytest.raises(whatsapp.TextNotFromTemplate):
        whatsapp.parameters(kind="zero_balance", language="en", text="something else entirely")


def test_an_app_push_arrives_with_a_title_in_the_consumers_language(
    gateway: fake_gateway.FakeGateway, adapters: dict[str, base.Channel]
) -> None:
    message = outgoing("zero_balance", "te", channel="app", to="17")
    adapters["app"].send(message)
    [arrived] = gateway.received("app")
    assert arrived["body"]["consumer_id"] == "17"
    assert arrived["body"]["title"] == push.TITLES["te"].format(service_no=SERVICE_NO)
    assert arrived["body"]["body"] == message.text


# --- Failures -------------------------------------------------------------------------------


def test_a_503_is_worth_retrying(
    gateway: fake_gateway.FakeGateway, adapters: dict[str, base.Channel]
) -> None:
    gateway.fail_next(1, status=503)
    with pytest.raises(base.GatewayUnavailable, match="HTTP 503"):
        adapters["sms"].send(outgoing("zero_balance", "en"))
    assert gateway.received() == []


def test_a_stalled_gateway_times_out_and_is_worth_retrying(gateway: fake_gateway.FakeGateway) -> None:
    settings = channel_settings.PushSettings(
        base_url=gateway.base_url, api_key=SecretStr(fake_gateway.PUSH_KEY), timeout_seconds=0.2
    )
    adapter = push.Push(settings)
    gateway.hang_next(1, seconds=3)
    try:
        with pytest.raises(base.GatewayUnavailable, match="timed out"):
            adapter.send(outgoing("zero_balance", "en", channel="app", to="17"))
    finally:
        adapter.close()


def test_a_gateway_that_is_not_there_is_worth_retrying() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = channel_settings.SmsGatewaySettings(
        base_url=f"http://127.0.0.1:{port}", api_key=SecretStr("k"), timeout_seconds=1
    )
    adapter = sms_gateway.SmsGateway(settings)
    try:
        with pytest.raises(base.GatewayUnavailable, match="cannot reach"):
            adapter.send(outgoing("zero_balance", "en"))
    finally:
        adapter.close()


def test_a_wrong_key_is_refused_for_good(gateway: fake_gateway.FakeGateway) -> None:
    settings = channel_settings.SmsGatewaySettings(
        base_url=gateway.base_url, api_key=SecretStr("not-the-key")
    )
    adapter = sms_gateway.SmsGateway(settings)
    try:
        with pytest.raises(base.GatewayRefused, match="HTTP 401"):
            adapter.send(outgoing("zero_balance", "en"))
    finally:
        adapter.close()


def test_a_number_that_is_no_indian_mobile_is_refused_before_any_request(
    gateway: fake_gateway.FakeGateway, adapters: dict[str, base.Channel]
) -> None:
    with pytest.raises(base.GatewayRefused):
        adapters["sms"].send(outgoing("zero_balance", "en", to="+14155550100"))
    assert gateway.requests == 0


def test_whatsapp_throughput_limits_are_retried_other_400s_are_not() -> None:
    def answer(code: int) -> httpx.MockTransport:
        return httpx.MockTransport(lambda _request: httpx.Response(400, json={"error": {"code": code}}))

    settings = channel_settings.WhatsAppSettings(phone_number_id="1", access_token=SecretStr("t"))
    message = outgoing("zero_balance", "en", channel="whatsapp")
    with pytest.raises(base.GatewayUnavailable):
        whatsapp.WhatsApp(settings, transport=answer(130429)).send(message)
    with pytest.raises(base.GatewayRefused):
        whatsapp.WhatsApp(settings, transport=answer(131026)).send(message)


def test_errors_kept_for_staff_show_no_full_number() -> None:
    failure = base.GatewayRefused("HTTP 400: invalid number +919876543210 (919876543210)")
    assert "9876543210" not in failure.reason
    assert "3210" in failure.reason


# --- OTPs: sent at once through the gateway -------------------------------------------------


def test_an_otp_goes_straight_to_the_gateway(gateway: fake_gateway.FakeGateway) -> None:
    settings = gateway.delivery_settings()
    assert settings.sms is not None
    sender = sms.HttpSender.from_settings(settings.sms)
    rendered = templates.render("otp_sign_in", "te", service_no=SERVICE_NO, otp="482913")
    sender.send(
        sms.Sms(
            to="+919876543210",
            text=rendered.text,
            sender=rendered.sender,
            dlt_template_id=rendered.dlt_template_id,
            kind="otp_sign_in",
        )
    )
    [arrived] = gateway.received("sms")
    assert "482913" in arrived["body"]["text"]
    assert arrived["body"]["unicode"] is True
    assert "reference" not in arrived["body"]


def test_an_otp_the_gateway_will_not_take_is_a_clear_503_and_logs_no_code(
    gateway: fake_gateway.FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    settings = gateway.delivery_settings()
    assert settings.sms is not None
    sender = sms.HttpSender(sms_gateway.SmsGateway(settings.sms))
    gateway.fail_next(1)
    rendered = templates.render("otp_sign_in", "en", service_no=SERVICE_NO, otp="482913")
    with caplog.at_level(logging.DEBUG), pytest.raises(sms.SmsUnavailable) as raised:
        sender.send(
            sms.Sms(
                to="+919876543210",
                text=rendered.text,
                sender=rendered.sender,
                dlt_template_id=rendered.dlt_template_id,
                kind="otp_sign_in",
            )
        )
    assert raised.value.code == "sms_unavailable"
    assert "482913" not in caplog.text and "9876543210" not in caplog.text
    assert "XXXXXX3210" in caplog.text


# --- Settings -------------------------------------------------------------------------------


def test_a_lease_shorter_than_a_send_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="sending_lease_seconds"):
        channel_settings.DeliverySettings(
            sms=channel_settings.SmsGatewaySettings(
                base_url="https://sms.example.in", api_key=SecretStr("k"), timeout_seconds=30
            ),
            sending_lease_seconds=60,
        )


def test_keys_never_show_in_settings_output() -> None:
    settings = channel_settings.DeliverySettings(
        sms=channel_settings.SmsGatewaySettings(
            base_url="https://sms.example.in", api_key=SecretStr("s3cret-key")
        )
    )
    assert "s3cret-key" not in repr(settings) and "s3cret-key" not in settings.model_dump_json()


def test_a_url_with_a_query_or_no_scheme_is_refused() -> None:
    for url in ("sms.example.in", "https://sms.example.in/?key=abc", "ftp://sms.example.in"):
        with pytest.raises(pydantic.ValidationError):
            channel_settings.SmsGatewaySettings(base_url=url, api_key=SecretStr("k"))


def test_only_configured_channels_are_built(gateway: fake_gateway.FakeGateway) -> None:
    built = channels.build(gateway.delivery_settings(whatsapp=None, push=None))
    try:
        assert set(built) == {"sms"}
    finally:
        channels.close_all(built)


# --- The fake gateway as a separate process (the demo runs it so) ----------------------------


def test_the_fake_gateway_runs_as_its_own_process_and_reports_what_arrived() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "wattwallet.messaging.fake_gateway", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.split()[3]
        exports = [process.stdout.readline().strip() for _ in range(7)]
        assert f"export WATTWALLET_DELIVERY__SMS__BASE_URL={url}" in exports
        httpx.post(f"{url}/_fail", json={"count": 1, "status": 503}).raise_for_status()
        settings = channel_settings.SmsGatewaySettings(base_url=url, api_key=SecretStr(fake_gateway.SMS_KEY))
        adapter = sms_gateway.SmsGateway(settings)
        try:
            with pytest.raises(base.GatewayUnavailable):
                adapter.send(outgoing("zero_balance", "te"))
            adapter.send(outgoing("zero_balance", "te"))
        finally:
            adapter.close()
        report = httpx.get(f"{url}/_received").json()
        assert report["requests"] == 2
        [arrived] = report["received"]
        assert arrived["channel"] == "sms" and arrived["body"]["unicode"] is True
        assert "సర్వీస్ నం." in arrived["body"]["text"]
    finally:
        process.terminate()
        process.wait(10)
