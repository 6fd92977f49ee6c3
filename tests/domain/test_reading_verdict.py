"""One verdict on a meter reading for every path (CLI, replay, MQTT ingest), without a database."""

import datetime as dt

import pytest

from wattwallet.domain import clock, readings

NOW = dt.datetime(2025, 6, 2, 0, 15, tzinfo=clock.IST)
INSTALLED = dt.datetime(2025, 5, 1, tzinfo=clock.IST)


def reading(wh: int, at: dt.datetime = NOW) -> readings.Reading:
    return readings.Reading("SM-1", at, wh)


def meter(*, same: int | None = None, before: int | None = 1000, after: int | None = None) -> readings.Meter:
    return readings.Meter("1234567890123", INSTALLED, same_wh=same, before_wh=before, after_wh=after)


def test_a_newer_register_is_stored() -> None:
    assert readings.verdict(reading=reading(1500), meter=meter(), now=NOW) == readings.STORED


def test_the_same_register_again_is_a_duplicate() -> None:
    assert readings.verdict(reading=reading(1500), meter=meter(same=1500), now=NOW).status == "duplicate"


@pytest.mark.parametrize(
    ("case", "kwargs", "refusal"),
    [
        ("unknown meter", {"meter": None}, readings.Refusal.UNKNOWN_METER),
        ("another register at that instant", {"meter": meter(same=1400)}, readings.Refusal.CONFLICT),
        ("below the last register", {"meter": meter(before=2000)}, readings.Refusal.BACKWARDS),
        ("above a later register", {"meter": meter(before=1000, after=1200)}, readings.Refusal.BACKWARDS),
    ],
)
def test_refusals(case: str, kwargs: dict[str, object], refusal: readings.Refusal) -> None:
    verdict = readings.verdict(reading=reading(1500), now=NOW, **kwargs)  # type: ignore[arg-type]
    assert verdict.status is readings.Status.REFUSED and verdict.refusal is refusal, case
    assert verdict.message
    assert verdict.flag_for_staff == (refusal is readings.Refusal.BACKWARDS)


def test_time_limits() -> None:
    future = NOW + readings.FUTURE_TOLERANCE + dt.timedelta(seconds=1)
    assert (
        readings.verdict(reading=reading(1500, future), meter=meter(), now=NOW).refusal == "reading_in_future"
    )
    drift = NOW + readings.FUTURE_TOLERANCE
    assert readings.verdict(reading=reading(1500, drift), meter=meter(), now=NOW) == readings.STORED
    old = readings.verdict(reading=reading(1500, INSTALLED), meter=meter(), now=NOW)
    assert old.refusal is readings.Refusal.BEFORE_INSTALLATION


def test_parse_refuses_bad_shapes() -> None:
    assert readings.parse(meter_serial=" SM-1 ", read_at=NOW.isoformat(), kwh="1.5") == reading(1500)
    for bad in ({"kwh": "-1"}, {"kwh": "1.0001"}, {"read_at": "2025-06-02T00:15:00"}, {"meter_serial": ""}):
        args = {"meter_serial": "SM-1", "read_at": NOW.isoformat(), "kwh": "1"} | bad
        with pytest.raises(readings.ReadingInvalid):
            readings.parse(**args)
