"""Consumer messages (SMS, app, WhatsApp) in English or Telugu, from DLT-registered templates.

The texts live in `templates.yaml` next to this module: per kind and language a `sms` text,
registered verbatim on the operators' DLT platform (at most 2 variables of at most 30 characters,
a 3rd only with its reason given), and a `text` for the app push, WhatsApp and the portal with the
full detail. Callers pass figures typed (money as int paise, dates as `datetime.date`, instants as
aware `datetime`, counts as int, the rest as str); `notify.formatting` writes them in the
product's own words, so no library upgrade changes a registered text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from wattwallet.domain import errors
from wattwallet.messaging import formatting

BUILT_IN = Path(__file__).with_name("templates.yaml")

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
    "refund_due",
    "bill_ready",
    "postpaid_bill_ready",
    "mode_switch_scheduled",
    "mode_changed",
    "payment_received",
)
LANGUAGES: Final[tuple[str, ...]] = ("en", "te")

# TRAI's direction of 18 Nov 2025 on DLT templates.
SMS_MAX_VARIABLES: Final = 2
SMS_MAX_VARIABLES_BY_EXCEPTION: Final = 3
SMS_VARIABLE_MAX_CHARS: Final = 30
CATEGORIES: Final = ("service-implicit", "service-explicit")  # "transactional" is for banks


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
    DATE = "date"  # datetime.date -> 15 Jul 2025 / 15 జులై 2025
    MONTH = "month"  # datetime.date (any day of it) -> Jul 2025 / జులై 2025
    INSTANT = "instant"  # aware datetime -> 15 Jul 2025, 10:00 am / 15 జులై 2025, ఉ. 10:00 (IST)
    COUNT = "count"  # int -> 3
    TEXT = "text"  # str, whitespace collapsed


@dataclasses.dataclass(frozen=True)
class FigureSpec:
    figure: Figure
    max_chars: int  # the longest it can be once formatted; above 30 it may not go in an SMS
    dlt_type: str  # how the variable is described on the registration sheet


FIGURES: Final[Mapping[str, FigureSpec]] = {
    "service_no": FigureSpec(Figure.TEXT, 20, "numeric (service number)"),
    "amount": FigureSpec(Figure.MONEY, 25, "amount (₹)"),
    "to_dues": FigureSpec(Figure.MONEY, 25, "amount (₹)"),
    "balance": FigureSpec(Figure.MONEY, 25, "amount (₹)"),
    "amount_needed": FigureSpec(Figure.MONEY, 25, "amount (₹)"),
    "final_balance": FigureSpec(Figure.MONEY, 25, "amount (₹)"),
    "arrears": FigureSpec(Figure.MONEY, 25, "amount (₹)"),
    "refund": FigureSpec(Figure.MONEY, 25, "amount (₹)"),
    "due": FigureSpec(Figure.DATE, 20, "date"),
    "earliest": FigureSpec(Figure.INSTANT, 30, "date and time"),
    "days": FigureSpec(Figure.COUNT, 4, "numeric"),
    "days_left": FigureSpec(Figure.COUNT, 4, "numeric"),
    "minutes": FigureSpec(Figure.COUNT, 4, "numeric"),
    "ref": FigureSpec(Figure.TEXT, 64, "alphanumeric"),
    "reason": FigureSpec(Figure.TEXT, 200, "text"),
    "otp": FigureSpec(Figure.TEXT, 6, "numeric (OTP)"),
    "new_mobile_masked": FigureSpec(Figure.TEXT, 16, "alphanumeric (masked mobile)"),
    "via": FigureSpec(Figure.TEXT, 64, "text"),
    "month": FigureSpec(Figure.MONTH, 16, "month and year"),
    "mode": FigureSpec(Figure.TEXT, 8, "text (billing mode)"),
    "effective_on": FigureSpec(Figure.DATE, 20, "date"),
    "outstanding": FigureSpec(Figure.MONEY, 25, "amount (₹)"),
    "due_on": FigureSpec(Figure.DATE, 20, "date"),
    "bill_token": FigureSpec(Figure.TEXT, 23, "alphanumeric (bill link: the part after the whitelisted URL)"),
}


class Whitelisted(BaseSettings):
    """Call-back numbers and URLs that registered SMS texts contain: each must be whitelisted with
    the operator, so it is part of the registered text, not a variable (WATTWALLET_MESSAGING__*)."""

    model_config = SettingsConfigDict(env_prefix="WATTWALLET_MESSAGING__", extra="ignore")

    helpline: str = Field("1912", pattern=r"^[0-9]{3,12}$", description="The DISCOM's call-back number")
    bill_link_host: str = Field(
        "bills.apspdcl.in",
        min_length=4,
        max_length=40,
        pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:[0-9]{2,5})?$",
        description="Host of the e-bill links in SMS (whitelisted with the operator as part of the URL)",
    )


# Placeholders that are whitelisted constants, filled from `Whitelisted`, never variables.
CONSTANTS: Final = frozenset(Whitelisted.model_fields)


@dataclasses.dataclass(frozen=True)
class Rendered:
    kind: str
    language: str
    text: str  # app push, WhatsApp, portal
    sms_text: str  # the DLT-registered SMS
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


# --- SMS characters -----------------------------------------------------------------------------

# What a registered SMS may hold: printable ASCII, the rupee sign and, in Telugu, the Telugu block.
# Not narrow or no-break spaces, zero-width (non-)joiners or other invisible characters, which
# operators' template matching drops or mangles so that the text no longer matches.
_SMS_COMMON: Final = frozenset(chr(c) for c in range(0x20, 0x7F)) | {"₹"}
SMS_ALLOWED: Final[Mapping[str, frozenset[str]]] = {
    "en": _SMS_COMMON,
    "te": _SMS_COMMON | frozenset(chr(c) for c in range(0x0C00, 0x0C80)),
}


def sms_disallowed(text: str, language: str) -> list[str]:
    """The characters of `text` that a registered SMS in `language` may not contain."""
    allowed = SMS_ALLOWED[language]
    return sorted({c for c in text if c not in allowed})


# --- Formatting figures -------------------------------------------------------------------------


def format_money(paise: int, language: str) -> str:
    return formatting.money_text(paise, language)


@functools.lru_cache(maxsize=4096)  # the same due dates recur across thousands of messages a night
def format_day(day: dt.date, language: str) -> str:
    return formatting.day_text(day, language)


@functools.lru_cache(maxsize=4096)  # the same window openings recur across thousands of messages
def format_instant(instant: dt.datetime, language: str) -> str:
    return formatting.instant_text(instant, language)


# --- The template book --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Template:
    kind: str
    language: str
    text: str
    sms: str
    dlt_template_id: str
    figures: frozenset[str]  # what `text` shows; the SMS shows a subset
    sms_variables: tuple[str, ...]  # the SMS's variables in the order it shows them
    sms_third_variable: str | None  # why this SMS needs a 3rd variable, where it does


@dataclasses.dataclass(frozen=True)
class TemplateBook:
    sender: str
    category: str
    ids_are_placeholders: bool
    templates: Mapping[tuple[str, str], Template]
    labels: Mapping[str, Mapping[str, Mapping[str, str]]]  # figure -> code -> language -> text
    whitelisted: Mapping[str, str]  # constant placeholder -> its registered value

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

    def registered_sms(self, template: Template) -> str:
        """The SMS as the operator registers it: {#var#} for each variable, constants filled in."""
        return _fill(template.sms, {**self.whitelisted, **dict.fromkeys(template.sms_variables, "{#var#}")})

    def by_dlt_id(self, dlt_template_id: str) -> Template | None:
        return next((t for t in self.templates.values() if t.dlt_template_id == dlt_template_id), None)

    def matches_registration(self, dlt_template_id: str, text: str) -> bool:
        """Whether `text` is the SMS registered as `dlt_template_id` with each variable filled by 1
        to 30 characters: the check an operator's DLT scrubber makes before delivering."""
        template = self.by_dlt_id(dlt_template_id)
        if template is None:
            return False
        pattern = "".join(
            re.escape(literal) + ("" if name is None else self._placeholder_pattern(name))
            for literal, name, _spec, _conversion in string.Formatter().parse(template.sms)
        )
        return re.fullmatch(pattern, text, re.DOTALL) is not None

    def _placeholder_pattern(self, name: str) -> str:
        if name in self.whitelisted:
            return re.escape(self.whitelisted[name])
        return f".{{1,{SMS_VARIABLE_MAX_CHARS}}}?"


_SENDER = re.compile(r"[A-Z]{6}")
_DLT_ID = re.compile(r"[0-9]{19}")


def _placeholders(text: str, where: str) -> tuple[str, ...]:
    """The placeholders of `text` in order (constants included), each checked against FIGURES."""
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateDataInvalid(f"{where}: malformed placeholder: {exc}") from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in FIGURES and name not in CONSTANTS:
            raise TemplateDataInvalid(f"{where}: unknown placeholder {{{name}}}")
        if spec or conversion:
            raise TemplateDataInvalid(f"{where}: placeholder {{{name}}} must carry no format spec")
        names.append(name)
    return tuple(names)


def _fill(text: str, values: Mapping[str, str]) -> str:
    return text.format_map(values)


def _check_sms(
    sms: str, variables: tuple[str, ...], third_because: str | None, language: str, where: str
) -> None:
    if len(set(variables)) != len(variables):
        raise TemplateDataInvalid(f"{where}: an SMS shows each variable once")
    if len(variables) > SMS_MAX_VARIABLES_BY_EXCEPTION:
        raise TemplateDataInvalid(
            f"{where}: an SMS takes at most {SMS_MAX_VARIABLES} variables"
            f" ({SMS_MAX_VARIABLES_BY_EXCEPTION} by exception), this one has {len(variables)}"
        )
    if len(variables) > SMS_MAX_VARIABLES and not third_because:
        raise TemplateDataInvalid(
            f"{where}: a 3rd SMS variable needs its reason in sms_third_variable (TRAI allows it only"
            " by exception)"
        )
    for name in variables:
        if FIGURES[name].max_chars > SMS_VARIABLE_MAX_CHARS:
            raise TemplateDataInvalid(
                f"{where}: {{{name}}} can be {FIGURES[name].max_chars} characters long; an SMS"
                f" variable carries at most {SMS_VARIABLE_MAX_CHARS} (put it in the app text)"
            )
    literal = "".join(part for part, *_ in string.Formatter().parse(sms))
    bad = sms_disallowed(literal, language)
    if bad:
        raise TemplateDataInvalid(f"{where}: the SMS holds characters a DLT text may not: {bad!r}")


def _book_from_data(data: Any, source: str, whitelisted: Mapping[str, str]) -> TemplateBook:
    if not isinstance(data, dict):
        raise TemplateDataInvalid(f"{source} must hold a mapping")
    sender = data.get("sender")
    if not isinstance(sender, str) or not _SENDER.fullmatch(sender):
        raise TemplateDataInvalid(f"{source}: sender must be a 6-letter DLT header, got {sender!r}")
    category = data.get("category", "service-implicit")
    if category not in CATEGORIES:
        raise TemplateDataInvalid(f"{source}: category must be one of {CATEGORIES}, got {category!r}")
    raw = data.get("templates")
    if not isinstance(raw, dict) or set(raw) != set(KINDS):
        found = sorted(raw) if isinstance(raw, dict) else raw
        raise TemplateDataInvalid(f"{source}: templates must be exactly the kinds {KINDS}, got {found}")
    templates: dict[tuple[str, str], Template] = {}
    seen_ids: dict[str, str] = {}
    for kind in KINDS:
        entry_of_kind = raw[kind]
        if not isinstance(entry_of_kind, dict) or set(entry_of_kind) - {"sms_third_variable"} != set(
            LANGUAGES
        ):
            raise TemplateDataInvalid(f"{source}: {kind} must have exactly the languages {LANGUAGES}")
        third_because = entry_of_kind.get("sms_third_variable")
        for language in LANGUAGES:
            where = f"{source}: {kind}/{language}"
            entry = entry_of_kind[language]
            if not isinstance(entry, dict) or set(entry) != {"text", "sms", "dlt_template_id"}:
                raise TemplateDataInvalid(
                    f"{where} must be a mapping of exactly text, sms and dlt_template_id"
                )
            text, sms, dlt_id = entry["text"], entry["sms"], entry["dlt_template_id"]
            for name, value in (("text", text), ("sms", sms)):
                if not isinstance(value, str) or not value.strip():
                    raise TemplateDataInvalid(f"{where}: {name} missing")
            if not isinstance(dlt_id, str) or not _DLT_ID.fullmatch(dlt_id):
                raise TemplateDataInvalid(f"{where}: dlt_template_id must be 19 digits (quoted)")
            if dlt_id in seen_ids:
                raise TemplateDataInvalid(
                    f"{where}: dlt_template_id {dlt_id} already used by {seen_ids[dlt_id]}"
                )
            seen_ids[dlt_id] = f"{kind}/{language}"
            figures = frozenset(_placeholders(text, f"{where} text")) - CONSTANTS
            sms_variables = tuple(n for n in _placeholders(sms, f"{where} sms") if n not in CONSTANTS)
            if "service_no" not in figures:
                raise TemplateDataInvalid(f"{where}: every message must show {{service_no}}")
            if not set(sms_variables) <= figures:
                raise TemplateDataInvalid(f"{where}: the SMS may show only figures its text shows")
            _check_sms(sms, sms_variables, third_because, language, where)
            templates[(kind, language)] = Template(
                kind, language, text, sms, dlt_id, figures, sms_variables, third_because
            )
        english, telugu = templates[(kind, "en")], templates[(kind, "te")]
        if english.figures != telugu.figures or set(english.sms_variables) != set(telugu.sms_variables):
            raise TemplateDataInvalid(f"{source}: {kind} must use the same figures in every language")
    return TemplateBook(
        sender=sender,
        category=category,
        ids_are_placeholders=data.get("template_ids") == "placeholder",
        templates=templates,
        labels=_labels_from_data(data.get("labels"), source),
        whitelisted=dict(whitelisted),
    )


def _labels_from_data(raw: Any, source: str) -> dict[str, dict[str, dict[str, str]]]:
    labels: dict[str, dict[str, dict[str, str]]] = {}
    if raw is None:
        return labels
    if not isinstance(raw, dict):
        raise TemplateDataInvalid(f"{source}: labels must be a mapping")
    for figure, codes in raw.items():
        if figure not in FIGURES or FIGURES[figure].figure is not Figure.TEXT or not isinstance(codes, dict):
            raise TemplateDataInvalid(f"{source}: labels.{figure} must map codes of a text figure")
        labels[figure] = {}
        for code, texts in codes.items():
            if not isinstance(texts, dict) or set(texts) != set(LANGUAGES):
                raise TemplateDataInvalid(f"{source}: labels.{figure}.{code} needs {LANGUAGES}")
            if not all(isinstance(t, str) and t.strip() for t in texts.values()):
                raise TemplateDataInvalid(f"{source}: labels.{figure}.{code} must be non-empty text")
            labels[figure][str(code).lower()] = dict(texts)
    return labels


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping (plain YAML keeps the last silently)."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise TemplateDataInvalid(f"key {key!r} appears twice (line {key_node.start_mark.line + 1})")
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


@functools.cache
def load(path: Path = BUILT_IN) -> TemplateBook:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except TemplateDataInvalid as exc:
        raise TemplateDataInvalid(f"{path.name}: {exc.message}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateDataInvalid(f"cannot read message templates {path}: {exc}") from None
    return _book_from_data(data, path.name, Whitelisted().model_dump())


# --- Rendering ----------------------------------------------------------------------------------


def _format_figure(book: TemplateBook, where: str, name: str, value: object, language: str) -> str:
    kind = FIGURES[name].figure
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
    if kind is Figure.MONTH:
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise FigureInvalid(
                f"{where}: figure {name!r} must be a datetime.date, got {value!r}", figure=name
            )
        return f"{formatting.MONTHS[language][value.month - 1]} {value.year}"
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
    """The message `kind` in `language` with `figures` filled in: the app/WhatsApp text and the
    registered SMS, ready to hand to the gateways."""
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
    for name in template.sms_variables:
        shown = values[name]
        if len(shown) > SMS_VARIABLE_MAX_CHARS or sms_disallowed(shown, language):
            raise FigureInvalid(
                f"{where}: figure {name!r} as shown ({shown!r}) is not a valid DLT variable"
                f" (at most {SMS_VARIABLE_MAX_CHARS} plain characters)",
                figure=name,
            )
    values.update(book.whitelisted)
    sms_text = _fill(template.sms, values)
    return Rendered(
        kind=kind,
        language=language,
        text=_fill(template.text, values),
        sms_text=sms_text,
        dlt_template_id=template.dlt_template_id,
        sender=book.sender,
        sms_segments=sms_segments(sms_text),
    )
