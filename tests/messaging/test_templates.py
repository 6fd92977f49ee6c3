import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from babel.numbers import format_currency

from wattwallet.domain import errors
from wattwallet.messaging import templates
from wattwallet.messaging.templates import (
    KINDS,
    LANGUAGES,
    FigureInvalid,
    FigureMissing,
    Rendered,
    TemplateDataInvalid,
    UnknownTemplate,
    render,
    sms_encoding,
    sms_segments,
)

# The contract: each kind and the figures it takes (besides service_no, which every kind takes).
KIND_FIGURES: dict[str, set[str]] = {
    "recharge_success": {"amount", "to_dues", "balance", "ref"},
    "low_balance_3_days": {"balance", "days"},
    "low_balance_2_days": {"balance", "days"},
    "zero_balance": {"balance"},
    "emergency_credit": {"amount"},
    "disconnection_scheduled": {"balance", "earliest"},
    "disconnected": {"balance", "amount_needed"},
    "reconnected": {"balance"},
    "reconnect_amount_needed": {"balance", "amount_needed"},
    "short_bill_raised": {"amount", "reason", "ref", "due"},
    "short_bill_reminder": {"amount", "ref", "due", "days_left"},
    "short_bill_deducted": {"amount", "ref", "balance"},
    "termination": {"final_balance", "arrears", "refund"},
    "otp_sign_in": {"otp"},
    "otp_mobile_change": {"otp"},
    "mobile_changed": {"new_mobile_masked", "via"},
    "refund_due": {"amount"},
    "bill_ready": {"amount", "month", "bill_token"},
    "postpaid_bill_ready": {"amount", "month", "due_on", "bill_token"},
    "mode_switch_scheduled": {"mode", "effective_on"},
    "mode_changed": {"mode", "balance", "to_dues"},
    "payment_received": {"amount", "outstanding", "ref"},
}

SERVICE_NO = "1234567890123"
TYPICAL: dict[str, object] = {
    "service_no": SERVICE_NO,
    "amount": 123_456,  # ₹1,234.56
    "to_dues": 20_000,
    "balance": -123_456,
    "amount_needed": 20_000,
    "final_balance": -45_050,
    "arrears": 45_050,
    "refund": 0,
    "ref": "SB/25/000123",
    "reason": "additional_load",
    "due": dt.date(2025, 7, 30),
    "earliest": dt.datetime(2025, 7, 16, 4, 30, tzinfo=dt.UTC),  # 10:00 IST
    "days": 3,
    "days_left": 3,
    "otp": "482913",
    "new_mobile_masked": "******3210",
    "via": "app",
    "month": dt.date(2025, 6, 1),
    "bill_token": "AAAAAAAB9QAzv0bTq8kM2xY",
    "mode": "postpaid",
    "effective_on": dt.date(2025, 7, 1),
    "outstanding": 45_050,
    "due_on": dt.date(2025, 7, 16),
}

TELUGU = re.compile("[\u0c00-\u0c7f]")
CASES = [(kind, language) for kind in KINDS for language in LANGUAGES]


def figures_for(kind: str, **overrides: object) -> dict[str, object]:
    names = KIND_FIGURES[kind] | {"service_no"}
    return {name: overrides.get(name, TYPICAL[name]) for name in names}


def money_figures(kind: str) -> list[str]:
    return sorted(n for n in KIND_FIGURES[kind] if templates.FIGURES[n].figure is templates.Figure.MONEY)


# --- Every kind, both languages -----------------------------------------------------------------


def test_kinds_are_the_contract() -> None:
    assert set(KINDS) == set(KIND_FIGURES)
    assert len(KINDS) == len(set(KINDS))
    assert LANGUAGES == ("en", "te")


@pytest.mark.parametrize(("kind", "language"), CASES)
def test_every_kind_renders_with_typical_figures(kind: str, language: str) -> None:
    rendered = render(kind, language, **figures_for(kind))

    assert rendered.kind == kind
    assert rendered.language == language
    assert rendered.sender == "APSPDC"
    assert re.fullmatch(r"[0-9]{19}", rendered.dlt_template_id)
    for text in (rendered.text, rendered.sms_text):
        assert SERVICE_NO in text
        assert "{" not in text and "}" not in text
        if language == "te":
            assert TELUGU.search(text)
            assert sms_encoding(text) == "UCS-2"
        else:
            assert not TELUGU.search(text)
    assert rendered.sms_segments == sms_segments(rendered.sms_text)
    assert 1 <= rendered.sms_segments <= 2, rendered.sms_text


@pytest.mark.parametrize("kind", KINDS)
def test_templates_take_exactly_the_contract_figures(kind: str) -> None:
    for language in LANGUAGES:
        assert templates.load().templates[(kind, language)].figures == KIND_FIGURES[kind] | {"service_no"}


@pytest.mark.parametrize(("kind", "language"), [c for c in CASES if money_figures(c[0])])
def test_money_shows_in_indian_grouping_with_the_rupee_sign(kind: str, language: str) -> None:
    # Distinct values per figure, so each one is found where it belongs.
    values = [12_345_650, 987_654_321_0, 250_000, 100]  # ₹1,23,456.50 ₹9,87,65,432.10 ₹2,500.00 ₹1.00
    shown = ["₹1,23,456.50", "₹9,87,65,432.10", "₹2,500.00", "₹1.00"]
    names = money_figures(kind)
    text = render(kind, language, **figures_for(kind, **dict(zip(names, values, strict=False)))).text
    for expected in shown[: len(names)]:
        assert expected in text


@pytest.mark.parametrize("kind", KINDS)
def test_telugu_carries_the_same_figures_as_english(kind: str) -> None:
    figures = figures_for(kind)
    english = render(kind, "en", **figures).text
    telugu = render(kind, "te", **figures).text
    # Every run of Latin digits (with grouping, decimals, ₹ and sign) in one is in the other,
    # dates aside (the month name is in the language).
    number = re.compile(r"-?₹?[0-9][0-9,./]*[0-9]|[0-9]")
    skip = {"30", "2025", "16", "10:00", "10", "00"}
    assert {n for n in number.findall(english) if n not in skip} <= set(number.findall(telugu))
    assert {n for n in number.findall(telugu) if n not in skip} <= set(number.findall(english))


@pytest.mark.parametrize("language", LANGUAGES)
def test_negative_balances_render_with_a_minus_sign(language: str) -> None:
    text = render("zero_balance", language, service_no=SERVICE_NO, balance=-123_456_50).text
    assert "-₹1,23,456.50" in text
    text = render("termination", language, service_no=SERVICE_NO, final_balance=-5, arrears=5, refund=0).text
    assert "-₹0.05" in text
    assert "₹0.00" in text


def test_telugu_money_keeps_latin_digits_and_indian_grouping() -> None:
    shown = templates.format_money(123_456_50, "te")
    assert shown == "₹1,23,456.50"
    assert not re.search("[\u0c66-\u0c6f]", shown)  # no Telugu digits
    assert templates.format_money(10**15, "te") == "₹1,00,00,00,00,00,000.00"
    assert templates.format_money(-1, "en") == "-₹0.01"


def test_dates_are_written_in_the_language() -> None:
    due = dt.date(2025, 7, 30)
    figures = figures_for("short_bill_reminder", due=due)
    for shown in (
        render("short_bill_reminder", "en", **figures),
        render("short_bill_reminder", "te", **figures),
    ):
        assert shown.text.count("30 Jul 2025" if shown.language == "en" else "30 జులై 2025") == 1
        assert shown.sms_text.count("30 Jul 2025" if shown.language == "en" else "30 జులై 2025") == 1


@pytest.mark.parametrize(
    "earliest",
    [
        dt.datetime(2025, 7, 16, 4, 30, tzinfo=dt.UTC),
        dt.datetime(2025, 7, 16, 10, 0, tzinfo=ZoneInfo("Asia/Kolkata")),
        dt.datetime(2025, 7, 16, 6, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    ],
)
def test_instants_are_shown_in_india_time(earliest: dt.datetime) -> None:
    figures = figures_for("disconnection_scheduled", earliest=earliest)
    english = render("disconnection_scheduled", "en", **figures)
    telugu = render("disconnection_scheduled", "te", **figures)
    for text in (english.text, english.sms_text):
        assert "16 Jul 2025, 10:00 am IST" in text
        assert "\u202f" not in text and "\u00a0" not in text
    for text in (telugu.text, telugu.sms_text):
        assert "16 జులై 2025, ఉ. 10:00 నుండి" in text


def test_english_without_money_stays_in_the_gsm_alphabet() -> None:
    for kind in ("otp_sign_in", "otp_mobile_change", "mobile_changed"):
        rendered = render(kind, "en", **figures_for(kind))
        assert sms_encoding(rendered.sms_text) == "GSM-7"
        assert rendered.sms_segments == 1


def test_the_rupee_sign_makes_english_unicode() -> None:
    # ₹ (U+20B9) is not in GSM 03.38, so an English message showing money goes as UCS-2.
    rendered = render("zero_balance", "en", **figures_for("zero_balance"))
    assert sms_encoding(rendered.sms_text) == "UCS-2"


def test_coded_text_figures_are_localised_and_others_pass_through() -> None:
    figures = figures_for("mobile_changed", via="app")
    assert "via the app" in render("mobile_changed", "en", **figures).text
    assert "(యాప్ ద్వారా" in render("mobile_changed", "te", **figures).text
    figures = figures_for("mobile_changed", via="  1912   call  ")
    assert "via 1912 call." in render("mobile_changed", "en", **figures).text
    figures = figures_for("short_bill_raised", reason="meter CT ratio corrected")
    assert "(meter CT ratio corrected)" in render("short_bill_raised", "te", **figures).text


def test_rendered_is_frozen() -> None:
    rendered = render("reconnected", "en", service_no=SERVICE_NO, balance=50_000)
    assert isinstance(rendered, Rendered)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rendered.text = "x"  # type: ignore[misc]


# --- Errors -------------------------------------------------------------------------------------


def test_missing_figure_is_named() -> None:
    with pytest.raises(FigureMissing) as caught:
        render("zero_balance", "te", service_no=SERVICE_NO)
    err = caught.value
    assert isinstance(err, errors.InvalidInput)
    assert err.code == "template_figure_missing"
    assert "balance" in err.message
    assert err.as_dict()["missing"] == ["balance"]


def test_every_missing_figure_is_named() -> None:
    with pytest.raises(FigureMissing) as caught:
        render("recharge_success", "en", amount=50_000)
    assert caught.value.details["missing"] == ["balance", "ref", "service_no", "to_dues"]
    for name in ("balance", "ref", "service_no", "to_dues"):
        assert name in caught.value.message


@pytest.mark.parametrize(
    ("kind", "language", "named"),
    [("low_balance_4_days", "en", "low_balance_4_days"), ("zero_balance", "hi", "hi"), ("", "te", "''")],
)
def test_unknown_kind_or_language(kind: str, language: str, named: str) -> None:
    with pytest.raises(UnknownTemplate) as caught:
        render(kind, language, service_no=SERVICE_NO, balance=0)
    assert isinstance(caught.value, errors.InvalidInput)
    assert caught.value.code == "unknown_template"
    assert named in caught.value.message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("balance", 12.5),  # rupees as a float
        ("balance", "100.00"),
        ("balance", True),
        ("days_left", "3"),
        ("due", dt.datetime(2025, 7, 30, tzinfo=dt.UTC)),
        ("due", "2025-07-30"),
        ("service_no", "   "),
        ("service_no", 1234567890123),
    ],
)
def test_figures_of_the_wrong_type_are_refused(name: str, value: object) -> None:
    kind = "short_bill_reminder" if name in {"days_left", "due"} else "zero_balance"
    with pytest.raises(FigureInvalid) as caught:
        render(kind, "en", **figures_for(kind, **{name: value}))
    assert caught.value.code == "template_figure_invalid"
    assert name in caught.value.message


def test_a_naive_instant_is_refused() -> None:
    naive = dt.datetime(2025, 7, 16, 10, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(FigureInvalid, match="earliest"):
        render("disconnection_scheduled", "te", **figures_for("disconnection_scheduled", earliest=naive))


def test_a_figure_the_template_does_not_take_is_refused() -> None:
    with pytest.raises(FigureInvalid, match="balnce"):
        render("zero_balance", "en", service_no=SERVICE_NO, balance=0, balnce=0)


# --- The data file ------------------------------------------------------------------------------


def test_dlt_template_ids_are_unique_19_digit_numbers() -> None:
    book = templates.load()
    ids = [t.dlt_template_id for t in book.templates.values()]
    assert len(ids) == len(KINDS) * len(LANGUAGES)
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9]{19}", i) for i in ids)
    assert re.fullmatch(r"[A-Z]{6}", book.sender)


def test_telugu_texts_are_in_telugu_script() -> None:
    for (_kind, language), template in templates.load().templates.items():
        literal = re.sub(r"\{[a-z_]+\}", "", template.text)
        telugu_letters = len(TELUGU.findall(literal))
        if language == "te":
            assert telugu_letters > len(literal) / 2, template.text
        else:
            assert telugu_letters == 0


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "templates.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _built_in() -> dict[str, Any]:
    data = yaml.safe_load(templates.BUILT_IN.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (
            lambda d: d["templates"]["zero_balance"]["te"].update(dlt_template_id="1107172521998799568"),
            "already used",
        ),
        (lambda d: d["templates"]["zero_balance"]["te"].update(dlt_template_id="12345"), "19 digits"),
        (
            lambda d: d["templates"]["zero_balance"]["en"].update(text="Balance {balanse}. {service_no}"),
            "balanse",
        ),
        (
            lambda d: d["templates"]["zero_balance"]["en"].update(text="Balance {balance:>10} {service_no}"),
            "spec",
        ),
        (lambda d: d["templates"]["zero_balance"]["en"].update(text="Balance {balance}."), "service_no"),
        (
            lambda d: d["templates"]["zero_balance"]["te"].update(
                text="{service_no}: బ్యాలెన్స్ {balance}, {days} రోజులు"
            ),
            "same figures",
        ),
        (lambda d: d["templates"]["zero_balance"].pop("te"), "languages"),
        (lambda d: d["templates"].pop("zero_balance"), "kinds"),
        (lambda d: d.update(sender="APSPDCL"), "sender"),
        (lambda d: d.update(category="transactional"), "category"),
        (  # three variables without the reason TRAI asks for
            lambda d: d["templates"]["zero_balance"]["en"].update(
                sms="Service no. {service_no}: balance {balance}, {balance} again."
            ),
            "once",
        ),
        (
            lambda d: d["templates"]["short_bill_raised"].pop("sms_third_variable"),
            "sms_third_variable",
        ),
        (
            lambda d: d["templates"]["short_bill_reminder"]["en"].update(
                sms="Service no. {service_no}: {amount} short bill due {due}, {days_left} days left."
            ),
            "at most 2 variables",
        ),
        (  # a 64-character reference can overflow DLT's 30-character variable
            lambda d: d["templates"]["short_bill_deducted"]["en"].update(
                sms="Service no. {service_no}: short bill {ref} deducted."
            ),
            "at most 30",
        ),
        (
            lambda d: d["templates"]["zero_balance"]["te"].update(
                sms="సర్వీస్ నం. {service_no}: యాప్\u200cలో బ్యాలెన్స్ {balance}."
            ),
            "may not",
        ),
        (
            lambda d: d["templates"]["zero_balance"]["en"].update(
                sms="Service no. {service_no}: balance\u202f{balance}."
            ),
            "may not",
        ),
        (
            lambda d: d["templates"]["zero_balance"]["en"].update(
                sms="Service no. {service_no}: balance {balance}, {days} days."
            ),
            "only figures its text shows",
        ),
    ],
)
def test_inconsistent_template_data_is_refused(
    tmp_path: Path, change: Callable[[dict[str, Any]], object], complaint: str
) -> None:
    data = _built_in()
    change(data)
    with pytest.raises(TemplateDataInvalid, match=complaint):
        templates.load(_write(tmp_path, data))


def test_the_built_in_file_loads_and_round_trips(tmp_path: Path) -> None:
    assert templates.load(_write(tmp_path, _built_in())) == templates.load()


# --- SMS segment counting -----------------------------------------------------------------------


def test_gsm_alphabet_tables() -> None:
    assert len(templates.GSM7_BASIC) == 127  # 128 codes less the escape
    assert len(templates.GSM7_EXTENDED) == 10  # form feed ^ { } \\ [ ~ ] | €
    assert sms_encoding("Hello @ £5 {ok} €") == "GSM-7"
    assert sms_encoding("₹100") == "UCS-2"
    assert sms_encoding("naïve") == "UCS-2"
    assert sms_encoding("తెలుగు") == "UCS-2"


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # 160 septets: each € is escape + code
        ("€" * 81, 2),
        ("a" * 159 + "€", 2),
        ("a" * 152 + "€" + "a" * 152, 3),  # € is not split across parts: 152 | 2+151 | 1
        ("a" * 69 + "₹", 1),  # ₹ forces UCS-2: 70 units
        ("a" * 70 + "₹", 2),
        ("అ" * 70, 1),
        ("అ" * 134, 2),
        ("అ" * 135, 3),
        ("😀" * 35, 1),  # 70 UTF-16 units
        ("😀" * 36, 2),
        ("a" * 66 + "😀" + "a" * 66, 3),  # the surrogate pair moves whole: 66 | 2+65 | 1
    ],
)
def test_sms_segments(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


def test_a_71_character_telugu_text_takes_two_segments() -> None:
    text = ("మీ విద్యుత్ ఖాతా బ్యాలెన్స్ తక్కువగా ఉంది. దయచేసి వెంటనే రీఛార్జ్ చేయండి. " * 2)[:71]
    assert len(text) == 71
    assert sms_segments(text) == 2
    assert sms_segments(text[:70]) == 1


@pytest.mark.parametrize("language", ["en", "te"])
@pytest.mark.parametrize(
    "paise", [0, 1, 99, 100, 12_345, 100_000, 1_23_456_50, 99_99_99_999, -1, -12_34_56, 10**13, -(10**13) - 7]
)
def test_our_money_format_agrees_with_cldrs_indian_grouping(paise: int, language: str) -> None:
    # Our own formatter decides the text; CLDR is only the reference it must agree with.
    rupees = Decimal(paise) / 100
    cldr = format_currency(rupees, "INR", locale={"en": "en_IN", "te": "te_IN"}[language])
    assert templates.format_money(paise, language) == cldr.replace("\u00a0", " ").replace("\u202f", " ")
