"""The end-to-end test uses the MQTT fixtures of tests/hes (real Mosquitto, the real link)."""

from tests.hes.conftest import broker_url, link_clock, prefix, start_link  # noqa: F401
