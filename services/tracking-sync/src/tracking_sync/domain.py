"""Pure rules of the write-back, independent of the store platform. No I/O here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from dropline_integrations.port import FulfilmentLine as LineToFulfil


class UnknownLines(ValueError):
    """A tracking record names lines that are not in its order, or more of a line than the order has."""


@dataclass(frozen=True)
class Shipped:
    """How much of one line a shipment carries (the event's ShippedLine, without the schema)."""

    line_id: str
    quantity: int


def lines_to_fulfil(lines: Iterable[LineToFulfil], line_ids: list[str] | None,
                    shipped: Iterable[Shipped] | None = None) -> list[LineToFulfil]:
    """The order's lines a tracking record covers, in the order's line order.

    `shipped` (the event's `lines`) wins: each named line with the shipped quantity (1 of a quantity-3
    line fulfils 1). Without it, `line_ids` names whole lines; with neither, every line in full. A line
    not in the order, a quantity above the line's, or a line named twice with more in total than it has,
    is UnknownLines (the job fails permanently with the reason)."""
    lines = list(lines)
    by_id = {line.line_id: line for line in lines}
    if shipped is not None:
        wanted: dict[str, int] = {}
        for item in shipped:
            wanted[item.line_id] = wanted.get(item.line_id, 0) + item.quantity
        unknown = [i for i in wanted if i not in by_id]
        if unknown:
            raise UnknownLines(f"tracking names lines not in the order: {', '.join(unknown)}")
        over = [f"{i} ({q} shipped, the order has {by_id[i].quantity})" for i, q in wanted.items()
                if q > by_id[i].quantity]
        if over:
            raise UnknownLines(f"tracking ships more than the order has: {', '.join(over)}")
        return [replace(line, quantity=wanted[line.line_id]) for line in lines
                if wanted.get(line.line_id, 0) > 0]
    if line_ids is None:
        return lines
    unknown = [i for i in line_ids if i not in by_id]
    if unknown:
        raise UnknownLines(f"tracking names lines not in the order: {', '.join(unknown)}")
    named = set(line_ids)
    return [line for line in lines if line.line_id in named]


# --------------------------------------------------------------------------- late-shipment alerts
#
# Handling days are business days: Saturdays and Sundays do not count. The supplier's time zone is not
# known, so days are UTC days. N handling days from a moment is the same time of day N business days
# later; a moment on a weekend first moves to the next Monday 00:00 (an order paid on Saturday with one
# handling day is due on Tuesday 00:00). Late means strictly after the due moment.

SATURDAY = 5


def is_business_day(day: date) -> bool:
    return day.weekday() < SATURDAY


def _to_business_time(moment: datetime) -> datetime:
    """The moment itself on a weekday; otherwise the next Monday at 00:00 (same zone)."""
    if is_business_day(moment.date()):
        return moment
    day = moment.date()
    while not is_business_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, time.min, moment.tzinfo)


def add_business_days(start: datetime, days: int) -> datetime:
    if days < 0:
        raise ValueError("handling days cannot be negative")
    moment = _to_business_time(start)
    while days:
        moment += timedelta(days=1)
        if is_business_day(moment.date()):
            days -= 1
    return moment


def business_days_between(start: date, end: date) -> int:
    """Business days after `start` up to and including `end` (0 when end <= start): Friday → Monday is 1."""
    if end <= start:
        return 0
    whole_weeks, rest = divmod((end - start).days, 7)
    count = whole_weeks * 5
    day = start + timedelta(days=whole_weeks * 7)
    for _ in range(rest):
        day += timedelta(days=1)
        count += is_business_day(day)
    return count


def due_at(started_at: datetime, handling_days: int | None, default_days: int) -> datetime:
    """When tracking is due: `handling_days` business days after the order was paid (or forwarded);
    a supplier without handling days gets `default_days`."""
    return add_business_days(started_at, default_days if handling_days is None else handling_days)


def is_late(started_at: datetime, handling_days: int | None, now: datetime, *, default_days: int) -> bool:
    return now > due_at(started_at, handling_days, default_days)


@dataclass(frozen=True)
class Flags:
    """What an order's alerts should be now: each the moment its condition began, or None."""

    late: datetime | None = None
    not_synced: datetime | None = None


def desired_flags(*, started_at: datetime | None, handling_days: int | None, tracked: bool, closed: bool,
                  failing_since: datetime | None, now: datetime, default_days: int,
                  not_synced_after: timedelta) -> Flags:
    """The alert rule. late: paid/forwarded, no tracking, past the due moment. not_synced: a write-back
    has been waiting and failing since `failing_since` for longer than `not_synced_after`. A closed order
    (refunded) has neither."""
    if closed:
        return Flags()
    late = None
    if started_at is not None and not tracked:
        due = due_at(started_at, handling_days, default_days)
        late = due if now > due else None
    not_synced = failing_since if failing_since is not None and now - failing_since > not_synced_after else None
    return Flags(late=late, not_synced=not_synced)
