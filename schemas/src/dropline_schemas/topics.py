"""Kafka topic names, one per event type (a few carry a family of them), dotted and versioned.

Keys: every order event is keyed by the Dropline order id, so one order's events stay
in order within a topic partition. Catalog events are keyed by the entity id. Which events
each topic carries is `dropline_schemas.events.TOPIC_EVENTS`; docs/topics.md is generated
from both (`make specs`).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int = 6
    description: str = ""
    key: str = "Dropline order id"  # what the record key is


STORE_WEBHOOK_RECEIVED = Topic("dropline.store-webhook-received.v1", description="Verified store webhook deliveries (gateway → order-ingest), keyed by store connection id and store order id (store connection id alone for a delivery about no order).", key="store connection id:platform order id (store connection id for a delivery about no order)")
ORDER_RECEIVED = Topic("dropline.order-received.v1", description="One per Dropline order (one store order × one supplier).")
ORDER_PAID = Topic("dropline.order-paid.v1", description="Payment captured for an order.")
ORDER_PAYMENT_FAILED = Topic("dropline.order-payment-failed.v1", description="A checkout attempt that did not capture money.")
ORDER_PRICED = Topic("dropline.order-priced.v1", description="What a new order costs in the supplier's currency (or why it cannot be priced).")
ORDER_PAYMENT_STARTED = Topic("dropline.order-payment-started.v1", description="A checkout claimed the order (payment_pending), with its supplier-currency and USD amounts.")
ORDER_FORWARDED = Topic("dropline.order-forwarded.v1", description="Order accepted by the supplier's order API.")
ORDER_FORWARDING_FAILED = Topic("dropline.order-forwarding-failed.v1", description="The order will not reach its supplier: the supplier rejected it (rejected_by_supplier; forwarder or gateway's supplier API) or Dropline could not forward it.")
ORDER_REFUNDED = Topic("dropline.order-refunded.v1", description="An order's share of a payment refunded through its provider after the supplier rejected it (checkout → gateway).")
TRACKING_ADDED = Topic("dropline.tracking-added.v1", description="A tracking number for an order (supplier or retailer).")
TRACKING_CORRECTED = Topic("dropline.tracking-corrected.v1", description="A wrong tracking number replaced by an explicit correction, with who and why (gateway → tracking-sync, gateway's projection).")
ORDER_SYNCED = Topic("dropline.order-synced.v1", description="Fulfilment + tracking written back to the store.")
ORDER_SYNC_FAILED = Topic("dropline.order-sync-failed.v1", description="Write-back failed for good; an operator must look.")
ORDER_ALERT = Topic("dropline.order-alert.v1", description="Late-shipment alerts: an order flagged late (no tracking after the supplier's handling days) or not synced (write-back failing past a threshold), and cleared again (tracking-sync → gateway).")
STORE_ORDER_CHANGED = Topic("dropline.store-order-changed.v1", description="A store order already ingested changed in the store (address, customer, cancelled): one per Dropline order (order-ingest → checkout).")
ORDER_AMENDED = Topic("dropline.order-amended.v1", description="checkout applied a store order change to an order not yet claimed for payment, or kept the order frozen and says why.")
FULFILMENT_REQUEST = Topic("dropline.fulfilment-request.v1", description="A store's fulfilment request (Shopify \"Request fulfillment\") accepted by Dropline, or why not: one per Dropline order (tracking-sync → gateway).")
STORE_HEALTH = Topic("dropline.store-health.v1", partitions=3, description="How each store's intake goes: reconciliation runs, orders that could not be fetched (order-ingest → gateway), keyed by store connection id.", key="store connection id")
CATALOG = Topic("dropline.catalog.v1", partitions=3, description="Store connections, suppliers, listings (gateway-owned master data).", key="the entity's id (store connection, supplier or listing)")
DEAD_LETTER = Topic("dropline.dead-letter.v1", partitions=1, description="Messages a consumer could not process, with the reason.", key="the consumer (service.handler)")

ALL_TOPICS: tuple[Topic, ...] = (
    STORE_WEBHOOK_RECEIVED, ORDER_RECEIVED, ORDER_PRICED, ORDER_PAYMENT_STARTED, ORDER_PAID, ORDER_PAYMENT_FAILED,
    ORDER_FORWARDED, ORDER_FORWARDING_FAILED, TRACKING_ADDED, TRACKING_CORRECTED, ORDER_SYNCED, ORDER_SYNC_FAILED, STORE_ORDER_CHANGED,
    ORDER_AMENDED, FULFILMENT_REQUEST, ORDER_REFUNDED, ORDER_ALERT, STORE_HEALTH, CATALOG, DEAD_LETTER,
)
