"""Scenario replay (shared/SCENARIOS.md): the real engine through a timeline, as JSON lines."""
