"""Delivery over HTTP, both databases: staff's dead letters and retry; a consumer's channel choices."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import Api, bearer
from tests.conftest import NOW
from wattwallet.messaging import channels, deliveries, dispatcher, fake_gateway
from wattwallet.messaging import outbox as notifications
from wattwallet.messaging.channels import base

DEAD = "/api/v1/staff/deliveries/dead"


def channels_url(service_no: str) -> str:
    return f"/api/v1/me/connections/{service_no}/channels"


@pytest.fixture
def web(api: Api) -> Api:
    return api


@pytest.fixture
def gateway() -> Iterator[fake_gateway.FakeGateway]:
    with fake_gateway.FakeGateway() as gw:
        yield gw


@pytest.fixture
def adapters(gateway: fake_gateway.FakeGateway) -> Iterator[dict[str, base.Channel]]:
    found = channels.build(gateway.delivery_settings(push=None))
    yield found
    channels.close_all(found)


def dead_alert(
    web: Api, service_no: str, gateway: fake_gateway.FakeGateway, adapters: dict[str, base.Channel]
) -> None:
    """A zero-balance alert the SMS gateway refuses (400): dead at once."""
    message = notifications.Message(service_no, "en", "zero_balance", {"balance": -1_000})
    with web.ctx.store.write() as conn:
        notifications.store(conn, [(message, message.render())], now=NOW)
    gateway.fail_next(1, status=400)
    assert dispatcher.dispatch_due(web.ctx, adapters, now=NOW, limit=10).dead == 1


# --- Staff ----------------------------------------------------------------------------------


def test_the_helpline_sees_dead_letters_with_masked_numbers(
    web: Api, consumer: Any, gateway: fake_gateway.FakeGateway, adapters: dict[str, base.Channel]
) -> None:
    service_no, mobile = consumer(1)
    dead_alert(web, service_no, gateway, adapters)
    answer = web.client.get(DEAD, headers=bearer(web.staff_token("helpline")))
    assert answer.status_code == 200, answer.text
    [letter] = answer.json()
    assert letter["service_no"] == service_no
    assert (letter["kind"], letter["channel"], letter["status"], letter["attempts"]) == (
        "zero_balance",
        "sms",
        "dead",
        1,
    )
    assert letter["recipient"] == "+91XXXXXX0001"
    assert mobile not in answer.text
    assert "HTTP 400" in letter["last_error"]
    assert letter["updated_at"].endswith("+05:30")


def test_retry_sends_a_dead_letter_again_and_puts_the_staff_member_on_record(
    web: Api, consumer: Any, gateway: fake_gateway.FakeGateway, adapters: dict[str, base.Channel]
) -> None:
    service_no, mobile = consumer(1)
    dead_alert(web, service_no, gateway, adapters)
    token = web.staff_token("helpline")
    [letter] = web.client.get(DEAD, headers=bearer(token)).json()

    answer = web.client.post(f"/api/v1/staff/deliveries/{letter['id']}/retry", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["attempts"], answer.json()["retried_by"]) == (
        "pending",
        0,
        "helpline.user",
    )
    assert web.client.get(DEAD, headers=bearer(token)).json() == []

    again = web.client.post(f"/api/v1/staff/deliveries/{letter['id']}/retry", headers=bearer(token))
    assert (again.status_code, again.json()["code"]) == (409, "delivery_not_dead")

    assert dispatcher.dispatch_due(web.ctx, adapters, now=web.clock(), limit=10).sent == 1
    assert [r["body"]["to"] for r in gateway.received("sms")] == [mobile]
    by_channel = {d.channel: d.status for d in deliveries.of_connection(web.ctx, service_no=service_no)}
    assert by_channel == {"sms": "sent", "app": "pending"}  # no push service configured here


def test_retrying_what_does_not_exist_is_a_404(web: Api) -> None:
    answer = web.client.post(
        "/api/v1/staff/deliveries/999999/retry", headers=bearer(web.staff_token("admin"))
    )
    assert (answer.status_code, answer.json()["code"]) == (404, "delivery_not_found")
    malformed = web.client.post(
        "/api/v1/staff/deliveries/abc/retry", headers=bearer(web.staff_token("admin"))
    )
    assert malformed.status_code == 422


@pytest.mark.parametrize("role", ["billing", "field", "service_centre"])
def test_other_staff_roles_may_not_see_or_retry(web: Api, role: str) -> None:
    token = web.staff_token(role)
    assert web.client.get(DEAD, headers=bearer(token)).status_code == 403
    assert web.client.post("/api/v1/staff/deliveries/1/retry", headers=bearer(token)).status_code == 403


def test_staff_routes_need_a_staff_session(web: Api, consumer: Any) -> None:
    assert web.client.get(DEAD).status_code == 401
    service_no, mobile = consumer(1)
    assert web.client.get(DEAD, headers=bearer(web.consumer_token(service_no, mobile))).status_code == 401


def test_the_roles_are_documented(web: Api) -> None:
    spec = web.client.get("/api/v1/openapi.json").json()
    operation = spec["paths"]["/api/v1/staff/deliveries/dead"]["get"]
    assert operation["x-staff-roles"] == ["admin", "helpline"]


# --- Consumer -------------------------------------------------------------------------------


def test_a_consumer_sees_the_default_channels(web: Api, consumer: Any) -> None:
    service_no, mobile = consumer(1)
    answer = web.client.get(channels_url(service_no), headers=bearer(web.consumer_token(service_no, mobile)))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {c["channel"]: (c["enabled"], c["can_turn_off"]) for c in body["channels"]} == {
        "sms": (True, False),
        "whatsapp": (False, True),
        "app": (True, True),
    }
    assert "zero_balance" in body["always_by_sms"] and "recharge_success" not in body["always_by_sms"]


def test_a_consumer_opts_in_to_whatsapp_and_out_of_the_app(web: Api, consumer: Any) -> None:
    service_no, mobile = consumer(1)
    headers = bearer(web.consumer_token(service_no, mobile))
    answer = web.client.put(channels_url(service_no), json={"whatsapp": True, "app": False}, headers=headers)
    assert answer.status_code == 200, answer.text
    enabled = {c["channel"]: c["enabled"] for c in answer.json()["channels"]}
    assert enabled == {"sms": True, "whatsapp": True, "app": False}
    assert {
        c["channel"]: c["enabled"]
        for c in web.client.get(channels_url(service_no), headers=headers).json()["channels"]
    } == enabled
    # The next alert follows the choice.
    message = notifications.Message(service_no, "en", "zero_balance", {"balance": -1_000})
    with web.ctx.store.write() as conn:
        notifications.store(conn, [(message, message.render())], now=web.clock())
    assert sorted(d.channel for d in deliveries.of_connection(web.ctx, service_no=service_no)) == [
        "sms",
        "whatsapp",
    ]


def test_sms_cannot_be_turned_off_and_nothing_changes(web: Api, consumer: Any) -> None:
    service_no, mobile = consumer(1)
    headers = bearer(web.consumer_token(service_no, mobile))
    answer = web.client.put(channels_url(service_no), json={"sms": False, "whatsapp": True}, headers=headers)
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["code"] == "channel_mandatory"
    assert "cannot be turned off" in problem["detail"]
    assert answer.headers["content-type"].startswith("application/problem+json")
    enabled = {
        c["channel"]: c["enabled"]
        for c in web.client.get(channels_url(service_no), headers=headers).json()["channels"]
    }
    assert enabled["whatsapp"] is False
    assert web.client.put(channels_url(service_no), json={"sms": True}, headers=headers).status_code == 200


@pytest.mark.parametrize("body", [{}, {"email": True}, {"whatsapp": "yes please"}, {"whatsapp": None}, []])
def test_a_malformed_choice_is_refused(web: Api, consumer: Any, body: Any) -> None:
    service_no, mobile = consumer(1)
    headers = bearer(web.consumer_token(service_no, mobile))
    answer = web.client.put(channels_url(service_no), json=body, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (422, "request_invalid")


def test_another_consumers_connection_is_not_found(web: Api, consumer: Any) -> None:
    mine, mobile = consumer(1)
    theirs, _ = consumer(2)
    headers = bearer(web.consumer_token(mine, mobile))
    for answer in (
        web.client.get(channels_url(theirs), headers=headers),
        web.client.put(channels_url(theirs), json={"whatsapp": True}, headers=headers),
    ):
        assert (answer.status_code, answer.json()["code"]) == (404, "connection_not_found")
    assert web.client.get(channels_url(mine)).status_code == 401
