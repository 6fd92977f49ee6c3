"""Loading tariff books from their data files (the built-in AP sample, or a DISCOM's own)."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

from wattwallet.domain import tariff

BUILT_IN = Path(__file__).with_name("ap.yaml")


@functools.cache
def load(path: Path = BUILT_IN) -> tariff.TariffBook:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise tariff.TariffDataInvalid(f"cannot read tariff file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise tariff.TariffDataInvalid(f"tariff file {path} must hold a mapping")
    return tariff.TariffBook.from_data(data)
