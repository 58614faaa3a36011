"""Outbound HTTP: one client per process, explicit timeouts, and one place that decides which
answers are worth retrying."""

from __future__ import annotations

import httpx

from .jobs import Permanent, Retryable

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


def make_http_client(timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                             headers={"User-Agent": "Dropline/0.1 (+https://dropline.example)"})


def retry_after_seconds(resp: httpx.Response) -> float | None:
    """The seconds an answer says to wait (Retry-After, or X-Retry-After), if it says so in seconds. A
    platform's own headers (e.g. BigCommerce's window reset) are read by its adapter."""
    for header in ("Retry-After", "X-Retry-After"):
        value = resp.headers.get(header)
        if value:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def classify(resp: httpx.Response, what: str) -> None:
    """Raise Retryable for 408/409/425/429/5xx, Permanent for other 4xx; return on 2xx/3xx."""
    if resp.status_code < 400:
        return
    body = resp.text[:500]
    if resp.status_code in (408, 409, 425, 429) or resp.status_code >= 500:
        raise Retryable(f"{what}: HTTP {resp.status_code} {body}", retry_after=retry_after_seconds(resp))
    raise Permanent(f"{what}: HTTP {resp.status_code} {body}")


async def call(client: httpx.AsyncClient, method: str, url: str, what: str, **kwargs) -> httpx.Response:
    """Send a request; network failures and timeouts become Retryable."""
    try:
        resp = await client.request(method, url, **kwargs)
    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        raise Retryable(f"{what}: {type(exc).__name__}: {exc}") from exc
    classify(resp, what)
    return resp
