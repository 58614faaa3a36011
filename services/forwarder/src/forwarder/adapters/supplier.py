"""The supplier order API (POST {order_api_url}/v1/orders), one implementation over httpx.

Every call carries `Idempotency-Key: dropline-order-<order_id>`: the job may run again after the
supplier accepted the order (crash before our commit), and the key makes the supplier answer with
the order it already created instead of making a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from dropline_infra.http import call
from dropline_infra.jobs import Permanent, Retryable

from ..domain import idempotency_key, orders_endpoint, supplier_order_id


@dataclass(frozen=True)
class PlacedOrder:
    supplier_order_id: str
    status_code: int  # 201 created now, 200 the supplier already had it (idempotent replay)


class SupplierOrders(Protocol):
    async def place(self, *, order_api_url: str, api_key: str, order_id: str, body: dict[str, Any]) -> PlacedOrder:
        """Place the order; raises Retryable (try again later) or Permanent (never will work)."""
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
            # `call` turns network errors and timeouts into Retryable, 408/409/425/429/5xx into Retryable
            # (with Retry-After), any other 4xx into Permanent.
            resp = await call(self.http, "POST", orders_endpoint(order_api_url), self.WHAT,
                              json=body, headers=headers, timeout=self.timeout)
        except (Retryable, Permanent) as exc:
            raise _redacted(exc, api_key) from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise Permanent(f"{self.WHAT}: unusable order_api_url: {exc}") from None
        if resp.status_code not in (200, 201):
            raise Permanent(f"{self.WHAT}: unexpected answer HTTP {resp.status_code}")
        try:
            answer = resp.json()
        except ValueError:
            answer = None
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
    return Permanent(message)
