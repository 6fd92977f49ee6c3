"""Pure business rules: no I/O, no ORM, no clock. Callers pass `now` in."""
