"""Simulated meters and consumers, for demos, load tests and end-to-end tests.

`consumption` (how much a home or shop draws, half-hour by half-hour), `meters` (virtual meters
with a register and a relay), `population` (demo consumers: names, categories, loads, languages),
`habits` (when and how they recharge), `demo` (D days of a fleet on an accelerated clock) and
`mqtt_meters` (a fleet of meters speaking docs/hes-mqtt.md to a real broker).

Everything is deterministic for a seed: the same seed gives the same consumption, the same
consumers and the same recharges.
"""
