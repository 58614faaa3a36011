"""checkout's internal API (checkout owns unpaid orders, quotes and payments; the gateway
authenticates the retailer and passes its id on)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from ..errors import GatewayError


class CheckoutApi(Protocol):
    async def call(self, method: str, path: str, *, json: Any = None,
                   params: dict[str, str] | None = None) -> tuple[int, Any]:
        """(HTTP status, JSON body). Refusals come back as GatewayError with checkout's code."""
        ...

    async def forward(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, Any]:
        """POST raw bytes with the caller's headers (a provider's webhook, which checkout verifies
        against the exact bytes): (HTTP status, JSON body), whatever the status. Raises GatewayError
        503 when checkout does not answer."""
        ...


# Not passed on: hop-by-hop headers, and what the gateway sets itself (httpx sets the host and the
# length of the body it sends; the internal token is the gateway's, never a caller's).
NOT_FORWARDED = frozenset({"host", "content-length", "connection", "keep-alive", "proxy-authenticate",
                           "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
                           "x-internal-token"})


class HttpCheckout:
    def __init__(self, http: httpx.AsyncClient, base_url: str, internal_token: str | None):
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.headers = {"X-Internal-Token": internal_token} if internal_token else {}

    async def call(self, method: str, path: str, *, json: Any = None,
                   params: dict[str, str] | None = None) -> tuple[int, Any]:
        try:
            resp = await self.http.request(method, self.base_url + path, json=json, params=params,
                                           headers=self.headers, timeout=httpx.Timeout(60.0, connect=3.0))
        except httpx.HTTPError as exc:
            raise GatewayError(503, "checkout_unavailable", f"checkout did not answer ({type(exc).__name__}); "
                               "if this was a payment it may or may not have gone through: repeat it with the same "
                               "Idempotency-Key (it is never charged twice), or look at the orders before paying "
                               "again", headers={"Retry-After": "2"}) from exc
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code >= 400 and not (resp.status_code == 402 and isinstance(body, dict) and "payment_id" in body):
            err = body.get("error") if isinstance(body, dict) else None
            if isinstance(err, dict):
                details = {k: v for k, v in err.items() if k not in ("code", "message")}
                raise GatewayError(resp.status_code, err.get("code", "checkout_error"), err.get("message", ""),
                                   **details)
            raise GatewayError(502, "checkout_error", f"checkout answered {resp.status_code}: {resp.text[:300]}")
        return resp.status_code, body

    async def forward(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, Any]:
        passed = [(k, v) for k, v in headers.items() if k.lower() not in NOT_FORWARDED]
        try:
            resp = await self.http.post(self.base_url + path, content=body, headers=[*passed, *self.headers.items()],
                                        timeout=httpx.Timeout(30.0, connect=3.0))
        except httpx.HTTPError as exc:
            raise GatewayError(503, "checkout_unavailable", f"checkout did not answer ({type(exc).__name__}); "
                               "deliver again later", headers={"Retry-After": "30"}) from exc
        try:
            answer = resp.json()
        except ValueError:
            answer = None
        return resp.status_code, answer


def path_segment(value: str) -> str:
    return quote(value, safe="")
