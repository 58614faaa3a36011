"""In-memory state of the Shopify stand-in: shops, orders, fulfillment orders and fulfillments.

Model (platforms.md §1.3): every order has fulfillment orders (one per assigned location, created by
Shopify, never by the app); an app fulfils *fulfillment order line items*, not order line items.
The stand-in gives each shop one location, so each order gets exactly one fulfillment order. That
location can belong to a fulfillment service (``Location.fulfillment_service``, the shop's
``fulfillment_service`` setting): its fulfillment orders can then carry a merchant's fulfillment request
(platforms.md §1.3 "Fulfillment-service flow"; ``request_status`` UNSUBMITTED → SUBMITTED → ACCEPTED).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .cost import LeakyBucket
from .orders import DEFAULT_TIMEZONE, IdAllocator, gid
from .webhooks import WebhookDelivery

# FulfillmentOrderStatus values a fulfillment can be created from; the rest (CLOSED, CANCELLED,
# INCOMPLETE, ON_HOLD, SCHEDULED) are not fulfillable.
FULFILLABLE_STATUSES = frozenset({"OPEN", "IN_PROGRESS"})

# Default webhook payload version: what X-Shopify-API-Version says when the shop does not set one.
DEFAULT_API_VERSION = "2025-10"

# REST Admin leaky bucket (platforms.md §1.4): 40 requests, leaking 2 per second (Standard plan).
REST_BUCKET_SIZE = 40
REST_LEAK_PER_SECOND = 2.0


def rest_time(moment: datetime, timezone: str) -> str:
    """A REST timestamp as Shopify writes it: second precision, in the shop's time zone, with its offset
    (``2008-01-10T11:00:00-05:00``)."""
    return moment.astimezone(ZoneInfo(timezone)).replace(microsecond=0).isoformat()


@dataclass
class Location:
    id: int
    name: str
    address1: str = "150 Elgin Street"
    address2: str | None = None
    city: str = "Ottawa"
    province: str = "Ontario"
    zip: str = "K2P 1L4"
    country_code: str = "CA"
    phone: str | None = None
    # The fulfillment service this location belongs to (its name), or None for a merchant-managed location.
    fulfillment_service: str | None = None


@dataclass
class FulfillmentOrderLineItem:
    id: int
    fulfillment_order_id: int
    line_item_id: int
    total_quantity: int
    remaining_quantity: int


@dataclass
class MerchantRequest:
    """FulfillmentOrderMerchantRequest: the merchant's request to the fulfillment service."""

    id: int
    kind: str  # FulfillmentOrderMerchantRequestKind: FULFILLMENT_REQUEST or CANCELLATION_REQUEST
    message: str | None
    sent_at: datetime
    request_options: dict[str, Any] = field(default_factory=dict)
    response_data: dict[str, Any] | None = None  # what the fulfillment service answered (accept message)


# Request statuses from which the merchant can (re)send a fulfillment request.
REQUESTABLE_STATUSES = frozenset({"UNSUBMITTED", "REJECTED"})


@dataclass
class FulfillmentOrder:
    id: int
    order_id: int
    location: Location
    line_items: list[FulfillmentOrderLineItem]
    created_at: datetime
    updated_at: datetime
    status: str = "OPEN"
    request_status: str = "UNSUBMITTED"
    merchant_requests: list[MerchantRequest] = field(default_factory=list)

    def line_item(self, line_item_id: int) -> FulfillmentOrderLineItem | None:
        return next((li for li in self.line_items if li.id == line_item_id), None)

    @property
    def at_fulfillment_service(self) -> bool:
        return self.location.fulfillment_service is not None

    @property
    def can_request_fulfillment(self) -> bool:
        return self.at_fulfillment_service and self.status == "OPEN" and self.request_status in REQUESTABLE_STATUSES

    @property
    def supported_actions(self) -> list[str]:
        if self.status not in FULFILLABLE_STATUSES:
            return []
        actions = ["CREATE_FULFILLMENT", "MOVE", "HOLD"]
        return [*actions, "REQUEST_FULFILLMENT"] if self.can_request_fulfillment else actions


@dataclass
class TrackingInfo:
    company: str | None
    number: str | None
    url: str | None

    def as_json(self) -> dict[str, Any]:
        return {"company": self.company, "number": self.number, "url": self.url}


@dataclass
class FulfillmentLineItem:
    id: int
    line_item_id: int
    quantity: int


@dataclass
class Fulfillment:
    id: int
    order_id: int
    name: str
    location: Location
    created_at: datetime
    updated_at: datetime
    tracking: list[TrackingInfo]
    line_items: list[FulfillmentLineItem]
    fulfillment_order_ids: list[int]
    notify_customer: bool
    message: str | None
    origin_address: dict[str, Any] | None
    status: str = "SUCCESS"
    # Every fulfillmentTrackingInfoUpdate applied: {"at", "previous": [tracking], "tracking": [tracking],
    # "notifyCustomer"} (control API only; Shopify keeps no such list you could read).
    tracking_history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_quantity(self) -> int:
        return sum(li.quantity for li in self.line_items)


@dataclass
class Order:
    id: int
    # The REST order as it stands (shipping address, financial status, cancellation applied); every
    # webhook delivery froze its own bytes when it was triggered, so a redelivery still sends those.
    payload: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    timezone: str = DEFAULT_TIMEZONE
    # The order as it was when created: the body of its orders/create webhook, whenever that is sent.
    created_payload: dict[str, Any] | None = None
    fulfillment_orders: list[FulfillmentOrder] = field(default_factory=list)
    fulfillments: list[Fulfillment] = field(default_factory=list)
    deliveries: list[WebhookDelivery] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.payload["name"])

    def touch(self, now: datetime) -> None:
        """The order changed: ``updated_at`` moves to ``now``, and at least one second past its previous value
        (REST timestamps have second precision, so two changes within a second must still be told apart by
        ``updated_at_min``; the stand-in's clock may run up to a few seconds ahead under bursts of changes)."""
        previous = self.updated_at.replace(microsecond=0)
        self.updated_at = max(now.replace(microsecond=0), previous + timedelta(seconds=1))

    def rest_time(self, moment: datetime) -> str:
        return rest_time(moment, self.timezone)

    @property
    def is_cancelled(self) -> bool:
        return self.payload.get("cancelled_at") is not None

    @property
    def is_closed(self) -> bool:
        return self.payload.get("closed_at") is not None

    def line_item(self, line_item_id: int) -> dict[str, Any]:
        return next(li for li in self.payload["line_items"] if li["id"] == line_item_id)

    def fulfilled_quantity(self, line_item_id: int) -> int:
        return sum(
            fli.quantity for f in self.fulfillments for fli in f.line_items if fli.line_item_id == line_item_id
        )

    @property
    def display_fulfillment_status(self) -> str:
        """OrderDisplayFulfillmentStatus: UNFULFILLED, IN_PROGRESS (nothing fulfilled yet, a fulfillment
        service accepted a request), PARTIALLY_FULFILLED or FULFILLED."""
        total = sum(li.total_quantity for fo in self.fulfillment_orders for li in fo.line_items)
        remaining = sum(li.remaining_quantity for fo in self.fulfillment_orders for li in fo.line_items)
        if remaining == total:
            return "IN_PROGRESS" if any(fo.status == "IN_PROGRESS" for fo in self.fulfillment_orders) else "UNFULFILLED"
        return "FULFILLED" if remaining == 0 else "PARTIALLY_FULFILLED"

    @property
    def rest_fulfillment_status(self) -> str | None:
        """REST ``fulfillment_status``: null / "partial" / "fulfilled" (platforms.md §1.2)."""
        return {"UNFULFILLED": None, "IN_PROGRESS": None, "PARTIALLY_FULFILLED": "partial", "FULFILLED": "fulfilled"}[
            self.display_fulfillment_status
        ]

    def current_rest(self) -> dict[str, Any]:
        """The REST order as it stands now (fulfillment status and REST-shaped fulfillments)."""
        body = copy.deepcopy(self.payload)
        body["fulfillment_status"] = self.rest_fulfillment_status
        body["updated_at"] = self.rest_time(self.updated_at)
        for item in body["line_items"]:
            done = self.fulfilled_quantity(item["id"])
            item["fulfillable_quantity"] = item["quantity"] - done
            item["fulfillment_status"] = (
                None if done == 0 else ("fulfilled" if done >= item["quantity"] else "partial")
            )
        body["fulfillments"] = [
            {
                "id": f.id,
                "admin_graphql_api_id": gid("Fulfillment", f.id),
                "order_id": self.id,
                "name": f.name,
                "status": f.status.lower(),
                "created_at": self.rest_time(f.created_at),
                "updated_at": self.rest_time(f.updated_at),
                "location_id": f.location.id,
                "service": "manual",
                "tracking_company": f.tracking[0].company if f.tracking else None,
                "tracking_number": f.tracking[0].number if f.tracking else None,
                "tracking_numbers": [t.number for t in f.tracking if t.number],
                "tracking_url": f.tracking[0].url if f.tracking else None,
                "tracking_urls": [t.url for t in f.tracking if t.url],
                "line_items": [
                    dict(self.line_item(fli.line_item_id), quantity=fli.quantity) for fli in f.line_items
                ],
            }
            for f in self.fulfillments
        ]
        return body


@dataclass
class Shop:
    domain: str
    access_token: str
    webhook_secret: str
    webhook_url: str | None
    location: Location
    bucket: LeakyBucket
    api_version: str = DEFAULT_API_VERSION
    timezone: str = DEFAULT_TIMEZONE
    currency: str = "USD"
    # HTTP status of a throttled GraphQL response: 200 by default (see README: UNCONFIRMED, platforms.md §1.4).
    throttled_status_code: int = 200
    # Single-query cost ceiling (platforms.md §1.4: 1,000 points, UNCONFIRMED).
    max_query_cost: int = 1000
    orders: dict[int, Order] = field(default_factory=dict)
    next_order_number: int = 1001
    graphql_log: list[dict[str, Any]] = field(default_factory=list)
    # Seconds to hold the HTTP response of each of the next fulfillmentCreate calls (applied first).
    held_mutations: list[float] = field(default_factory=list)
    # REST Admin: its own request bucket (points = requests; "used" = maximum - available).
    rest_bucket: LeakyBucket = field(
        default_factory=lambda: LeakyBucket(maximum_available=REST_BUCKET_SIZE, restore_rate=REST_LEAK_PER_SECOND))
    rest_log: list[dict[str, Any]] = field(default_factory=list)
    # The next N orders/* webhooks are recorded (dropped: true) but not sent: Shopify "lost" them.
    drop_next_webhooks: int = 0

    # Lookups across the shop's orders -------------------------------------------------------------

    def fulfillment_order(self, fo_id: int) -> tuple[Order, FulfillmentOrder] | None:
        for order in self.orders.values():
            for fo in order.fulfillment_orders:
                if fo.id == fo_id:
                    return order, fo
        return None

    def fulfillment(self, fulfillment_id: int) -> tuple[Order, Fulfillment] | None:
        for order in self.orders.values():
            for f in order.fulfillments:
                if f.id == fulfillment_id:
                    return order, f
        return None

    def as_json(self) -> dict[str, Any]:
        """The shop's settings for the control API (secrets included: this is a test double)."""
        return {
            "shop_domain": self.domain,
            "access_token": self.access_token,
            "webhook_secret": self.webhook_secret,
            "webhook_url": self.webhook_url,
            "api_version": self.api_version,
            "timezone": self.timezone,
            "location_id": gid("Location", self.location.id),
            "fulfillment_service": self.location.fulfillment_service,
            "orders": len(self.orders),
            "rate_limit": self.rate_limit_json(),
            "rest_rate_limit": self.rest_rate_limit_json(),
            "drop_next_webhooks": self.drop_next_webhooks,
        }

    def rate_limit_json(self) -> dict[str, Any]:
        return {
            "maximum_available": self.bucket.maximum_available,
            "restore_rate": self.bucket.restore_rate,
            "currently_available": self.bucket.currently_available(),
            "throttled_status_code": self.throttled_status_code,
            "max_query_cost": self.max_query_cost,
        }

    def rest_used(self) -> int:
        """Requests in the REST bucket now (what ``X-Shopify-Shop-Api-Call-Limit`` reports before ``/``)."""
        return math.ceil(self.rest_bucket.maximum_available - self.rest_bucket.currently_available_exact())

    def rest_rate_limit_json(self) -> dict[str, Any]:
        return {
            "bucket_size": int(self.rest_bucket.maximum_available),
            "leak_rate": self.rest_bucket.restore_rate,
            "used": self.rest_used(),
        }


def new_fulfillment_order(order: Order, location: Location, new_id: IdAllocator) -> FulfillmentOrder:
    """The single fulfillment order Shopify would create for an order at the shop's one location."""
    fo_id = new_id()
    return FulfillmentOrder(
        id=fo_id,
        order_id=order.id,
        location=location,
        line_items=[
            FulfillmentOrderLineItem(
                id=new_id(),
                fulfillment_order_id=fo_id,
                line_item_id=item["id"],
                total_quantity=item["quantity"],
                remaining_quantity=item["quantity"],
            )
            for item in order.payload["line_items"]
            if item.get("requires_shipping", True)
        ],
        created_at=order.created_at,
        updated_at=order.created_at,
    )
