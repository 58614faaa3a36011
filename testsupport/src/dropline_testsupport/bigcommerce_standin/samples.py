"""Test data for BigCommerce: the documented merged order sample (platforms.md §2.2) and deliveries
signed as BigCommerce signs them (Standard Webhooks, keyed Webhook(base64(client secret)), plus the
hook's custom header secret). Shared by the adapter's tests and the stand-in's tests."""

from __future__ import annotations

import base64
import copy
import json
import time
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

STORE_HASH = "abc123"
TOKEN = "bc_token_test"
CLIENT_SECRET = "bc_client_secret_test"
HEADER_SECRET = "dropline-header-secret"
HEADER_NAME = "X-Dropline-Webhook-Secret"
WEBHOOK_URL = "http://dropline.test/webhooks/bigcommerce"

# platforms.md §2.2 "Minimal example (composed from the spec examples, 3 calls merged)", verbatim.
SAMPLE: dict[str, Any] = {
    "order": {"id": 247, "status_id": 11, "status": "Awaiting Fulfillment", "currency_code": "USD",
              "default_currency_code": "USD", "subtotal_ex_tax": "924.47", "shipping_cost_inc_tax": "8",
              "total_tax": "76.88", "total_inc_tax": "1008.74",
              "billing_address": {"first_name": "Jane", "last_name": "Doe", "email": "janedoe@example.com"}},
    "products": [{"id": 65, "order_id": 247, "product_id": 77, "variant_id": 99, "order_address_id": 51,
                  "sku": "S-ORAN", "name": "Fog Linen Chambray Towel - Beige Stripe", "quantity": 1,
                  "price_inc_tax": "65.2300", "total_inc_tax": "65.2300", "quantity_shipped": 0}],
    "shipping_addresses": [{"id": 51, "order_id": 247, "first_name": "Jane", "last_name": "Doe",
                            "street_1": "555 Main Street", "street_2": "", "city": "Austin", "state": "Texas",
                            "zip": "78751", "country": "United States", "country_iso2": "US",
                            "email": "janedoe@example.com", "phone": "", "shipping_method": "Flat Rate",
                            "cost_inc_tax": "8.0000"}],
}


def sample() -> dict[str, Any]:
    return copy.deepcopy(SAMPLE)


def signed(body: dict[str, Any] | bytes, *, secret: str = CLIENT_SECRET, at: int | None = None,
           header_secret: str | None = HEADER_SECRET, webhook_id: str = "msg_test_1") -> tuple[bytes, dict[str, str]]:
    """A delivery as BigCommerce sends it: Standard Webhooks headers + the hook's custom header."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    at = int(time.time()) if at is None else at
    signature = Webhook(base64.b64encode(secret.encode()).decode()).sign(
        webhook_id, datetime.fromtimestamp(at, UTC), raw.decode())
    headers = {"Content-Type": "application/json", "webhook-id": webhook_id, "webhook-timestamp": str(at),
               "webhook-signature": signature}
    if header_secret is not None:
        headers[HEADER_NAME] = header_secret
    return raw, headers


def callback(scope: str = "store/order/created", order_id: int = 250, **data: Any) -> dict[str, Any]:
    return {"scope": scope, "store_id": "1025646", "data": {"type": "order", "id": order_id, **data},
            "hash": "dd70c0976e06b67aaf671e73f49dcb79230ebf9d", "created_at": 1561479335,
            "producer": f"stores/{STORE_HASH}"}
