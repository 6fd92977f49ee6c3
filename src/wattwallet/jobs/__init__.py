"""Scheduled work (the daily cycle and the other jobs), each batch by batch over all connections."""
