"""Fixtures of the simulation tests: the broker and the MQTT link's fixtures of tests/hes, shared."""

from tests.hes.conftest import broker_url, link_clock, prefix, start_link  # noqa: F401
