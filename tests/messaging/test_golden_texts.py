"""Every message, byte for byte: tests/messaging/golden/<kind>.<language>.txt holds what each kind
renders in each language for fixed figures, SMS and app text both. An SMS is registered verbatim
on the DLT platform, so a drift of one character (a library's `AM` for our `am`, a narrow space)
gets it blocked by the operator; a deliberate wording change is a change of its golden file in the
same commit, where a reviewer sees it.

To rewrite the files after a deliberate change: WATTWALLET_UPDATE_GOLDEN=1 pytest tests/messaging
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from wattwallet.domain import clock
from wattwallet.messaging import templates

GOLDEN = Path(__file__).with_name("golden")
UPDATE = os.environ.get("WATTWALLET_UPDATE_GOLDEN") == "1"

# Fixed figures, chosen to show grouping, a negative amount, a date and an afternoon instant.
FIXED: dict[str, object] = {
    "service_no": "1234567890123",
    "amount": 123_456,
    "to_dues": 20_000,
    "balance": -2_524,
    "amount_needed": 20_000,
    "final_balance": -45_050,
    "arrears": 45_050,
    "refund": 0,
    "ref": "SB/25/000123",
    "reason": "additional_load",
    "due": dt.date(2025, 9, 30),
    "earliest": dt.datetime(2025, 9, 16, 12, 30, tzinfo=clock.IST),
    "days": 3,
    "days_left": 2,
    "otp": "482913",
    "new_mobile_masked": "******3210",
    "via": "helpline",
    "month": dt.date(2025, 6, 1),
    "bill_token": "AAAAAAAB9QAzv0bTq8kM2xY",
    "mode": "prepaid",
    "effective_on": dt.date(2025, 10, 1),
    "outstanding": 45_050,
    "due_on": dt.date(2025, 7, 16),
}
CASES = [(kind, language) for kind in templates.KINDS for language in templates.LANGUAGES]


def golden_text(kind: str, language: str) -> str:
    template = templates.load().get(kind, language)
    rendered = templates.render(kind, language, **{n: FIXED[n] for n in template.figures})
    return (
        f"# {kind} ({language}); figures: tests/messaging/test_golden_texts.py FIXED\n"
        f"[sms] DLT template {rendered.dlt_template_id}, header {rendered.sender},"
        f" {rendered.sms_segments} segment(s)\n"
        f"{rendered.sms_text}\n"
        f"[app, WhatsApp, portal]\n"
        f"{rendered.text}\n"
    )


@pytest.mark.parametrize(("kind", "language"), CASES)
def test_each_text_is_its_golden_file_byte_for_byte(kind: str, language: str) -> None:
    path = GOLDEN / f"{kind}.{language}.txt"
    produced = golden_text(kind, language).encode("utf-8")
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(produced)
    assert path.exists(), f"no golden file {path.name}: run with WATTWALLET_UPDATE_GOLDEN=1"
    assert produced == path.read_bytes()


def test_there_is_no_golden_file_of_a_kind_that_no_longer_exists() -> None:
    expected = {f"{kind}.{language}.txt" for kind, language in CASES}
    assert {p.name for p in GOLDEN.glob("*.txt")} == expected


def test_the_golden_sms_match_their_registrations() -> None:
    book = templates.load()
    for kind, language in CASES:
        lines = (GOLDEN / f"{kind}.{language}.txt").read_text(encoding="utf-8").splitlines()
        sms = lines[lines.index(next(line for line in lines if line.startswith("[sms]"))) + 1]
        assert book.matches_registration(book.get(kind, language).dlt_template_id, sms), (kind, language)
        # ... and not another kind's registration
        others = [t for t in book.templates.values() if t.kind != kind]
        assert not any(book.matches_registration(t.dlt_template_id, sms) for t in others)
