"""The DLT registration sheet: what a DISCOM registers with the operators for each SMS template.

One row per kind and language: the template id, its category (a DISCOM's alerts and OTPs are
"service-implicit"), the sender header, the exact text with {#var#} where a variable goes, each
variable's name, type and longest formatted length, and the whitelisted call-back numbers or
URLs the text contains. `wattwallet templates export` prints it as text or CSV.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Sequence

from wattwallet.messaging import templates


@dataclasses.dataclass(frozen=True)
class Variable:
    position: int
    name: str
    dlt_type: str
    max_chars: int


@dataclasses.dataclass(frozen=True)
class Row:
    dlt_template_id: str
    id_status: str  # "registered" or "placeholder"
    kind: str
    language: str
    category: str
    header: str
    text: str  # as registered: {#var#} for each variable
    variables: tuple[Variable, ...]
    third_variable_reason: str | None
    whitelisted: tuple[str, ...]  # call-back numbers / URLs in the text


def rows(book: templates.TemplateBook | None = None) -> list[Row]:
    book = book or templates.load()
    out: list[Row] = []
    for kind in templates.KINDS:
        for language in templates.LANGUAGES:
            template = book.get(kind, language)
            used_constants = [
                book.whitelisted[name] for name in templates.CONSTANTS if f"{{{name}}}" in template.sms
            ]
            out.append(
                Row(
                    dlt_template_id=template.dlt_template_id,
                    id_status="placeholder" if book.ids_are_placeholders else "registered",
                    kind=kind,
                    language=language,
                    category=book.category,
                    header=book.sender,
                    text=book.registered_sms(template),
                    variables=tuple(
                        Variable(i, name, templates.FIGURES[name].dlt_type, templates.FIGURES[name].max_chars)
                        for i, name in enumerate(template.sms_variables, start=1)
                    ),
                    third_variable_reason=template.sms_third_variable,
                    whitelisted=tuple(sorted(used_constants)),
                )
            )
    return out


COLUMNS = (
    "template_id",
    "id_status",
    "kind",
    "language",
    "category",
    "header",
    "text",
    "variable_count",
    "variables",
    "third_variable_reason",
    "whitelisted",
)


def _variables(row: Row) -> str:
    return "; ".join(f"{v.position}={v.name} ({v.dlt_type}, max {v.max_chars})" for v in row.variables)


def as_csv(sheet: Sequence[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in sheet:
        writer.writerow(
            (
                row.dlt_template_id,
                row.id_status,
                row.kind,
                row.language,
                row.category,
                row.header,
                row.text,
                len(row.variables),
                _variables(row),
                row.third_variable_reason or "",
                " ".join(row.whitelisted),
            )
        )
    return buffer.getvalue()


def as_text(sheet: Sequence[Row]) -> str:
    blocks: list[str] = []
    for row in sheet:
        lines = [
            f"{row.kind} ({row.language})  template {row.dlt_template_id} [{row.id_status}]"
            f"  {row.category}  header {row.header}",
            f"  {row.text}",
            f"  variables ({len(row.variables)}): {_variables(row) or 'none'}",
        ]
        if row.third_variable_reason:
            lines.append(f"  3rd variable because: {row.third_variable_reason}")
        if row.whitelisted:
            lines.append(f"  whitelist: {', '.join(row.whitelisted)}")
        blocks.append("\n".join(lines))
    whitelist = sorted({item for row in sheet for item in row.whitelisted})
    footer = f"Call-back numbers and URLs to whitelist: {', '.join(whitelist) or 'none'}"
    return "\n\n".join([*blocks, footer]) + "\n"
