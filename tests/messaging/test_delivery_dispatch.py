"""The dispatcher against the fake gateway over real HTTP, on both databases: messages arrive as
rendered, failures are retried with backoff or given up, a dead worker's claim is taken over, and
two dispatchers racing over the same outbox send each delivery once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from tests.conftest import NOW, AddConnection
from wattwallet import tariffs
from wattwallet.context import Context
from wattwallet.domain import money, policy
from wattwallet.messaging import channels, deliveries, dispatcher, fake_gateway, preferences
from wattwallet.messaging import outbox as notifications
from wattwallet.messaging.channels import base
from wattwallet.messaging.channels import settings as channel_settings
from wattwallet.store import db, schema
from wattwallet.wallet import recharges

RETRY = deliveries.Retry(max_attempts=3, backoff_seconds=(30, 120), lease_seconds=60)


@pytest.fixture
def gateway() -> Iterator[fake_gateway.FakeGateway]:
    with fake_gateway.FakeGateway() as gw:
        yield gw


@pytest.fixture
def adapters(gateway: fake_gateway.FakeGateway) -> Iterator[dict[str, base.Channel]]:
    found = channels.build(gateway.delivery_settings())
    yield found
    channels.close_all(found)


def record(ctx: Context, *messages: notifications.Message, now: dt.datetime = NOW) -> None:
    with ctx.store.write() as conn:
        notifications.store(conn, [(m, m.render()) for m in messages], now=now)


def dispatch(ctx: Context, adapters: dict[str, base.Channel], *, at: dt.datetime = NOW) -> dispatcher.Counts:
    return dispatcher.dispatch_due(ctx, adapters, now=at, limit=100, retry=RETRY)


def only(ctx: Context, service_no: str, channel: str) -> deliveries.Delivery:
    [found] = [d for d in deliveries.of_connection(ctx, service_no=service_no) if d.channel == channel]
    return found


def low_balance(service_no: str, language: str) -> notifications.Message:
    return notifications.Message(service_no, language, "low_balance_3_days", {"balance": 45_050, "days": 3})


# --- Arrival --------------------------------------------------------------------------------


def test_a_telugu_low_balance_alert_arrives_on_every_chosen_channel(
    ctx: Context,
    add_connection: AddConnection,
    gateway: fake_gateway.FakeGateway,
    adapters: dict[str, base.Channel],
) -> None:
    service_no = add_connection(language="te", mobile="+919440012345")
    preferences.choose(ctx, service_no=service_no, changes={"whatsapp": True}, now=NOW)
    record(ctx, low_balance(service_no, "te"))

    counts = dispatch(ctx, adapters)

    assert (counts.claimed, counts.sent) == (3, 3)
    [sms] = gateway.received("sms")
    assert sms["body"]["to"] == "+919440012345"
    assert sms["body"]["unicode"] is True
    # The SMS is the short registered text; the app and WhatsApp carry the days left too.
    assert sms["body"]["text"] == (f"సర్వీస్ నం. {service_no}: బ్యాలెన్స్ తక్కువగా ఉంది (₹450.50). దయచేసి త్వరగా రీఛార్జ్ చేయండి.")
    [wa] = gateway.received("whatsapp")
    assert wa["body"]["to"] == "919440012345"
    assert wa["body"]["template"]["language"] == {"code": "te"}
    assert [p["text"] for p in wa["body"]["template"]["components"][0]["parameters"]] == [
        service_no,
        "₹450.50",
        "3",
    ]
    [app] = gateway.received("app")
    assert app["body"]["body"] == (
        f"సర్వీస్ నం. {service_no}: మీ బ్యాలెన్స్ ₹450.50 సుమారు 3 రోజులకు సరిపోతుంది. దయచేసి త్వరగా రీఛార్జ్ చేయండి."
    )

    delivered = only(ctx, service_no, "sms")
    assert delivered.status == "sent" and delivered.attempts == 1
    assert delivered.provider_message_id == sms["id"]
    assert (delivered.encoding, delivered.segments) == ("UCS-2", 2)
    assert delivered.sent_at is not None and delivered.next_attempt_at is None
    assert dispatch(ctx, adapters).claimed == 0  # nothing is sent twice


def test_an_english_recharge_receipt_arrives_after_a_real_recharge(
    ctx: Context,
    add_connection: AddConnection,
    gateway: fake_gateway.FakeGateway,
    adapters: dict[str, base.Channel],
) -> None:
    service_no = add_connection()
    receipt = recharges.recharge_wallet(
        ctx, service_no=service_no, channel="portal", reference="PG-1", amount_paise=100_000, now=NOW
    )
    dispatch(ctx, adapters)
    [sms] = [r for r in gateway.received("sms") if "Recharge" in r["body"]["text"]]
    assert sms["body"]["to"] == "+919876543210"
    assert sms["body"]["text"] == (
        f"Recharge of ₹1,000.00 received for service no. {service_no}."
        f" Balance now {money.inr(receipt.balance)}. Details in the app."
    )
    assert sms["body"]["unicode"] is True  # ₹ is not GSM-7


def test_the_mobile_is_read_when_sending_so_a_changed_number_gets_the_queued_alert(
    ctx: Context,
    add_connection: AddConnection,
    gateway: fake_gateway.FakeGateway,
    adapters: dict[str, base.Channel],
) -> None:
    service_no = add_connection()
    record(ctx, low_balance(service_no, "en"))
    with ctx.store.write() as conn:
        c = schema.connections
        conn.execute(sa.update(c).where(c.c.service_no == service_no).values(mobile="+919000012345"))
    dispatch(ctx, adapters)
    assert [r["body"]["to"] for r in gateway.received("sms")] == ["+919000012345"]


def test_a_channel_that_is_not_configured_waits(
    ctx: Context, add_connection: AddConnection, gateway: fake_gateway.FakeGateway
) -> None:
    service_no = add_connection()
    record(ctx, low_balance(service_no, "en"))
    sms_only = channels.build(gateway.delivery_settings(whatsapp=None, push=None))
    try:
        assert dispatch(ctx, sms_only).sent == 1
    finally:
        channels.close_all(sms_only)
    assert only(ctx, service_no, "app").status == "pending"


# --- Failures -------------------------------------------------------------------------------


def test_a_503_is_retried_after_the_backoff(
    ctx: Context,
    add_connection: AddConnection,
    gateway: fake_gateway.FakeGateway,
    adapters: dict[str, base.Channel],
) -> None:
    service_no = add_connection()
    preferences.choose(ctx, service_no=service_no, changes={"app": False}, now=NOW)
    record(ctx, low_balance(service_no, "en"))
    gateway.fail_next(1, status=503)

    assert dispatch(ctx, adapters).retrying == 1
    failed = only(ctx, service_no, "sms")
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.next_attempt_at is not None
    assert failed.next_attempt_at - NOW >= dt.timedelta(seconds=30)
    assert "HTTP 503" in (failed.last_error or "")

    assert dispatch(ctx, adapters, at=NOW + dt.timedelta(seconds=10)).claimed == 0  # not yet
    assert dispatch(ctx, adapters, at=NOW + dt.timedelta(seconds=31)).sent == 1
    sent = only(ctx, service_no, "sms")
    assert (sent.status, sent.attempts) == ("sent", 2)
    assert len(gateway.received("sms")) == 1


def test_a_timeout_is_retried(
    ctx: Context, add_connection: AddConnection, gateway: fake_gateway.FakeGateway
) -> None:
    service_no = add_connection()
    preferences.choose(ctx, service_no=service_no, changes={"app": False}, now=NOW)
    record(ctx, low_balance(service_no, "en"))
    settings = gateway.delivery_settings()
    assert settings.sms is not None
    quick = channels.build(
        settings.model_copy(update={"sms": settings.sms.model_copy(update={"timeout_seconds": 0.2})})
    )
    gateway.hang_next(1, seconds=2)
    try:
        assert dispatch(ctx, quick).retrying == 1
        assert "timed out" in (only(ctx, service_no, "sms").last_error or "")
        assert dispatch(ctx, quick, at=NOW + dt.timedelta(minutes=1)).sent == 1
    finally:
        channels.close_all(quick)


def test_a_refusal_is_dead_at_once(
    ctx: Context, add_connection: AddConnection, gateway: fake_gateway.FakeGateway
) -> None:
    service_no = add_connection()
    record(ctx, low_balance(service_no, "en"))
    settings = gateway.delivery_settings()
    assert settings.sms is not None
    wrong_key = settings.sms.model_copy(update={"api_key": SecretStr("revoked")})
    refused = channels.build(settings.model_copy(update={"sms": wrong_key, "push": None}))
    try:
        assert dispatch(ctx, refused).dead == 1
    finally:
        channels.close_all(refused)
    dead = only(ctx, service_no, "sms")
    assert (dead.status, dead.attempts, dead.next_attempt_at) == ("dead", 1, None)
    assert "HTTP 401" in (dead.last_error or "")
    assert [d.id for d in deliveries.dead_letters(ctx)] == [dead.id]


def test_out_of_attempts_is_dead(
    ctx: Context,
    add_connection: AddConnection,
    gateway: fake_gateway.FakeGateway,
    adapters: dict[str, base.Channel],
) -> None:
    service_no = add_connection()
    preferences.choose(ctx, service_no=service_no, changes={"app": False}, now=NOW)
    record(ctx, low_balance(service_no, "en"))
    gateway.fail_next(RETRY.max_attempts, status=502)
    at = NOW
    for _ in range(RETRY.max_attempts):
        dispatch(ctx, adapters, at=at)
        at += dt.timedelta(hours=1)
    dead = only(ctx, service_no, "sms")
    assert (dead.status, dead.attempts) == ("dead", RETRY.max_attempts)
    assert "gave up after 3 attempts" in (dead.last_error or "")
    assert dispatch(ctx, adapters, at=at).claimed == 0
    assert gateway.received() == []


def test_staff_can_send_a_dead_one_again(
    ctx: Context,
    add_connection: AddConnection,
    gateway: fake_gateway.FakeGateway,
    adapters: dict[str, base.Channel],
) -> None:
    service_no = add_connection()
    preferences.choose(ctx, service_no=service_no, changes={"app": False}, now=NOW)
    record(ctx, low_balance(service_no, "en"))
    gateway.fail_next(1, status=400)
    dispatch(ctx, adapters)
    dead = only(ctx, service_no, "sms")
    later = NOW + dt.timedelta(hours=2)
    again = deliveries.send_again(ctx, delivery_id=dead.id, by="helpline.user", now=later)
    assert (again.status, again.attempts, again.retried_by) == ("pending", 0, "helpline.user")
    with pytest.raises(deliveries.DeliveryNotDead):
        deliveries.send_again(ctx, delivery_id=dead.id, by="helpline.user", now=later)
    with pytest.raises(deliveries.DeliveryNotFound):
        deliveries.send_again(ctx, delivery_id=dead.id + 1000, by="helpline.user", now=later)
    assert dispatch(ctx, adapters, at=later).sent == 1
    assert len(gateway.received("sms")) == 1


# --- Claims, leases and races ---------------------------------------------------------------


def test_a_delivery_whose_worker_died_is_taken_over_after_the_lease(
    ctx: Context,
    add_connection: AddConnection,
    gateway: fake_gateway.FakeGateway,
    adapters: dict[str, base.Channel],
) -> None:
    service_no = add_connection()
    preferences.choose(ctx, service_no=service_no, changes={"app": False}, now=NOW)
    record(ctx, low_balance(service_no, "en"))
    [abandoned] = deliveries.claim(ctx, channels={"sms"}, now=NOW, limit=10, retry=RETRY)  # then "dies"

    assert dispatch(ctx, adapters, at=NOW + dt.timedelta(seconds=RETRY.lease_seconds - 1)).claimed == 0
    assert dispatch(ctx, adapters, at=NOW + dt.timedelta(seconds=RETRY.lease_seconds)).sent == 1
    taken_over = only(ctx, service_no, "sms")
    assert (taken_over.status, taken_over.attempts) == ("sent", 2)
    assert "had no outcome" in (taken_over.last_error or "")
    # The first worker wakes up late: its outcome no longer counts.
    assert not deliveries.settle_sent(ctx, abandoned, base.Sent("late"), now=NOW + dt.timedelta(hours=1))
    assert only(ctx, service_no, "sms").provider_message_id != "late"


def test_a_claim_that_never_ends_runs_out_of_attempts(ctx: Context, add_connection: AddConnection) -> None:
    service_no = add_connection()
    preferences.choose(ctx, service_no=service_no, changes={"app": False}, now=NOW)
    record(ctx, low_balance(service_no, "en"))
    at = NOW
    for _ in range(RETRY.max_attempts):
        assert len(deliveries.claim(ctx, channels={"sms"}, now=at, limit=10, retry=RETRY)) == 1
        at += dt.timedelta(seconds=RETRY.lease_seconds)
    assert deliveries.claim(ctx, channels={"sms"}, now=at, limit=10, retry=RETRY) == []
    assert only(ctx, service_no, "sms").status == "dead"


def test_sends_that_could_outlast_the_lease_are_handed_back_unsent(
    ctx: Context,
    add_connection: AddConnection,
    gateway: fake_gateway.FakeGateway,
    adapters: dict[str, base.Channel],
) -> None:
    service_no = add_connection()
    record(ctx, low_balance(service_no, "en"))
    counts = dispatcher.dispatch_due(
        ctx, adapters, now=NOW, limit=10, retry=RETRY, send_budget_seconds=RETRY.lease_seconds
    )
    assert (counts.claimed, counts.released, counts.sent) == (2, 2, 0)
    assert gateway.requests == 0
    assert {(d.status, d.attempts) for d in deliveries.of_connection(ctx, service_no=service_no)} == {
        ("pending", 0)
    }
    assert dispatch(ctx, adapters).sent == 2


def _race(
    ctx_a: Context, ctx_b: Context, adapters: dict[str, base.Channel], *, workers: int
) -> list[dispatcher.Counts]:
    start = threading.Barrier(2)
    results: list[dispatcher.Counts] = []
    lock = threading.Lock()

    def run(ctx: Context) -> None:
        total = dispatcher.Counts()
        start.wait()
        while True:
            counts = dispatcher.dispatch_due(ctx, adapters, now=NOW, limit=7, retry=RETRY, workers=workers)
            total.add(counts)
            if counts.claimed == 0:
                break
        with lock:
            results.append(total)

    threads = [threading.Thread(target=run, args=(c,)) for c in (ctx_a, ctx_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_dispatchers_racing_send_each_delivery_once(
    ctx: Context,
    store_url: str,
    add_connection: AddConnection,
    gateway: fake_gateway.FakeGateway,
    adapters: dict[str, base.Channel],
) -> None:
    numbers = [add_connection() for _ in range(20)]
    record(ctx, *[low_balance(n, "en") for n in numbers for _ in range(5)])  # 100 messages, 200 deliveries
    gateway.latency = 0.002
    other = db.Store.from_url(store_url)  # as another process would: its own engine and connections
    try:
        results = _race(ctx, dataclasses.replace(ctx, store=other), adapters, workers=3)
    finally:
        other.dispose()
    arrived = gateway.received()
    references = [r["body"].get("reference") for r in arrived]
    assert len(arrived) == 200
    assert len(set(references)) == 200
    assert sum(r.sent for r in results) == 200
    assert all(r.claimed > 0 for r in results)  # both took part
    with ctx.store.read() as conn:
        d = schema.deliveries
        assert conn.execute(sa.select(d.c.status, d.c.attempts).distinct()).all() == [("sent", 1)]


def _dispatch_in_process(url: str, gateway_url: str, ready: Any) -> None:
    """A worker process: its own engine, its own HTTP clients, the same code path."""
    delivery = channel_settings.DeliverySettings(
        sms=channel_settings.SmsGatewaySettings(
            base_url=gateway_url, api_key=SecretStr(fake_gateway.SMS_KEY)
        ),
        push=channel_settings.PushSettings(base_url=gateway_url, api_key=SecretStr(fake_gateway.PUSH_KEY)),
        sending_lease_seconds=60,
    )
    store = db.Store.from_url(url)
    ctx = Context(store=store, tariffs=tariffs.book("sample"), policy=policy.Policy())
    adapters = channels.build(delivery)
    ready.wait()
    while dispatcher.dispatch_due(ctx, adapters, now=NOW, limit=5, retry=RETRY, workers=2).claimed:
        pass
    channels.close_all(adapters)
    store.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.postgres_only
def test_two_dispatcher_processes_send_each_delivery_once(
    ctx: Context, store_url: str, add_connection: AddConnection, gateway: fake_gateway.FakeGateway
) -> None:
    numbers = [add_connection() for _ in range(10)]
    record(ctx, *[low_balance(n, "en") for n in numbers for _ in range(6)])  # 120 deliveries
    gateway.latency = 0.002
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Barrier(2)
    processes = [
        spawn.Process(target=_dispatch_in_process, args=(store_url, gateway.base_url, ready))
        for _ in range(2)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join(60)
    assert [p.exitcode for p in processes] == [0, 0]
    references = [r["body"]["reference"] for r in gateway.received()]
    assert len(references) == 120 and len(set(references)) == 120


# --- The loop ---------------------------------------------------------------------------------


def test_the_dispatcher_thread_sends_what_is_recorded_while_it_runs(
    ctx: Context, add_connection: AddConnection, gateway: fake_gateway.FakeGateway
) -> None:
    service_no = add_connection(language="te")
    settings = gateway.delivery_settings(poll_seconds=0.02)
    loop = dispatcher.Dispatcher(ctx, settings=settings, clock=lambda: NOW + dt.timedelta(seconds=1))
    loop.start()
    try:
        assert loop.running
        record(ctx, low_balance(service_no, "te"))
        deadline = time.monotonic() + 10
        while len(gateway.received()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        loop.stop()
    assert not loop.running
    assert sorted(r["channel"] for r in gateway.received()) == ["app", "sms"]
    assert loop.totals.sent == 2
    assert {d.status for d in deliveries.of_connection(ctx, service_no=service_no)} == {"sent"}
    with pytest.raises(RuntimeError):  # its HTTP clients are closed: a stopped dispatcher stays stopped
        loop.start()
