"""English and Telugu: gettext catalogs under locale/ (compiled .mo files are committed beside the
.po files; `scripts/portal-catalogs.sh` extracts, updates and compiles them)."""

from __future__ import annotations

import functools
import gettext
from pathlib import Path
from typing import Final

LOCALE_DIR: Final = Path(__file__).with_name("locale")
LANGUAGES: Final = ("en", "te")
NAMES: Final = {"en": "English", "te": "తెలుగు"}
DOMAIN: Final = "messages"


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated where it is shown."""
    return message


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    if language not in LANGUAGES:
        raise ValueError(f"no catalog for {language!r}")
    return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[language])


def pick(value: str | None) -> str | None:
    return value if value in LANGUAGES else None


def from_accept_language(header: str) -> str:
    """The first of en/te the browser asks for (by order of preference), else English."""
    best, best_q = "en", -1.0
    for part in header.split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        base = tag.strip().lower()[:2]
        if base in LANGUAGES and q > best_q:
            best, best_q = base, q
    return best
