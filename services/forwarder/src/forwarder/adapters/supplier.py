"""The supplier order API (POST {order_api_url}/v1/orders), one implementation over httpx.

Every call carries `Idempotency-Key: dropline-order-<order_id>`: the job may run again after the
supplier accepted the order (crash before our commit), and the key makes the supplier answer with
the order it already created instead of making a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from dropline_infra.http import classify
from dropline_infra.jobs import Permanent, Retryable

from ..domain import idempotency_key, is_refusal, orders_endpoint, refusal_reason, supplier_order_id


class SupplierRefused(Permanent):
    """The supplier will not take this order (a 4xx about the order itself, see domain.is_refusal)."""


@dataclass(frozen=True)
class PlacedOrder:
    supplier_order_id: str
    status_code: int  # 201 created now, 200 the supplier already had it (idempotent replay)


class SupplierOrders(Protocol):
    async def place(self, *, order_api_url: str, api_key: str, order_id: str, body: dict[str, Any]) -> PlacedOrder:
        """Place the order; raises Retryable (try again later), SupplierRefused (the supplier said no to
        the order) or Permanent (the request can never work as configured)."""
        ...


class HttpSupplierOrders:
    WHAT = "supplier order API"

    def __init__(self, http: httpx.AsyncClient, *, timeout: float = 20.0):
        self.http = http
        self.timeout = timeout

    async def place(self, *, order_api_url: str, api_key: str, order_id: str, body: dict[str, Any]) -> PlacedOrder:
        headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": idempotency_key(order_id),
                   "Accept": "application/json"}
        try:
            resp = await self.http.request("POST", orders_endpoint(order_api_url), json=body, headers=headers,
                                           timeout=self.timeout)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise Retryable(f"{self.WHAT}: {type(exc).__name__}: {exc}") from None  # outcome unknown: retry
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise Permanent(f"{self.WHAT}: unusable order_api_url: {exc}") from None
        try:
            answer = resp.json()
        except ValueError:
            answer = None
        if is_refusal(resp.status_code, answer):
            raise _redacted(SupplierRefused(refusal_reason(resp.status_code, answer, resp.text)), api_key)
        try:
            # 408/409/425/429/5xx → Retryable (with Retry-After); the other 4xx (key, URL, protocol) → Permanent.
            classify(resp, self.WHAT)
        except (Retryable, Permanent) as exc:
            raise _redacted(exc, api_key) from None
        if resp.status_code not in (200, 201):
            raise Permanent(f"{self.WHAT}: unexpected answer HTTP {resp.status_code}")
        reference = supplier_order_id(answer)
        if reference is None:
            # The supplier took the order but we cannot read its reference: an operator must look.
            raise Permanent(f"{self.WHAT}: HTTP {resp.status_code} accepted the order but returned no order id")
        return PlacedOrder(supplier_order_id=reference, status_code=resp.status_code)


def _redacted(exc: Retryable | Permanent, api_key: str) -> Exception:
    """The same error, minus the API key in case the supplier echoed it back in its error body."""
    message = str(exc).replace(api_key, "***") if api_key else str(exc)
    if isinstance(exc, Retryable):
        return Retryable(message, retry_after=exc.retry_after)
    return type(exc)(message)
