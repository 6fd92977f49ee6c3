"""The portal's gettext catalogs: every string of the pages is in them, Telugu has every one
translated with the same placeholders, and the committed .mo files are the .po files compiled."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages import mofile, pofile

from wattwallet.web import i18n

WEB = Path(i18n.__file__).parent


def _po(language: str) -> pofile.Catalog:
    with (WEB / "locale" / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return pofile.read_po(f, locale=language)


def test_every_string_of_the_pages_is_in_the_catalogs(tmp_path: Path) -> None:
    pot = tmp_path / "now.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [str(pybabel), "-q", "extract", "-F", "babel.cfg", "--no-location", "-o", str(pot), "."],
        cwd=WEB,
        check=True,
    )
    with pot.open("rb") as f:
        wanted = {m.id for m in pofile.read_po(f) if m.id}
    for language in i18n.LANGUAGES:
        have = {m.id for m in _po(language) if m.id}
        assert not wanted - have, f"{language}: run scripts/portal-catalogs.sh ({sorted(wanted - have)[:5]})"


def test_telugu_translates_every_string_with_the_same_placeholders() -> None:
    for m in _po("te"):
        if not m.id:
            continue
        assert m.string, f"untranslated: {m.id!r}"
        assert re.search("[\u0c00-\u0c7f]", m.string) or m.id in {"WhatsApp"}, m.id
        assert sorted(re.findall(r"%\(\w+\)s", str(m.id))) == sorted(re.findall(r"%\(\w+\)s", m.string)), m.id


def test_the_committed_mo_files_are_the_po_files_compiled() -> None:
    for language in i18n.LANGUAGES:
        with (WEB / "locale" / language / "LC_MESSAGES" / "messages.mo").open("rb") as f:
            compiled = {m.id: m.string for m in mofile.read_mo(f) if m.id}
        source = {m.id: m.string for m in _po(language) if m.id and m.string}
        assert compiled == source, f"{language}: run scripts/portal-catalogs.sh compile"
