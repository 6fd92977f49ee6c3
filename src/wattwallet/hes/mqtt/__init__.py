"""The head-end system over MQTT: commands out, acknowledgements, relay reports and readings in.

docs/hes-mqtt.md is the protocol as an HES vendor reads it. Modules, each with one job:
`settings` (configuration), `protocol` (topics and JSON), `rejects` (what could not be taken),
`client` (the paho client, tuned for throughput), `headend` (the HeadEnd adapter that publishes
commands), `acks` and `relay` (what an acknowledgement or a relay report changes), `processor`
(a batch of inbound messages, routed and written), `link` (the running link: threads, start, stop).

Only `client`, `headend` and `link` import paho; the rest is plain code over the store.
"""
