"""The SMS templates obey India's DLT rules (TRAI direction of 18 Nov 2025), whatever the figures:
at most 2 variables (a 3rd only with its reason), each at most 30 characters once formatted, only
characters a registered text may hold, no key defined twice; and the registration sheet says so."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from wattwallet.cli.main import app
from wattwallet.domain import clock, money
from wattwallet.messaging import fake_gateway, formatting, registration, templates

BOOK = templates.load()
CASES = [(kind, language) for kind in templates.KINDS for language in templates.LANGUAGES]


@pytest.mark.parametrize(("kind", "language"), CASES)
def test_each_sms_has_at_most_two_variables_or_says_why_it_needs_a_third(kind: str, language: str) -> None:
    template = BOOK.get(kind, language)
    assert len(template.sms_variables) <= templates.SMS_MAX_VARIABLES_BY_EXCEPTION
    if len(template.sms_variables) > templates.SMS_MAX_VARIABLES:
        assert template.sms_third_variable and len(template.sms_third_variable) > 40
    assert all(templates.FIGURES[name].max_chars <= 30 for name in template.sms_variables)
    assert "ref" not in template.sms_variables and "reason" not in template.sms_variables


def test_third_variables_are_the_exception() -> None:
    with_three = {t.kind for t in BOOK.templates.values() if len(t.sms_variables) == 3}
    assert with_three == {"recharge_success", "short_bill_raised", "bill_ready", "postpaid_bill_ready"}


# Hypothesis takes naive bounds and attaches the time zone itself.
_NAIVE_FROM = dt.datetime(2000, 1, 1)  # noqa: DTZ001
_NAIVE_TO = dt.datetime(2099, 12, 31)  # noqa: DTZ001

# Figures across their whole range: the longest amounts, any day, any minute of any month.
_figures = st.fixed_dictionaries(
    {
        "service_no": st.from_regex(r"[0-9]{9,13}", fullmatch=True),
        "amount": st.integers(1, money.MAX_AMOUNT_PAISE),
        "to_dues": st.integers(0, money.MAX_AMOUNT_PAISE),
        "balance": st.integers(-money.MAX_AMOUNT_PAISE, money.MAX_AMOUNT_PAISE),
        "amount_needed": st.integers(0, money.MAX_AMOUNT_PAISE),
        "final_balance": st.integers(-money.MAX_AMOUNT_PAISE, money.MAX_AMOUNT_PAISE),
        "arrears": st.integers(0, money.MAX_AMOUNT_PAISE),
        "refund": st.integers(0, money.MAX_AMOUNT_PAISE),
        "ref": st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=64),
        "reason": st.sampled_from(["additional_load", "technical_error", "meter CT ratio corrected"]),
        "due": st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)),
        "earliest": st.datetimes(_NAIVE_FROM, _NAIVE_TO, timezones=st.just(clock.IST)),
        "days": st.integers(0, 9999),
        "days_left": st.integers(0, 15),
        "otp": st.from_regex(r"[0-9]{6}", fullmatch=True),
        "new_mobile_masked": st.just("******3210"),
        "via": st.sampled_from(["app", "website", "helpline", "service_centre"]),
        "month": st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)),
        "bill_token": st.from_regex(r"[A-Za-z0-9_-]{23}", fullmatch=True),
        "mode": st.sampled_from(["prepaid", "postpaid"]),
        "effective_on": st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)),
        "outstanding": st.integers(0, money.MAX_AMOUNT_PAISE),
        "due_on": st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)),
    }
)


@settings(max_examples=300, deadline=None)
@given(figures=_figures, case=st.sampled_from(CASES))
def test_no_rendered_sms_holds_a_character_dlt_forbids_or_an_overlong_variable(
    figures: dict[str, object], case: tuple[str, str]
) -> None:
    kind, language = case
    template = BOOK.get(kind, language)
    rendered = templates.render(kind, language, **{n: figures[n] for n in template.figures})
    assert templates.sms_disallowed(rendered.sms_text, language) == []
    for odd in ("\u202f", "\u00a0", "\u2009", "\u200b", "\u200c", "\u200d", "\ufeff"):
        assert odd not in rendered.sms_text
    assert BOOK.matches_registration(rendered.dlt_template_id, rendered.sms_text)


@pytest.mark.parametrize("language", templates.LANGUAGES)
def test_every_date_and_instant_fits_a_dlt_variable(language: str) -> None:
    longest = 0
    for month in range(1, 13):
        for hour in range(24):
            instant = dt.datetime(2025, month, 28, hour, 59, tzinfo=clock.IST)
            shown = formatting.instant_text(instant, language)
            assert templates.sms_disallowed(shown, language) == []
            longest = max(longest, len(shown), len(formatting.day_text(instant.date(), language)))
    assert longest <= templates.FIGURES["earliest"].max_chars <= 30
    assert len(money.inr(-money.MAX_AMOUNT_PAISE)) <= templates.FIGURES["balance"].max_chars


def test_a_key_defined_twice_is_a_load_error(tmp_path: Path) -> None:
    # The bug this guards: otp_sign_in was defined twice and the loader kept the second silently.
    text = templates.BUILT_IN.read_text(encoding="utf-8")
    start = text.index("  otp_sign_in:")
    end = text.index("  otp_mobile_change:")
    path = tmp_path / "templates.yaml"
    path.write_text(text + "\n" + text[start:end], encoding="utf-8")
    templates.load.cache_clear()
    try:
        with pytest.raises(templates.TemplateDataInvalid, match=r"otp_sign_in.*twice"):
            templates.load(path)
    finally:
        templates.load.cache_clear()


def test_the_helpline_is_a_whitelisted_setting_not_a_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATTWALLET_MESSAGING__HELPLINE", "18004250028")
    templates.load.cache_clear()
    try:
        rendered = templates.render(
            "termination", "en", service_no="1234567890123", final_balance=0, arrears=0, refund=0
        )
        assert rendered.sms_text.endswith("call 18004250028.")
        [row] = [r for r in registration.rows() if (r.kind, r.language) == ("termination", "en")]
        assert row.whitelisted == ("18004250028",) and "18004250028" in row.text
        assert [v.name for v in row.variables] == ["service_no"]
    finally:
        templates.load.cache_clear()


# --- The registration sheet ---------------------------------------------------------------------


def test_the_sheet_lists_every_sms_as_registered() -> None:
    sheet = registration.rows()
    assert [(r.kind, r.language) for r in sheet] == CASES
    for row in sheet:
        template = BOOK.get(row.kind, row.language)
        assert row.dlt_template_id == template.dlt_template_id
        assert row.category == "service-implicit" and row.header == "APSPDC"
        assert row.text.count("{#var#}") == len(row.variables) == len(template.sms_variables)
        assert len(row.variables) <= 2 or row.third_variable_reason
        assert all(v.max_chars <= 30 for v in row.variables)
        assert "{" not in row.text.replace("{#var#}", "")
        # Filling each {#var#} with the rendered figure gives the golden SMS back.
        golden = (Path(__file__).with_name("golden") / f"{row.kind}.{row.language}.txt").read_text(
            encoding="utf-8"
        )
        sms = golden.splitlines()[2]
        assert BOOK.matches_registration(row.dlt_template_id, sms)


def test_templates_export_prints_the_sheet_as_csv_and_text() -> None:
    runner = CliRunner()
    as_csv = runner.invoke(app, ["templates", "export", "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert len(rows) == len(CASES)
    assert set(rows[0]) == set(registration.COLUMNS)
    assert {r["category"] for r in rows} == {"service-implicit"}
    assert all(int(r["variable_count"]) <= 3 for r in rows)
    assert {r["whitelisted"] for r in rows} == {"", "1912", "bills.apspdcl.in"}

    as_text = runner.invoke(app, ["templates", "export"])
    assert as_text.exit_code == 0
    assert "Call-back numbers and URLs to whitelist: 1912" in as_text.output
    assert "సర్వీస్ నం. {#var#}" in as_text.output

    wrong = runner.invoke(app, ["templates", "export", "--format", "xml"])
    assert wrong.exit_code == 2


# --- The stand-in operator refuses a text that drifted from its registration --------------------


def test_the_fake_sms_gateway_refuses_a_text_that_is_not_its_registered_template() -> None:
    rendered = templates.render("zero_balance", "en", service_no="1234567890123", balance=-2_524)
    headers = {"authorization": f"Bearer {fake_gateway.SMS_KEY}"}

    def post(text: str) -> int:
        body = {
            "to": "+919876543210",
            "text": text,
            "sender": rendered.sender,
            "dlt_template_id": rendered.dlt_template_id,
            "unicode": templates.sms_encoding(text) == "UCS-2",
        }
        status, _answer = fake_gateway.FakeGateway().handle_post("/sms", headers, body)
        return status

    assert post(rendered.sms_text) == 200
    assert post(rendered.sms_text.replace("Recharge", "recharge")) == 400
    assert post(rendered.sms_text.replace(" ", "\u202f", 1)) == 400
    assert post(rendered.sms_text.replace("-₹25.24", "x" * 31)) == 400
