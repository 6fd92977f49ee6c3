"""Use cases: each takes the store and plain values, runs the domain rules in one transaction."""
