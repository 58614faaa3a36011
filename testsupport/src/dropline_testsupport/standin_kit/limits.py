"""Request windows as the platforms count them: N requests per fixed window, per key (a store, a
token, an app instance). The stand-ins answer 429 with the platform's own headers when it is spent."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class WindowVerdict:
    allowed: bool
    quota: int
    left: int  # after this request
    reset_in_seconds: float  # until the window starts over

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds, rounded up (what a Retry-After header carries)."""
        return max(1, math.ceil(self.reset_in_seconds))


@dataclass
class FixedWindow:
    """``quota`` requests per ``window_seconds`` for each key; the window starts with the key's first call."""

    quota: int
    window_seconds: float
    clock: Callable[[], float] = time.monotonic
    _windows: dict[str, tuple[float, int]] = field(default_factory=dict)  # key -> (window start, used)

    def take(self, key: str) -> WindowVerdict:
        now = self.clock()
        start, used = self._windows.get(key, (now, 0))
        if now - start >= self.window_seconds:
            start, used = now, 0
        reset_in = max(self.window_seconds - (now - start), 0.0)
        if used >= self.quota:
            self._windows[key] = (start, used)
            return WindowVerdict(False, self.quota, 0, reset_in)
        used += 1
        self._windows[key] = (start, used)
        return WindowVerdict(True, self.quota, self.quota - used, reset_in)

    def configure(self, *, quota: int | None = None, window_seconds: float | None = None) -> None:
        if quota is not None:
            self.quota = quota
        if window_seconds is not None:
            self.window_seconds = window_seconds
        self._windows.clear()
