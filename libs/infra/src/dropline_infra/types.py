"""Column types shared by every service's tables."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import DateTime, TypeDecorator


class UtcDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python. PostgreSQL keeps the offset
    (timestamptz); SQLite keeps none, so values are stored as UTC and read back as UTC, and an API
    never prints a timestamp without its offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use an aware UTC datetime (dropline_infra.db.utcnow)")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value
