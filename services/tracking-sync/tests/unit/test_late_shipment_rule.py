"""The late-shipment rule (pure): business days skip Saturdays and Sundays, handling days 0, the exact
boundary, the default for suppliers without handling days, and what the two flags should be."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tracking_sync.domain import (
    Flags,
    add_business_days,
    business_days_between,
    desired_flags,
    due_at,
    is_late,
)

# 2026-12-02 is a Wednesday.
WED = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)
FRI = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
SAT = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
SUN = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(("start", "days", "due"), [
    (WED, 0, WED),
    (WED, 1, datetime(2026, 12, 3, 14, 30, tzinfo=UTC)),   # Thursday
    (WED, 2, datetime(2026, 12, 4, 14, 30, tzinfo=UTC)),   # Friday
    (WED, 3, datetime(2026, 12, 7, 14, 30, tzinfo=UTC)),   # Monday: the weekend does not count
    (WED, 5, datetime(2026, 12, 9, 14, 30, tzinfo=UTC)),   # one calendar week
    (WED, 10, datetime(2026, 12, 16, 14, 30, tzinfo=UTC)),
    (FRI, 1, datetime(2026, 12, 7, 16, 0, tzinfo=UTC)),    # Friday → Monday
    # Paid on a weekend: the clock starts on Monday at 00:00.
    (SAT, 0, datetime(2026, 12, 7, 0, 0, tzinfo=UTC)),
    (SAT, 1, datetime(2026, 12, 8, 0, 0, tzinfo=UTC)),
    (SUN, 3, datetime(2026, 12, 10, 0, 0, tzinfo=UTC)),
])
def test_add_business_days_skips_weekends(start, days, due):
    assert add_business_days(start, days) == due


def test_negative_handling_days_are_refused():
    with pytest.raises(ValueError):
        add_business_days(WED, -1)


@pytest.mark.parametrize(("start", "end", "n"), [
    (date(2026, 12, 2), date(2026, 12, 2), 0),
    (date(2026, 12, 2), date(2026, 12, 1), 0),
    (date(2026, 12, 2), date(2026, 12, 3), 1),
    (date(2026, 12, 4), date(2026, 12, 7), 1),    # Friday → Monday
    (date(2026, 12, 4), date(2026, 12, 6), 0),    # Friday → Sunday
    (date(2026, 12, 5), date(2026, 12, 7), 1),    # Saturday → Monday
    (date(2026, 12, 2), date(2026, 12, 9), 5),
    (date(2026, 12, 2), date(2026, 12, 30), 20),
    (date(2026, 12, 2), date(2027, 1, 1), 22),
])
def test_business_days_between(start, end, n):
    assert business_days_between(start, end) == n


def test_business_days_between_agrees_with_add_business_days():
    for offset in range(7):
        start = WED + timedelta(days=offset)
        if start.weekday() >= 5:
            continue
        for days in range(12):
            assert business_days_between(start.date(), add_business_days(start, days).date()) == days


def test_exact_boundary_is_not_late_one_microsecond_after_is():
    due = due_at(WED, 3, default_days=3)
    assert not is_late(WED, 3, due, default_days=3)
    assert is_late(WED, 3, due + timedelta(microseconds=1), default_days=3)
    assert not is_late(WED, 3, due - timedelta(hours=1), default_days=3)


def test_handling_days_zero_is_late_right_after_payment():
    assert not is_late(WED, 0, WED, default_days=3)
    assert is_late(WED, 0, WED + timedelta(seconds=1), default_days=3)


def test_no_handling_days_uses_the_default():
    assert due_at(WED, None, default_days=3) == datetime(2026, 12, 7, 14, 30, tzinfo=UTC)
    assert due_at(WED, None, default_days=1) == datetime(2026, 12, 3, 14, 30, tzinfo=UTC)
    assert due_at(WED, 0, default_days=3) == WED  # 0 is a promise, not "unknown"


def flags(**kw) -> Flags:
    values = dict(started_at=WED, handling_days=1, tracked=False, closed=False, failing_since=None,
                  now=WED + timedelta(days=2), default_days=3, not_synced_after=timedelta(hours=2))
    values.update(kw)
    return desired_flags(**values)


def test_desired_flags():
    due = datetime(2026, 12, 3, 14, 30, tzinfo=UTC)
    assert flags() == Flags(late=due)
    assert flags(now=due) == Flags()                          # exactly at the due moment: not yet
    assert flags(tracked=True) == Flags()                     # tracking arrived
    assert flags(started_at=None) == Flags()                  # never paid nor forwarded
    assert flags(closed=True, failing_since=WED) == Flags()   # refunded: nothing to chase
    now = WED + timedelta(days=2)
    assert flags(tracked=True, failing_since=now - timedelta(hours=2)) == Flags()  # exactly the threshold
    since = now - timedelta(hours=2, seconds=1)
    assert flags(tracked=True, failing_since=since) == Flags(not_synced=since)
