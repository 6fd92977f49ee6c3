"""The Billing mode page and a postpaid home page in process, on SQLite and PostgreSQL: book a switch
from tomorrow (no JavaScript: plain forms), see it on the home page, withdraw it; every refusal said in
the reader's language with nothing written; once switched, the home page shows what is owed instead
of the wallet, and no recharge."""

from __future__ import annotations

import html

from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.api.test_consumer_views import at, read_and_bill
from tests.conftest import AddConnection, table_counts
from tests.web.test_pages import csrf, sign_in
from wattwallet.billing import deposits, mode_switch
from wattwallet.wallet import counter


def signed_in(
    api: Api, add_connection: AddConnection, mobile: str, **overrides: str
) -> tuple[str, TestClient]:
    number = add_connection(mobile=mobile, **overrides)
    client = TestClient(api.client.app, follow_redirects=False)
    sign_in(api, client, number, mobile)
    return number, client


def test_book_a_switch_from_tomorrow_see_it_at_home_then_withdraw_it(
    api: Api, add_connection: AddConnection
) -> None:
    number, client = signed_in(api, add_connection, "+919812345611")
    profile = client.get(f"/c/{number}/profile")
    assert f'href="/c/{number}/billing-mode"' in profile.text and "Prepaid: recharge first" in profile.text
    page = client.get(f"/c/{number}/billing-mode")
    assert page.status_code == 200
    assert "Your billing mode now" in page.text and "Switch to postpaid" in page.text
    assert 'min="2025-06-03" value="2025-06-03"' in page.text  # tomorrow, IST
    assert "kept as an advance" in page.text and "added to your first bill" in page.text
    token = csrf(page.text)
    booked = client.post(
        f"/c/{number}/billing-mode", data={"csrf": token, "to": "postpaid", "effective_on": ""}
    )
    assert (
        booked.status_code == 303 and booked.headers["location"] == f"/c/{number}/billing-mode?done=requested"
    )
    [switch] = mode_switch.history(api.ctx, service_no=number)
    assert (switch.after.value, switch.effective_on.isoformat(), switch.via) == (
        "postpaid",
        "2025-06-03",
        "consumer",
    )
    page = client.get(booked.headers["location"])
    assert "Your switch is booked" in page.text and "To postpaid from 3 Jun 2025." in page.text
    assert "Withdraw the switch" in page.text and 'name="effective_on"' not in page.text
    home = client.get(f"/c/{number}/")
    assert "Your switch to postpaid starts on 3 Jun 2025." in home.text

    gone = client.post(f"/c/{number}/billing-mode/withdraw", data={"csrf": token})
    assert gone.status_code == 303 and gone.headers["location"].endswith("?done=withdrawn")
    assert mode_switch.pending(api.ctx, service_no=number) is None
    page = client.get(gone.headers["location"])
    assert "Your switch is withdrawn" in page.text and "Earlier switches" in page.text
    assert "withdrawn" in page.text and 'name="effective_on"' in page.text


def test_every_refusal_is_said_in_the_readers_language_and_writes_nothing(
    api: Api, add_connection: AddConnection
) -> None:
    number, client = signed_in(api, add_connection, "+919812345612")
    url = f"/c/{number}/billing-mode"
    token = csrf(client.get(url).text)
    before = table_counts(api.ctx.store)
    cases = [
        ({"to": "postpaid", "effective_on": "2025-06-02"}, 422, "Choose a day after today"),
        ({"to": "postpaid", "effective_on": "next week"}, 422, "Choose a day after today"),
        ({"to": "prepaid", "effective_on": ""}, 422, "already has that billing mode"),
        ({"to": "credit", "effective_on": ""}, 422, "Choose prepaid or postpaid."),
    ]
    for form, status, words in cases:
        answer = client.post(url, data={"csrf": token, **form})
        assert answer.status_code == status, (form, answer.text[:300])
        assert words in answer.text and 'role="alert"' in answer.text and 'aria-invalid="true"' in answer.text
    refused = client.post(f"{url}/withdraw", data={"csrf": token})
    assert refused.status_code == 409 and "no switch still to come" in refused.text
    forged = client.post(url, data={"csrf": "forged", "to": "postpaid"})
    assert forged.status_code == 403
    assert table_counts(api.ctx.store) == before

    assert client.post(url, data={"csrf": token, "to": "postpaid"}).status_code == 303
    # The page then shows no form; a second request (another tab, an old page) is refused.
    twice = client.post(url, data={"csrf": token, "to": "postpaid"})
    assert twice.status_code == 409 and "already booked" in twice.text

    telugu, te_client = signed_in(api, add_connection, "+919812345613", language="te")
    te_token = csrf(te_client.get(f"/c/{telugu}/billing-mode").text)
    answer = te_client.post(
        f"/c/{telugu}/billing-mode", data={"csrf": te_token, "to": "postpaid", "effective_on": "2025-06-01"}
    )
    assert answer.status_code == 422 and 'lang="te"' in answer.text
    assert "ఈ రోజు తర్వాతి తేదీని ఎంచుకోండి" in html.unescape(answer.text)


def test_a_postpaid_home_shows_what_is_owed_instead_of_the_wallet_and_no_recharge(
    api: Api, add_connection: AddConnection
) -> None:
    number = add_connection(mobile="+919812345614", meter_serial="SM-PP1")
    counter.recharge(
        api.ctx, by="sc.test", service_no=number, reference="R-PP1", amount_paise=100_000, now=api.clock()
    )
    mode_switch.request(api.ctx, service_no=number, to="postpaid", now=api.clock())
    mode_switch.run_due(api.ctx, now=at("2025-06-03T06:30"))
    deposits.set_deposit(api.ctx, service_no=number, amount_paise=150_000, now=api.clock(), by="test")
    read_and_bill(api, "SM-PP1", "0", day="2025-06-03")
    read_and_bill(api, "SM-PP1", "8", day="2025-06-04")
    api.clock.now = at("2025-06-04T09:00")
    client = TestClient(api.client.app, follow_redirects=False)
    sign_in(api, client, number, "+919812345614")
    home = client.get(f"/c/{number}/")
    assert home.status_code == 200
    text = html.unescape(home.text)
    assert "You owe" in text and "₹0.00" in text and "Nothing to pay now." in text
    assert "₹1,000.00 (taken off your next bills)" in text and "₹1,500.00" in text
    assert "Used since your last bill" in text
    assert f'href="/c/{number}/recharge"' not in home.text and 'id="balance"' not in home.text
    mode_page = client.get(f"/c/{number}/billing-mode")
    assert "Postpaid" in mode_page.text and "Switch to prepaid" in mode_page.text
    assert "security deposit is set against those dues" in mode_page.text
    assert "To postpaid from 3 Jun 2025" in mode_page.text and "done" in mode_page.text
