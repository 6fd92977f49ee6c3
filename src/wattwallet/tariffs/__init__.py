"""Tariff books from their data files: one per AP DISCOM (the tariff in force), the DOMAIN.md
sample (`sample`, for tests and scenarios that pin the rules), or a DISCOM's own file.

A book file holds `versions` (categories by effective date) and `levies`; a DISCOM's book may take
its versions from a shared retail-tariff file named under `retail:` (relative to the book), since
APERC's retail supply tariff is the same for the three AP DISCOMs and only the levies differ.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal

import yaml

from wattwallet.domain import errors, tariff

HERE = Path(__file__).parent
Discom = Literal["APSPDCL", "APCPDCL", "APEPDCL"]
DISCOMS: tuple[Discom, ...] = ("APSPDCL", "APCPDCL", "APEPDCL")
DEFAULT_DISCOM: Discom = "APSPDCL"  # the largest; a deployment sets WATTWALLET_DISCOM
SAMPLE = "sample"
FILES: dict[str, Path] = {SAMPLE: HERE / "sample.yaml", **{d: HERE / f"{d.lower()}.yaml" for d in DISCOMS}}


class UnknownTariffBook(errors.InvalidInput):
    code = "unknown_tariff_book"


def names() -> tuple[str, ...]:
    return tuple(FILES)


def book(name: str) -> tariff.TariffBook:
    """A built-in book by name: `sample`, `APSPDCL`, `APCPDCL` or `APEPDCL`."""
    try:
        path = FILES[name]
    except KeyError:
        raise UnknownTariffBook(
            f"unknown tariff book {name!r}; known: {', '.join(FILES)}", book=name
        ) from None
    return load(path)


@functools.cache
def load(path: Path) -> tariff.TariffBook:
    data = _read(path)
    retail = data.get("retail")
    if retail is not None:
        if "versions" in data:
            raise tariff.TariffDataInvalid(f"tariff file {path} has both `retail:` and `versions:`")
        data = {**data, "versions": _read(path.parent / str(retail)).get("versions")}
    return tariff.TariffBook.from_data(data)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise tariff.TariffDataInvalid(f"cannot read tariff file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise tariff.TariffDataInvalid(f"tariff file {path} must hold a mapping")
    return data
