"""Small, strict readers for normalisers: every failure is an `InvalidStoreOrder` naming the field,
never a KeyError/TypeError deep inside (arbitrary JSON must yield a clear rejection)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .port import InvalidStoreOrder


def obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidStoreOrder(f"{where}: expected an object, got {type(value).__name__}")
    return value


def opt_obj(value: Any, where: str) -> Mapping[str, Any] | None:
    return None if value is None else obj(value, where)


def items(value: Any, where: str, *, non_empty: bool = False) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidStoreOrder(f"{where}: expected a list, got {type(value).__name__}")
    if non_empty and not value:
        raise InvalidStoreOrder(f"{where}: must not be empty")
    return value


def dec(value: Any, where: str) -> Decimal | None:
    """A decimal from a string or a number; None for null/empty. Booleans and NaN/∞ are refused."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise InvalidStoreOrder(f"{where}: not a decimal: {value!r}")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise InvalidStoreOrder(f"{where}: not a decimal: {value!r}") from exc
    if not result.is_finite():
        raise InvalidStoreOrder(f"{where}: not a finite decimal: {value!r}")
    return result


def text(value: Any) -> str | None:
    """A string for display/ids; None for null/empty; objects and lists are not text."""
    if value is None or value == "" or isinstance(value, (Mapping, list)):
        return None
    return str(value)


def ident(value: Any, where: str) -> str:
    """A required id: a non-empty string or integer."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        raise InvalidStoreOrder(f"{where}: missing or not an id: {value!r}")
    return str(value)


def quantity(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        if isinstance(value, float) and value.is_integer() and value >= 1:
            return int(value)
        raise InvalidStoreOrder(f"{where}: must be a positive integer, got {value!r}")
    return value


def currency(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha():
        raise InvalidStoreOrder(f"{where}: missing or invalid currency code: {value!r}")
    return value.upper()


def timestamp(value: Any, where: str) -> datetime | None:
    """ISO 8601 (with offset, 'Z' accepted) or Unix seconds; always returned aware, in UTC."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise InvalidStoreOrder(f"{where}: not a date: {value!r}") from exc
    raise InvalidStoreOrder(f"{where}: not a date: {value!r}")


def joined(*parts: Any) -> str | None:
    words = [str(p).strip() for p in parts if isinstance(p, (str, int)) and str(p).strip()]
    return " ".join(words) or None
