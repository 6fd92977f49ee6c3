"""The built-in tariff books: each AP DISCOM's loads with a source on every figure; the sample is
DOMAIN.md's; a book that misses a source, or calls a figure unconfirmed without saying what is
missing, does not load."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from wattwallet import config, tariffs
from wattwallet.domain import tariff

FY2025_26 = dt.date(2025, 12, 1)


@pytest.mark.parametrize("discom", tariffs.DISCOMS)
def test_each_discom_book_loads_with_a_source_on_every_figure(discom: str) -> None:
    book = tariffs.book(discom)
    assert book.name == discom
    for version in book.versions:
        for cat in version.categories.values():
            figures = {"groups" if len(cat.groups) > 1 else "energy_slabs", "electricity_duty_per_unit"}
            figures |= {"tod"} if cat.tod else set()
            assert figures <= set(cat.sources), cat.key
            for source in cat.sources.values():
                assert source.source.strip()
                assert source.missing.strip() or not source.unconfirmed
    assert book.levies
    for levy in book.levies:
        assert levy.source is not None and levy.source.source.strip(), levy.name
        assert levy.labels["en"] and levy.labels["te"], levy.name


@pytest.mark.parametrize(
    ("discom", "refund"), [("APSPDCL", "-13.28"), ("APCPDCL", "-13.43"), ("APEPDCL", "-13.12")]
)
def test_the_fy2024_25_fppca_refund_runs_november_2025_to_october_2026(discom: str, refund: str) -> None:
    book = tariffs.book(discom)
    [levy] = [levy for levy in book.levies if levy.name == "FPPCA-FY2024-25-refund"]
    assert levy.per_unit_paise == Decimal(refund)
    assert (levy.valid_from, levy.valid_to) == (dt.date(2025, 11, 1), dt.date(2026, 11, 1))
    on = {levy.name for levy in book.levies_on(category="LT-I", on=dt.date(2025, 11, 1))}
    before = {levy.name for levy in book.levies_on(category="LT-I", on=dt.date(2025, 10, 31))}
    assert "FPPCA-FY2024-25-refund" in on - before  # the window opens: consumers see the new line


def test_lt2_has_a_minor_and_a_major_group_and_commercial_duty() -> None:
    cat = tariffs.book("APEPDCL").category("LT-II", on=FY2025_26)
    minor, major = cat.groups
    assert (minor.name, minor.upto_units, major.name, major.upto_units) == ("minor", 50, "major", None)
    assert [s.rate_paise for s in minor.slabs] == [540]
    assert [s.rate_paise for s in major.slabs] == [690, 765, 905, 960, 1015]
    assert [s.upto_units for s in major.slabs] == [50, 100, 300, 500, None]
    assert (minor.fixed_per_kw_month_paise, major.fixed_per_kw_month_paise) == (5500, 7500)
    assert cat.duty_per_unit_paise == 100
    assert cat.tod is not None and cat.tod.above_load_w == 10_000
    assert cat.group_for(Decimal(50)) is minor and cat.group_for(Decimal("50.001")) is major


def test_lt1_in_the_discom_books() -> None:
    cat = tariffs.book("APSPDCL").category("LT-I", on=FY2025_26)
    assert [s.rate_paise for s in cat.slabs] == [190, 300, 450, 600, 875, 975]
    assert (cat.fixed_per_kw_month_paise, cat.duty_per_unit_paise, cat.tod) == (1000, 6, None)
    assert cat.sources["customer_charge_per_month"].unconfirmed  # no source gave the amounts


def test_the_sample_book_keeps_domain_md_figures() -> None:
    book = tariffs.book("sample")
    lt2 = book.category("LT-II", on=dt.date(2025, 6, 1))
    assert lt2.demand_per_kw_month_paise == 7500 and len(lt2.groups) == 1
    [fppca] = book.levies
    assert (fppca.name, fppca.per_unit_paise) == ("FPPCA-2025-26", 40)
    assert (fppca.valid_from, fppca.valid_to) == (dt.date(2025, 4, 1), dt.date(2026, 4, 1))
    assert book.has_tod() == frozenset()


def test_an_unknown_book_is_refused_by_name() -> None:
    with pytest.raises(tariffs.UnknownTariffBook) as caught:
        tariffs.book("APNPDCL")
    assert "APNPDCL" in caught.value.message and "APSPDCL" in caught.value.message


def sourced_book(**category: Any) -> dict[str, Any]:
    spec = {"name": "X", "energy_slabs": [{"upto": None, "rate": "1"}], **category}
    return {"sourced": True, "versions": [{"effective_from": "2025-04-01", "categories": {"X": spec}}]}


def test_a_sourced_book_refuses_a_figure_without_a_source() -> None:
    with pytest.raises(tariff.TariffDataInvalid, match="no source for energy_slabs"):
        tariff.TariffBook.from_data(sourced_book())
    data = sourced_book(sources={"energy_slabs": "order X"}, electricity_duty_per_unit="0.06")
    with pytest.raises(tariff.TariffDataInvalid, match="electricity_duty_per_unit"):
        tariff.TariffBook.from_data(data)


def test_an_unconfirmed_figure_must_say_what_is_missing() -> None:
    data = sourced_book(sources={"energy_slabs": {"source": "a news report", "unconfirmed": True}})
    with pytest.raises(tariff.TariffDataInvalid, match="missing"):
        tariff.TariffBook.from_data(data)


def test_a_sourced_book_refuses_a_levy_without_a_source() -> None:
    data = sourced_book(sources={"energy_slabs": "order X"})
    data["levies"] = [{"name": "L", "per_unit": "0.1", "valid_from": "2025-04-01"}]
    with pytest.raises(tariff.TariffDataInvalid, match="levy L: no source"):
        tariff.TariffBook.from_data(data)


def test_a_discom_may_load_its_own_order_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "retail.yaml").write_text(
        yaml.safe_dump({"versions": sourced_book(sources={"energy_slabs": "order X"})["versions"]}),
        encoding="utf-8",
    )
    own = tmp_path / "own.yaml"
    own.write_text(
        yaml.safe_dump({"name": "OWN", "sourced": True, "retail": "retail.yaml"}), encoding="utf-8"
    )
    book = tariffs.load(own)
    assert book.name == "OWN" and book.category("X", on=FY2025_26).sources["energy_slabs"].source == "order X"


def test_components_are_named_in_the_consumers_language() -> None:
    book = tariffs.book("APSPDCL")
    assert book.label("levy:FPPCA-FY2024-25-refund", language="te") == "ఎఫ్‌పీపీసీఏ వాపసు 2024-25"
    assert book.label("levy:FPPCA-FY2024-25-refund", language="en") == "FPPCA refund FY2024-25"
    assert book.label("energy:major:50-100", language="en") == "Energy charges (major, 50-100)"
    assert book.label("fixed_charge:repricing", language="en") == "Fixed charges (repricing of earlier units)"
    assert book.label("electricity_duty", language="te") == "విద్యుత్ సుంకం"
    assert book.label("tod:no_load_profile", language="en").startswith("No load profile")


def test_the_deployment_setting_picks_the_discoms_book(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.Settings().tariff_book().name == tariffs.DEFAULT_DISCOM
    monkeypatch.setenv("WATTWALLET_DISCOM", "APEPDCL")
    assert config.Settings().tariff_book().name == "APEPDCL"
    monkeypatch.setenv("WATTWALLET_TARIFF_FILE", str(tariffs.FILES["sample"]))
    assert config.Settings().tariff_book().name == "sample"  # a DISCOM's own file wins
    monkeypatch.setenv("WATTWALLET_DISCOM", "APNPDCL")
    with pytest.raises(ValidationError):
        config.Settings()
