import pytest

from wattwallet.domain import connection, policy, recharge

RULES = policy.Policy()
ACTIVE, PREPAID = connection.State.ACTIVE, connection.BillingMode.PREPAID


def check(
    amount: int,
    *,
    first: bool = False,
    mandatory: int = 0,
    rules: policy.Policy = RULES,
    state: connection.State = ACTIVE,
    mode: connection.BillingMode = PREPAID,
) -> None:
    recharge.check_allowed(
        amount_paise=amount,
        is_first=first,
        mandatory_charges_paise=mandatory,
        state=state,
        mode=mode,
        rules=rules,
    )


def test_first_recharge_floor_is_500_rupees() -> None:
    check(50_000, first=True, mandatory=2_000)
    check(50_050, first=True, mandatory=2_000)  # any rupee amount at or above the minimum
    with pytest.raises(recharge.BelowFirstRechargeMinimum) as caught:
        check(49_999, first=True, mandatory=2_000)
    assert caught.value.details["minimum"] == "500.00"
    assert "₹500.00" in caught.value.message


def test_first_recharge_minimum_rises_to_mandatory_charges() -> None:
    check(75_000, first=True, mandatory=75_000)
    with pytest.raises(recharge.BelowFirstRechargeMinimum) as caught:
        check(74_900, first=True, mandatory=75_000)
    assert caught.value.details["minimum"] == "750.00"


def test_later_recharges_are_multiples_of_100_at_least_100() -> None:
    check(10_000)
    check(1_000_000_000)  # no upper limit
    with pytest.raises(recharge.BelowMinimum):
        check(5_000)
    with pytest.raises(recharge.NotMultipleOf100) as caught:
        check(15_000)
    assert caught.value.details["minimum"] == "200.00"
    assert "try ₹100.00 or ₹200.00" in caught.value.message


def test_terminated_and_postpaid_connections_cannot_recharge() -> None:
    with pytest.raises(recharge.ConnectionTerminated):
        check(10_000, state=connection.State.TERMINATED)
    with pytest.raises(recharge.ConnectionNotPrepaid):
        check(10_000, mode=connection.BillingMode.POSTPAID)


def test_disconnected_connections_can_recharge() -> None:
    check(10_000, state=connection.State.DISCONNECTED)


def test_policy_numbers_are_settings() -> None:
    rules = policy.Policy(
        first_recharge_floor_paise=20_000, recharge_multiple_paise=5_000, recharge_minimum_paise=5_000
    )
    check(20_000, first=True, rules=rules)
    check(5_000, rules=rules)


@pytest.mark.parametrize(
    ("amount", "dues", "cap", "to_dues"),
    [
        (50_000, 0, 100, 0),
        (50_000, 20_000, 100, 20_000),
        (50_000, 90_000, 100, 50_000),
        (50_000, 90_000, 40, 20_000),
        (50_000, 10_000, 40, 10_000),
        (10_000, 5_000, 0, 0),
        (333, 999, 50, 166),
    ],
)
def test_dues_come_first_up_to_the_cap(amount: int, dues: int, cap: int, to_dues: int) -> None:
    split = recharge.split(
        amount_paise=amount, dues_paise=dues, rules=policy.Policy(dues_max_share_percent=cap)
    )
    assert split.to_dues == to_dues
    assert split.to_dues + split.to_wallet == amount


@pytest.mark.parametrize("raw", ["portal", "APP", " retail ", "kiosk", "counter"])
def test_channels(raw: str) -> None:
    assert recharge.channel(raw).value == raw.strip().lower()


@pytest.mark.parametrize("raw", ["bank", "", None, 3])
def test_unknown_channel(raw: object) -> None:
    with pytest.raises(recharge.UnknownChannel):
        recharge.channel(raw)


@pytest.mark.parametrize("raw", ["", " ", "-lead", "a" * 65, "has space", "emoji😀", None, 12])
def test_reference_must_be_a_short_token(raw: object) -> None:
    with pytest.raises(recharge.ReferenceInvalid):
        recharge.reference(raw)
