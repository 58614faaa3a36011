"""store_call's answer to a 429: the wait comes from Retry-After, else from the platform's own reset
headers that its adapter reads (BigCommerce's X-Rate-Limit-Time-Reset-Ms) — not from the infrastructure
library, which knows no platform."""

from __future__ import annotations

import httpx
import pytest

from dropline_infra.http import retry_after_seconds
from dropline_infra.jobs import Deferred
from dropline_integrations.bigcommerce.api import rate_headers
from dropline_integrations.limits import RatePolicy, StoreLimiter, store_call

POLICY = RatePolicy(requests=100, window_seconds=30)


def _client(headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(429, headers=headers)))


async def test_a_429_with_only_bigcommerces_reset_header_waits_for_that_reset():
    headers = {"X-Rate-Limit-Requests-Left": "0", "X-Rate-Limit-Time-Reset-Ms": "7500"}
    assert retry_after_seconds(httpx.Response(429, headers=headers)) is None  # infra reads no platform's header
    async with _client(headers) as http:
        with pytest.raises(Deferred) as caught:
            await store_call(http, StoreLimiter(), "bc:store", POLICY, "GET", "http://bc/orders", what="fetch",
                             reset_headers=rate_headers)
    assert caught.value.retry_after == pytest.approx(7.5)


async def test_retry_after_wins_and_without_any_hint_the_window_is_waited():
    limiter = StoreLimiter()
    async with _client({"Retry-After": "3", "X-Rate-Limit-Requests-Left": "0",
                        "X-Rate-Limit-Time-Reset-Ms": "7500"}) as http:
        with pytest.raises(Deferred) as caught:
            await store_call(http, limiter, "bc:a", POLICY, "GET", "http://bc/x", what="fetch",
                             reset_headers=rate_headers)
    assert caught.value.retry_after == pytest.approx(3.0)  # the job comes back when Retry-After says …
    assert limiter.snapshot()["bc:a"]["blocked_for_seconds"] == pytest.approx(7.5, abs=0.1)  # … the store waits its reset
    async with _client({}) as http:
        with pytest.raises(Deferred) as caught:
            await store_call(http, StoreLimiter(), "bc:b", POLICY, "GET", "http://bc/x", what="fetch")
    assert caught.value.retry_after == pytest.approx(POLICY.window_seconds)
