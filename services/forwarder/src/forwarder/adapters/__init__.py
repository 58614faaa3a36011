"""Edges to the outside world, each behind a Protocol so tests can swap in fakes."""
