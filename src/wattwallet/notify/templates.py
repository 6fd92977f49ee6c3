"""Consumer messages (SMS, app, WhatsApp) in English or Telugu, from DLT-registered templates.

The texts live in `templates.yaml` next to this module, one per kind and language, each with the
id under which it is registered on the operator's DLT platform. Callers pass figures typed
(money as int paise, dates as `datetime.date`, instants as aware `datetime`, counts as int,
the rest as str); this module formats them for the language (Babel, Indian grouping, IST) and
counts the SMS segments the text will take.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import re
import string
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import yaml
from babel.dates import (
    format_date,
    format_datetime,
    get_date_format,
    get_datetime_format,
    get_time_format,
)
from babel.numbers import format_currency

from wattwallet.domain import errors, money
from wattwallet.domain.money import PAISE_PER_RUPEE

BUILT_IN = Path(__file__).with_name("templates.yaml")
IST: Final = ZoneInfo("Asia/Kolkata")

KINDS: Final[tuple[str, ...]] = (
    "recharge_success",
    "low_balance_3_days",
    "low_balance_2_days",
    "zero_balance",
    "emergency_credit",
    "disconnection_scheduled",
    "disconnected",
    "reconnected",
    "reconnect_amount_needed",
    "short_bill_raised",
    "short_bill_reminder",
    "short_bill_deducted",
    "termination",
    "otp_sign_in",
    "otp_mobile_change",
    "mobile_changed",
)
LANGUAGES: Final[tuple[str, ...]] = ("en", "te")
_BABEL_LOCALE: Final[Mapping[str, str]] = {"en": "en_IN", "te": "te_IN"}


class UnknownTemplate(errors.InvalidInput):
    code = "unknown_template"


class FigureMissing(errors.InvalidInput):
    code = "template_figure_missing"


class FigureInvalid(errors.InvalidInput):
    """A figure of the wrong type (e.g. rupees as a float, a naive datetime) or one no template uses."""

    code = "template_figure_invalid"


class TemplateDataInvalid(errors.InvalidInput):
    code = "template_data_invalid"


class Figure(enum.Enum):
    MONEY = "money"  # int paise -> ₹1,23,456.50
    DATE = "date"  # datetime.date -> 15 Jul 2025 / 15 జులై, 2025
    INSTANT = "instant"  # aware datetime -> 15 Jul 2025, 10:00 am (IST)
    COUNT = "count"  # int -> 3
    TEXT = "text"  # str, whitespace collapsed


FIGURES: Final[Mapping[str, Figure]] = {
    "service_no": Figure.TEXT,
    "amount": Figure.MONEY,
    "to_dues": Figure.MONEY,
    "balance": Figure.MONEY,
    "amount_needed": Figure.MONEY,
    "final_balance": Figure.MONEY,
    "arrears": Figure.MONEY,
    "refund": Figure.MONEY,
    "due": Figure.DATE,
    "earliest": Figure.INSTANT,
    "days": Figure.COUNT,
    "days_left": Figure.COUNT,
    "minutes": Figure.COUNT,
    "ref": Figure.TEXT,
    "reason": Figure.TEXT,
    "otp": Figure.TEXT,
    "new_mobile_masked": Figure.TEXT,
    "via": Figure.TEXT,
}


@dataclasses.dataclass(frozen=True)
class Rendered:
    kind: str
    language: str
    text: str
    dlt_template_id: str
    sender: str
    sms_segments: int


# --- SMS segments -------------------------------------------------------------------------------

# GSM 03.38 default alphabet (without the escape code) and its extension table: an extension
# character is sent as escape + character, so it takes two septets.
GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED: Final = frozenset("\f^{}\\[~]|€")


def sms_encoding(text: str) -> str:
    """ "GSM-7" when every character is in the GSM default alphabet or its extension, else "UCS-2"."""
    return "GSM-7" if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text) else "UCS-2"


def sms_segments(text: str) -> int:
    """How many SMS the text takes: GSM-7 160 septets alone or 153 a part, UCS-2 70 / 67 units.

    A GSM extension character (escape + character) or a UTF-16 surrogate pair is never split
    across two parts, so it moves whole into the next part.
    """
    if sms_encoding(text) == "GSM-7":
        costs = [2 if c in GSM7_EXTENDED else 1 for c in text]
        single, part = 160, 153
    elif text.isascii() or max(map(ord, text)) <= 0xFFFF:  # no surrogate pairs: plain arithmetic
        return 1 if len(text) <= 70 else -(-len(text) // 67)
    else:
        costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, part = 70, 67
    if sum(costs) <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:
            segments, used = segments + 1, 0
        used += cost
    return segments


# --- Formatting figures -------------------------------------------------------------------------

# Babel (CLDR) puts narrow or non-breaking spaces in some patterns ("10:00\u202fam"); an SMS
# wants plain spaces (and a narrow space alone would force Unicode on an English message).
_ODD_SPACES: Final = str.maketrans({"\u202f": " ", "\u00a0": " ", "\u2009": " ", "\u2007": " "})


def format_money(paise: int, language: str) -> str:
    """₹1,23,456.50 / -₹1,234.50: what Babel's en_IN and te_IN currency formats give (Latin
    digits, Indian grouping; tests/notify check they agree), at a fraction of Babel's cost,
    which matters when the daily cycle renders alerts for thousands of connections."""
    return money.inr(paise)


def format_money_babel(paise: int, language: str) -> str:
    """The reference for format_money, straight from CLDR."""
    rupees = Decimal(paise) / PAISE_PER_RUPEE
    return format_currency(rupees, "INR", locale=_BABEL_LOCALE[language]).translate(_ODD_SPACES)


@functools.lru_cache(maxsize=4096)  # the same due dates recur across thousands of messages a night
def format_day(day: dt.date, language: str) -> str:
    return format_date(day, "medium", locale=_BABEL_LOCALE[language]).translate(_ODD_SPACES)


@functools.lru_cache(maxsize=4096)  # the same window openings recur across thousands of messages
def format_instant(instant: dt.datetime, language: str) -> str:
    """The instant as a clock in India shows it: medium date, short time (no seconds)."""
    locale = _BABEL_LOCALE[language]
    pattern = (
        str(get_datetime_format("medium", locale=locale))
        .replace("{1}", get_date_format("medium", locale=locale).pattern)
        .replace("{0}", get_time_format("short", locale=locale).pattern)
    )
    shown = format_datetime(instant, pattern, tzinfo=IST, locale=locale).translate(_ODD_SPACES)
    # Indian English writes "10:00 am"; the CLDR data of the locked Babel (2.19) says "AM" for en_IN.
    return shown.replace(" AM", " am").replace(" PM", " pm") if language == "en" else shown


# --- The template book --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Template:
    kind: str
    language: str
    text: str
    dlt_template_id: str
    figures: frozenset[str]


@dataclasses.dataclass(frozen=True)
class TemplateBook:
    sender: str
    templates: Mapping[tuple[str, str], Template]
    labels: Mapping[str, Mapping[str, Mapping[str, str]]]  # figure -> code -> language -> text

    def get(self, kind: str, language: str) -> Template:
        if kind not in KINDS:
            raise UnknownTemplate(
                f"no message template of kind {kind!r}; known kinds: {', '.join(KINDS)}",
                kind=kind,
                language=language,
            )
        if language not in LANGUAGES:
            raise UnknownTemplate(
                f"no message template in language {language!r}; languages: {', '.join(LANGUAGES)}",
                kind=kind,
                language=language,
            )
        return self.templates[(kind, language)]


_SENDER = re.compile(r"[A-Z]{6}")
_DLT_ID = re.compile(r"[0-9]{19}")


def _placeholders(text: str, where: str) -> frozenset[str]:
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateDataInvalid(f"{where}: malformed placeholder: {exc}") from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in FIGURES:
            raise TemplateDataInvalid(f"{where}: unknown placeholder {{{name}}}")
        if spec or conversion:
            raise TemplateDataInvalid(f"{where}: placeholder {{{name}}} must carry no format spec")
        names.add(name)
    return frozenset(names)


def _book_from_data(data: Any, source: str) -> TemplateBook:
    if not isinstance(data, dict):
        raise TemplateDataInvalid(f"{source} must hold a mapping")
    sender = data.get("sender")
    if not isinstance(sender, str) or not _SENDER.fullmatch(sender):
        raise TemplateDataInvalid(f"{source}: sender must be a 6-letter DLT header, got {sender!r}")
    raw = data.get("templates")
    if not isinstance(raw, dict) or set(raw) != set(KINDS):
        found = sorted(raw) if isinstance(raw, dict) else raw
        raise TemplateDataInvalid(f"{source}: templates must be exactly the kinds {KINDS}, got {found}")
    templates: dict[tuple[str, str], Template] = {}
    seen_ids: dict[str, str] = {}
    for kind in KINDS:
        per_language = raw[kind]
        if not isinstance(per_language, dict) or set(per_language) != set(LANGUAGES):
            raise TemplateDataInvalid(f"{source}: {kind} must have exactly the languages {LANGUAGES}")
        for language in LANGUAGES:
            where = f"{source}: {kind}/{language}"
            entry = per_language[language]
            if not isinstance(entry, dict):
                raise TemplateDataInvalid(f"{where} must be a mapping of text and dlt_template_id")
            text, dlt_id = entry.get("text"), entry.get("dlt_template_id")
            if not isinstance(text, str) or not text.strip():
                raise TemplateDataInvalid(f"{where}: text missing")
            if not isinstance(dlt_id, str) or not _DLT_ID.fullmatch(dlt_id):
                raise TemplateDataInvalid(f"{where}: dlt_template_id must be 19 digits (quoted)")
            if dlt_id in seen_ids:
                raise TemplateDataInvalid(
                    f"{where}: dlt_template_id {dlt_id} already used by {seen_ids[dlt_id]}"
                )
            seen_ids[dlt_id] = f"{kind}/{language}"
            figures = _placeholders(text, where)
            if "service_no" not in figures:
                raise TemplateDataInvalid(f"{where}: every message must show {{service_no}}")
            templates[(kind, language)] = Template(kind, language, text, dlt_id, figures)
        if templates[(kind, "en")].figures != templates[(kind, "te")].figures:
            raise TemplateDataInvalid(f"{source}: {kind} must use the same figures in every language")
    return TemplateBook(
        sender=sender, templates=templates, labels=_labels_from_data(data.get("labels"), source)
    )


def _labels_from_data(raw: Any, source: str) -> dict[str, dict[str, dict[str, str]]]:
    labels: dict[str, dict[str, dict[str, str]]] = {}
    if raw is None:
        return labels
    if not isinstance(raw, dict):
        raise TemplateDataInvalid(f"{source}: labels must be a mapping")
    for figure, codes in raw.items():
        if FIGURES.get(figure) is not Figure.TEXT or not isinstance(codes, dict):
            raise TemplateDataInvalid(f"{source}: labels.{figure} must map codes of a text figure")
        labels[figure] = {}
        for code, texts in codes.items():
            if not isinstance(texts, dict) or set(texts) != set(LANGUAGES):
                raise TemplateDataInvalid(f"{source}: labels.{figure}.{code} needs {LANGUAGES}")
            if not all(isinstance(t, str) and t.strip() for t in texts.values()):
                raise TemplateDataInvalid(f"{source}: labels.{figure}.{code} must be non-empty text")
            labels[figure][str(code).lower()] = dict(texts)
    return labels


@functools.cache
def load(path: Path = BUILT_IN) -> TemplateBook:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateDataInvalid(f"cannot read message templates {path}: {exc}") from None
    return _book_from_data(data, path.name)


# --- Rendering ----------------------------------------------------------------------------------


def _format_figure(book: TemplateBook, where: str, name: str, value: object, language: str) -> str:
    kind = FIGURES[name]
    if kind is Figure.MONEY:
        if isinstance(value, bool) or not isinstance(value, int):
            raise FigureInvalid(f"{where}: figure {name!r} must be int paise, got {value!r}", figure=name)
        return format_money(value, language)
    if kind is Figure.COUNT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise FigureInvalid(f"{where}: figure {name!r} must be an int, got {value!r}", figure=name)
        return str(value)
    if kind is Figure.DATE:
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise FigureInvalid(
                f"{where}: figure {name!r} must be a datetime.date, got {value!r}", figure=name
            )
        return format_day(value, language)
    if kind is Figure.INSTANT:
        if not isinstance(value, dt.datetime) or value.utcoffset() is None:
            raise FigureInvalid(
                f"{where}: figure {name!r} must be an aware datetime, got {value!r}", figure=name
            )
        return format_instant(value, language)
    if not isinstance(value, str) or not value.strip():
        raise FigureInvalid(f"{where}: figure {name!r} must be non-empty text, got {value!r}", figure=name)
    text = " ".join(value.split())
    label = book.labels.get(name, {}).get(text.lower())
    return label[language] if label is not None else text


def render(kind: str, language: str, **figures: object) -> Rendered:
    """The message `kind` in `language` with `figures` filled in, ready to hand to an SMS gateway."""
    book = load()
    template = book.get(kind, language)
    where = f"message {kind} ({language})"
    missing = sorted(template.figures - figures.keys())
    if missing:
        raise FigureMissing(
            f"{where} needs figure{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
            kind=kind,
            language=language,
            missing=missing,
        )
    unexpected = sorted(figures.keys() - template.figures)
    if unexpected:
        raise FigureInvalid(
            f"{where} takes no figure {', '.join(unexpected)};"
            f" it takes {', '.join(sorted(template.figures))}",
            kind=kind,
            language=language,
            unexpected=unexpected,
        )
    values = {name: _format_figure(book, where, name, value, language) for name, value in figures.items()}
    text = template.text.format_map(values)
    return Rendered(
        kind=kind,
        language=language,
        text=text,
        dlt_template_id=template.dlt_template_id,
        sender=book.sender,
        sms_segments=sms_segments(text),
    )
