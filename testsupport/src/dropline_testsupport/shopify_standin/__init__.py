"""Shopify stand-in: multi-shop signed orders/* webhooks (create, updated, paid, cancelled), Admin GraphQL
fulfilment write-back, and the REST Admin order endpoints (``orders/{id}.json``, ``orders.json``) with their
own leaky bucket, for reconciliation; and the fulfillment-service "Request fulfillment" flow (a merchant's
request, its signed ``fulfillment_orders/fulfillment_request_submitted`` webhook, and
``fulfillmentOrderAcceptFulfillmentRequest``).

Follows /work/shared/spec/platforms.md §1; the REST endpoints and their parameters are described in
``rest.py``, the control endpoints for order changes, dropped webhooks and fulfillment requests in ``app.py``. Run it with
``python -m dropline_testsupport.shopify_standin --host 127.0.0.1 --port 8101`` or build it in-process
with :func:`create_app`.
"""

from .app import ShopConfig, ShopifyStandin, create_app
from .cost import LeakyBucket, QueryCost
from .orders import IdAllocator, OrderSpec, build_order_payload, gid
from .webhooks import sign_webhook

__all__ = [
    "IdAllocator",
    "LeakyBucket",
    "OrderSpec",
    "QueryCost",
    "ShopConfig",
    "ShopifyStandin",
    "build_order_payload",
    "create_app",
    "gid",
    "sign_webhook",
]
