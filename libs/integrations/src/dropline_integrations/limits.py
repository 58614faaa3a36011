"""Per-store scheduling of outbound calls: each store gets its platform's budget, accounted locally.

Why: every platform limits calls per store (or per token / app instance), and a store that answers
429 or 5xx must not hold up anyone else. So, per store key:

- a local budget (`RatePolicy`: so many requests per window) is spent before each call; when it is
  spent, the call is not made and the job is *deferred* (`Deferred`: no attempt counted) to when the
  window has room again — workers never all fire at one store and get throttled together;
- what the platform tells us wins: `Retry-After`, BigCommerce's `X-Rate-Limit-*` headers, Shopify's
  throttle status (the Shopify adapter keeps its own points bucket) move the store's next-allowed time;
- a store that fails (5xx, timeouts) cools down with exponential backoff: the failing call is a
  `Retryable` (an attempt counted), and every other call to that store meanwhile is deferred at once
  without touching the network, so the job workers stay free for the other stores.

The accounting is per process (each replica keeps its own; the platform's answers correct it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from dropline_infra.http import retry_after_seconds
from dropline_infra.jobs import Deferred, Permanent, Retryable
from dropline_infra.observability import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class RatePolicy:
    """A platform's documented limit per store, with some headroom for other apps on the same store."""

    requests: int  # allowed per window
    window_seconds: float
    cooldown_base_seconds: float = 2.0  # first back-off after a failure; doubles per consecutive failure
    cooldown_max_seconds: float = 120.0

    @property
    def interval(self) -> float:
        return self.window_seconds / self.requests


@dataclass
class _StoreState:
    tokens: float
    updated: float
    blocked_until: float = 0.0
    failures: int = 0
    last_failure: str | None = None
    calls: int = 0
    throttled: int = 0


@dataclass
class StoreLimiter:
    """One per process; keyed by "platform:store key"."""

    clock: Callable[[], float] = time.monotonic
    _stores: dict[str, _StoreState] = field(default_factory=dict)

    def _state(self, key: str, policy: RatePolicy) -> _StoreState:
        now = self.clock()
        state = self._stores.get(key)
        if state is None:
            state = self._stores[key] = _StoreState(tokens=float(policy.requests), updated=now)
        else:
            state.tokens = min(float(policy.requests), state.tokens + (now - state.updated) / policy.interval)
            state.updated = now
        return state

    def acquire(self, key: str, policy: RatePolicy, cost: float = 1.0) -> None:
        """Spend the budget for one call, or raise `Deferred` with the wait."""
        state = self._state(key, policy)
        now = self.clock()
        if state.blocked_until > now:
            raise Deferred(f"{key}: cooling down ({state.last_failure or 'rate limit'})",
                           retry_after=state.blocked_until - now)
        if state.tokens < cost:
            raise Deferred(f"{key}: local request budget spent", retry_after=(cost - state.tokens) * policy.interval)
        state.tokens -= cost
        state.calls += 1

    def throttled(self, key: str, policy: RatePolicy, retry_after: float | None, reason: str) -> float:
        """The platform said "too many": nobody calls this store before it allows it again."""
        state = self._state(key, policy)
        wait = retry_after if retry_after is not None and math.isfinite(retry_after) else policy.window_seconds
        wait = min(max(wait, 0.0), policy.cooldown_max_seconds * 10)
        state.blocked_until = max(state.blocked_until, self.clock() + wait)
        state.tokens = 0.0
        state.throttled += 1
        state.last_failure = reason
        return wait

    def failed(self, key: str, policy: RatePolicy, reason: str, retry_after: float | None = None) -> float:
        """A 5xx, a timeout, a refused connection: back off this store, exponentially."""
        state = self._state(key, policy)
        state.failures += 1
        wait = min(policy.cooldown_base_seconds * 2 ** (state.failures - 1), policy.cooldown_max_seconds)
        if retry_after is not None and math.isfinite(retry_after):
            wait = max(wait, retry_after)
        state.blocked_until = max(state.blocked_until, self.clock() + wait)
        state.last_failure = reason
        return wait

    def succeeded(self, key: str) -> None:
        state = self._stores.get(key)
        if state is not None:
            state.failures = 0

    def remaining(self, key: str, policy: RatePolicy, left: int, reset_in: float | None) -> None:
        """The platform's own count of what is left in its window (BigCommerce's headers)."""
        state = self._state(key, policy)
        state.tokens = min(state.tokens, float(max(left, 0)))
        if left <= 0 and reset_in is not None:
            state.blocked_until = max(state.blocked_until, self.clock() + max(reset_in, 0.0))

    def snapshot(self) -> dict[str, dict[str, Any]]:
        now = self.clock()
        return {key: {"calls": s.calls, "throttled": s.throttled, "consecutive_failures": s.failures,
                      "blocked_for_seconds": round(max(s.blocked_until - now, 0.0), 3),
                      "last_failure": s.last_failure} for key, s in self._stores.items()}


async def store_call(http: httpx.AsyncClient, limiter: StoreLimiter, key: str, policy: RatePolicy,
                     method: str, url: str, *, what: str, ok: tuple[int, ...] = (200, 201, 202, 204),
                     reset_headers: Callable[[httpx.Response], tuple[int, float | None] | None] | None = None,
                     **kwargs: Any) -> httpx.Response:
    """One outbound call to one store, under its budget.

    Returns the response for the statuses in `ok`; 404 is returned too (the caller decides what a
    missing order means). 429 → the store is blocked for its Retry-After and the job is deferred;
    5xx / network errors → the store cools down and the job is retried; 401/403/400/422… → Permanent.
    """
    limiter.acquire(key, policy)
    try:
        resp = await http.request(method, url, **kwargs)
    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        reason = f"{what}: {type(exc).__name__}"
        wait = limiter.failed(key, policy, reason)
        raise Retryable(f"{reason}: {exc}", retry_after=wait) from exc
    seen = reset_headers(resp) if reset_headers is not None else None
    if seen is not None:
        limiter.remaining(key, policy, *seen)
    status = resp.status_code
    if status == 429:
        # Retry-After when the answer has it, else when the platform's own headers say its window resets.
        hint = retry_after_seconds(resp)
        wait = limiter.throttled(key, policy, hint if hint is not None else (seen or (0, None))[1],
                                 f"{what}: HTTP 429")
        log.warning("store throttled us", store=key, call=what, wait_seconds=round(wait, 2))
        raise Deferred(f"{what}: HTTP 429 (throttled)", retry_after=wait)
    if status >= 500 or status in (408, 425):
        wait = limiter.failed(key, policy, f"{what}: HTTP {status}", retry_after_seconds(resp))
        raise Retryable(f"{what}: HTTP {status} {resp.text[:300]}", retry_after=wait)
    limiter.succeeded(key)
    if status in ok or status == 404:
        return resp
    raise Permanent(f"{what}: HTTP {status} {resp.text[:300]}")


def json_body(resp: httpx.Response, what: str) -> Any:
    """The JSON of a 2xx answer; a store answering something else is an outage, not our bug."""
    try:
        return resp.json()
    except ValueError as exc:
        raise Retryable(f"{what}: HTTP {resp.status_code} with a body that is not JSON") from exc


def header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None
