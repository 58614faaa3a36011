"""State of the BigCommerce stand-in: stores, their v2 orders (order + products + shipping addresses +
shipments, in BigCommerce's own JSON), registered hooks and the webhooks they produced."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

from ..standin_kit import FixedWindow, Outbox, OutgoingWebhook

API_HOST = "https://api.bigcommerce.com"

# reference/orders.v2.oas2.yml /order_statuses
STATUSES = {
    0: "Incomplete", 1: "Pending", 2: "Shipped", 3: "Partially Shipped", 4: "Refunded", 5: "Cancelled",
    6: "Declined", 7: "Awaiting Payment", 8: "Awaiting Pickup", 9: "Awaiting Shipment", 10: "Completed",
    11: "Awaiting Fulfillment", 12: "Manual Verification Required", 13: "Disputed", 14: "Partially Refunded",
}
# shipping_provider_standard enum (+ carrier_{id}, see is_shipping_provider)
SHIPPING_PROVIDERS = frozenset({"auspost", "canadapost", "endicia", "usps", "fedex", "ups", "upsready", "upsonline",
                                "shipperhq", "royalmail", ""})
WEBHOOK_SUCCESS = frozenset(range(200, 300))  # "the 200 range" (overview.mdx "Handling callbacks")


def is_shipping_provider(value: str) -> bool:
    return value in SHIPPING_PROVIDERS or (value.startswith("carrier_") and len(value) > len("carrier_"))


def rfc2822(moment: datetime) -> str:
    """v2's date format: 'Tue, 05 Mar 2019 21:40:11 +0000'."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0)).replace("-0000", "+0000")


def parse_date_param(value: str) -> datetime:
    """A v2 date filter: RFC 2822 or ISO 8601 (orders.v2 `min_date_modified`); ValueError otherwise."""
    value = value.strip()
    if "," in value:
        parsed = parsedate_to_datetime(value)
    else:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def payload_hash(data: Any) -> str:
    """`hash`: "the SHA-1 hash of the JSON-encoded payload data" (events/index.mdx). The exact JSON
    encoding BigCommerce hashes is not documented; compact separators here."""
    return hashlib.sha1(json.dumps(data, separators=(",", ":")).encode()).hexdigest()


def sign(client_secret: str, webhook_id: str, sent_at: int, body: bytes) -> str:
    """`webhook-signature` as the Standard Webhooks library checks it, keyed as BigCommerce's sample
    keys it: Webhook(base64(client_secret))."""
    wh = Webhook(base64.b64encode(client_secret.encode()).decode())
    return wh.sign(webhook_id, datetime.fromtimestamp(sent_at, UTC), body.decode("utf-8"))


@dataclass
class Hook:
    id: int
    client_id: str
    store_hash: str
    scope: str
    destination: str
    is_active: bool
    headers: dict[str, str] | None
    created_at: int
    updated_at: int

    def matches(self, scope: str) -> bool:
        if not self.is_active:
            return False
        if self.scope.endswith("/*"):
            return scope.startswith(self.scope[:-1])
        return self.scope == scope

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "client_id": self.client_id, "store_hash": self.store_hash, "scope": self.scope,
                "destination": self.destination, "is_active": self.is_active, "headers": self.headers,
                "created_at": self.created_at, "updated_at": self.updated_at}


@dataclass
class OrderRecord:
    order: dict[str, Any]
    products: list[dict[str, Any]]
    shipping_addresses: list[dict[str, Any]]
    shipments: list[dict[str, Any]] = field(default_factory=list)
    # Every tracking change a PUT of a shipment made: {"at", "shipment_id", "previous", "tracking_number",
    # "shipping_provider", "tracking_carrier", "tracking_link"} (control API only).
    tracking_changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> int:
        return int(self.order["id"])


@dataclass
class Delivery:
    """One webhook sent to one hook (the Outbox's OutgoingWebhook, plus what it was for)."""

    webhook: OutgoingWebhook
    hook_id: int
    scope: str
    order_id: int | None

    def as_json(self) -> dict[str, Any]:
        return {**self.webhook.as_json(), "hook_id": self.hook_id, "scope": self.scope, "order_id": self.order_id,
                "delivered": any(a.status_code in WEBHOOK_SUCCESS for a in self.webhook.attempts)}


@dataclass
class Store:
    store_hash: str
    store_id: str
    access_token: str
    client_id: str
    client_secret: str
    window: FixedWindow
    strict_destinations: bool = False
    orders: dict[int, OrderRecord] = field(default_factory=dict)
    hooks: dict[int, Hook] = field(default_factory=dict)
    outbox: Outbox = field(default_factory=lambda: Outbox(success_codes=WEBHOOK_SUCCESS))
    deliveries: list[Delivery] = field(default_factory=list)
    forced_status: int | None = None
    forced_until: float = 0.0
    next_shipment_id: int = 1
    api_log: list[dict[str, Any]] = field(default_factory=list)

    def forced(self) -> int | None:
        if self.forced_status is not None and time.monotonic() < self.forced_until:
            return self.forced_status
        return None

    def new_webhook(self, hook: Hook, scope: str, data: dict[str, Any], now: datetime) -> OutgoingWebhook:
        payload = {"scope": scope, "store_id": self.store_id, "data": data, "hash": payload_hash(data),
                   "created_at": int(now.timestamp()), "producer": f"stores/{self.store_hash}"}
        body = json.dumps(payload, separators=(",", ":")).encode()
        webhook_id = f"msg_{uuid.uuid4().hex}"
        sent_at = int(time.time())
        headers = {"Content-Type": "application/json", **(hook.headers or {}),
                   "webhook-id": webhook_id, "webhook-timestamp": str(sent_at),
                   "webhook-signature": sign(self.client_secret, webhook_id, sent_at, body)}
        return OutgoingWebhook(event=scope, url=hook.destination, body=body, headers=headers)

    def resign(self, webhook: OutgoingWebhook) -> None:
        """A retry: same webhook-id and body, fresh timestamp and signature."""
        sent_at = int(time.time())
        webhook.headers["webhook-timestamp"] = str(sent_at)
        webhook.headers["webhook-signature"] = sign(self.client_secret, webhook.headers["webhook-id"], sent_at,
                                                    webhook.body)

    def as_json(self) -> dict[str, Any]:
        return {"store_hash": self.store_hash, "store_id": self.store_id, "client_id": self.client_id,
                "api_base_url_path": f"/stores/{self.store_hash}", "orders": sorted(self.orders),
                "hooks": [h.as_json() for h in self.hooks.values()],
                "rate_limit": {"quota": self.window.quota, "window_seconds": self.window.window_seconds},
                "drop_next_webhooks": self.outbox.drop_next,
                "forced_failure": ({"status": self.forced_status,
                                    "seconds_left": round(self.forced_until - time.monotonic(), 3)}
                                   if self.forced() is not None else None)}
