"""Pure rules of the write-back, independent of the store platform. No I/O here."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


class UnknownLines(ValueError):
    """A tracking record names lines that are not in its order."""


@dataclass(frozen=True)
class LineToFulfil:
    line_id: str
    platform_line_id: str
    sku: str | None
    quantity: int


def lines_to_fulfil(lines: Iterable[LineToFulfil], line_ids: list[str] | None) -> list[LineToFulfil]:
    """The order's lines a tracking record covers: the named ones, or all of them when none are named."""
    lines = list(lines)
    if line_ids is None:
        return lines
    by_id = {line.line_id: line for line in lines}
    unknown = [i for i in line_ids if i not in by_id]
    if unknown:
        raise UnknownLines(f"tracking names lines not in the order: {', '.join(unknown)}")
    wanted = set(line_ids)
    return [line for line in lines if line.line_id in wanted]


def same_tracking_number(a: str | None, b: str | None) -> bool:
    """Carriers and stores print numbers with spaces and mixed case; the number is the same."""
    if not a or not b:
        return False
    return _canonical(a) == _canonical(b)


def _canonical(number: str) -> str:
    return re.sub(r"[\s-]+", "", number).upper()
