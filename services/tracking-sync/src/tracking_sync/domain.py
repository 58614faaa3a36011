"""Pure rules of the write-back, independent of the store platform. No I/O here."""

from __future__ import annotations

from collections.abc import Iterable

from dropline_integrations.port import FulfilmentLine as LineToFulfil


class UnknownLines(ValueError):
    """A tracking record names lines that are not in its order."""


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
