import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wattwallet import tariffs
from wattwallet.domain import tariff

BOOK = tariffs.book("sample")
JUNE_2025 = dt.date(2025, 6, 15)


def lt1() -> tariff.CategoryTariff:
    return BOOK.category("LT-I", on=JUNE_2025)


@pytest.mark.parametrize(
    ("units", "paise"),
    [
        ("0", 0),
        ("30", 30 * 190),
        ("31", 30 * 190 + 300),
        ("75", 30 * 190 + 45 * 300),
        ("100", 30 * 190 + 45 * 300 + 25 * 450),
        ("500", 30 * 190 + 45 * 300 + 50 * 450 + 100 * 600 + 175 * 875 + 100 * 975),
        ("0.5", 95),
    ],
)
def test_lt1_energy_is_telescopic(units: str, paise: int) -> None:
    assert lt1().energy_charge(Decimal(units)) == paise


@given(st.decimals(min_value=0, max_value=5000, places=3), st.decimals(min_value=0, max_value=500, places=3))
def test_energy_charge_never_decreases_when_units_increase(units: Decimal, more: Decimal) -> None:
    assert lt1().energy_charge(units + more) >= lt1().energy_charge(units)


def test_lt1_mandatory_charges_are_the_fixed_charge_per_kw() -> None:
    charges = BOOK.mandatory_charges(category="LT-I", load_kw=Decimal("2"), on=JUNE_2025)
    assert [(i.component, i.amount_paise) for i in charges.items] == [("fixed_charge", 2_000)]
    assert charges.total_paise == 2_000


def test_lt2_demand_charge_can_exceed_the_500_floor() -> None:
    charges = BOOK.mandatory_charges(category="LT-II", load_kw=Decimal("10"), on=JUNE_2025)
    assert charges.total_paise == 75_000


def test_fractional_load_rounds_to_the_paisa() -> None:
    charges = BOOK.mandatory_charges(category="LT-II", load_kw=Decimal("0.333"), on=JUNE_2025)
    assert charges.total_paise == 2_498  # 75 * 0.333 = 24.975 -> ₹24.98


def test_unknown_category_names_the_known_ones() -> None:
    with pytest.raises(tariff.UnknownCategory, match="LT-I, LT-II"):
        BOOK.category("HT-9", on=JUNE_2025)


def test_fppca_window_is_half_open() -> None:
    assert [lv.name for lv in BOOK.levies_on(category="LT-I", on=dt.date(2026, 3, 31))] == ["FPPCA-2025-26"]
    assert BOOK.levies_on(category="LT-I", on=dt.date(2026, 4, 1)) == []
    assert BOOK.levies_on(category="LT-I", on=dt.date(2025, 3, 31)) == []


def _book(**overrides: object) -> tariff.TariffBook:
    data: dict[str, object] = {
        "versions": [
            {
                "effective_from": "2025-04-01",
                "categories": {
                    "LT-I": {
                        "name": "Domestic",
                        "energy_slabs": [{"upto": 30, "rate": "1.90"}, {"upto": None, "rate": "3.00"}],
                        "fixed_charge_per_kw_month": "10",
                    }
                },
            },
            {
                "effective_from": "2025-10-01",
                "categories": {
                    "LT-I": {
                        "name": "Domestic",
                        "energy_slabs": [{"upto": None, "rate": "2.50"}],
                        "fixed_charge_per_kw_month": "20",
                        "customer_charge_per_month": "15",
                    }
                },
            },
        ],
        "levies": [
            {"name": "TRUEUP", "kind": "true_up", "per_month": "12.34", "valid_from": "2025-10-01"},
            {
                "name": "REFUND",
                "kind": "true_up",
                "per_month": "-2.34",
                "valid_from": "2025-10-01",
                "categories": ["LT-II"],
            },
        ],
    }
    data.update(overrides)
    return tariff.TariffBook.from_data(data)


def test_versions_apply_from_their_effective_date() -> None:
    book = _book()
    assert book.version_on(dt.date(2025, 9, 30)).valid_to == dt.date(2025, 10, 1)
    before = book.mandatory_charges(category="LT-I", load_kw=Decimal(1), on=dt.date(2025, 9, 30))
    after = book.mandatory_charges(category="LT-I", load_kw=Decimal(1), on=dt.date(2025, 10, 1))
    assert before.total_paise == 1_000
    # fixed ₹20 + customer ₹15 + monthly true-up ₹12.34; the LT-II-only refund does not apply
    assert after.total_paise == 2_000 + 1_500 + 1_234


def test_no_tariff_before_the_first_version() -> None:
    with pytest.raises(tariff.NoTariffInForce):
        _book().version_on(dt.date(2024, 1, 1))


@pytest.mark.parametrize(
    "versions",
    [
        [],
        [
            {
                "effective_from": "2025-04-01",
                "categories": {"X": {"name": "x", "energy_slabs": [{"upto": 10, "rate": 1}]}},
            }
        ],
        [
            {
                "effective_from": "2025-04-01",
                "categories": {
                    "X": {
                        "name": "x",
                        "energy_slabs": [
                            {"upto": 10, "rate": 1},
                            {"upto": 5, "rate": 1},
                            {"upto": None, "rate": 1},
                        ],
                    }
                },
            }
        ],
        [
            {
                "effective_from": "2025-04-01",
                "categories": {"X": {"name": "x", "energy_slabs": [{"upto": None, "rate": -1}]}},
            }
        ],
        [{"effective_from": "not a date", "categories": {}}],
        [{"categories": {}}],
    ],
)
def test_inconsistent_tariff_data_is_refused(versions: list[object]) -> None:
    with pytest.raises(tariff.TariffDataInvalid):
        tariff.TariffBook.from_data({"versions": versions})


def test_unreadable_tariff_file_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.yaml"
    path.write_text("- just a list\n")
    with pytest.raises(tariff.TariffDataInvalid, match="mapping"):
        tariffs.load(path)


@pytest.mark.parametrize("name", ['FPPCA"x', "a b", "", "x" * 49, "levy;drop"])
def test_levy_names_are_plain_tokens(name: str) -> None:
    with pytest.raises(tariff.TariffDataInvalid):
        _book(levies=[{"name": name, "per_unit": "0.1", "valid_from": "2025-04-01"}])
