"""Shopify "Request fulfillment": Dropline is the fulfilment service of the store's fulfillment orders
(platforms.md §1.3, "Fulfillment-service flow").

The merchant presses Request fulfillment; Shopify sends ``fulfillment_orders/fulfillment_request_submitted``.
Shopify's documented sample of that delivery is ids and statuses only, no order id::

    {"original_fulfillment_order": {"id": "gid://shopify/FulfillmentOrder/1", "status": "open",
                                    "request_status": "unsubmitted"},
     "submitted_fulfillment_order": {"id": "gid://shopify/FulfillmentOrder/1", "status": "open",
                                     "request_status": "unsubmitted"},
     "fulfillment_order_merchant_request": {"id": "gid://shopify/FulfillmentOrderMerchantRequest/1",
                                            "message": "Fragile"}}

so the order is read from the fulfillment order itself (``fulfillmentOrder(id:) { order { id } }``).
``submitted_fulfillment_order`` is the one sent to us (it differs from the original for partial requests).

Accepting (``fulfillmentOrderAcceptFulfillmentRequest(id:, message:)``, scope
``write_assigned_fulfillment_orders``) moves the request to ACCEPTED and the fulfillment order to
IN_PROGRESS; the store then shows the order In progress. Look before writing: an ACCEPTED request is
reported, not accepted again (a rerun after a crash past the mutation). Calls go through
``ShopifyFulfilments._graphql`` (cost budget, throttling, HTTP and GraphQL errors, userErrors at HTTP 200).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from dropline_infra.jobs import Permanent
from dropline_infra.observability import get_logger

from ..port import (
    AcceptedRequest,
    FulfilmentRequestRef,
    FulfilmentRequestState,
    InvalidStoreOrder,
    StoreAccess,
)
from .fulfil import MUTATION_COST

log = get_logger(__name__)

FULFILLMENT_ORDER_REQUEST_QUERY = """
query DroplineFulfilmentRequest($id: ID!) {
  fulfillmentOrder(id: $id) {
    id status requestStatus order { id }
    lineItems(first: 50) { nodes { lineItem { id } } }
  }
}
""".strip()

ACCEPT_FULFILLMENT_REQUEST_MUTATION = """
mutation DroplineAcceptFulfillmentRequest($id: ID!, $message: String) {
  fulfillmentOrderAcceptFulfillmentRequest(id: $id, message: $message) {
    fulfillmentOrder { id status requestStatus }
    userErrors { field message }
  }
}
""".strip()

# Requested cost: the fulfillment order and its order (1 each) and the line-item connection (2 + 50 × 2 for
# each node and its line item) = 104; actually charged is what comes back (≈ 10 for a few lines). Learned
# from the answer after the first call. A fulfillment order of more than 50 line items is read in part:
# the lines past 50 are not checked against Dropline's orders (tracking-sync's accept_fulfilment_request).
QUERY_COST = 104.0

# What Dropline tells the merchant when it accepts (shown with the request in the Shopify admin).
ACCEPT_MESSAGE = "Accepted by Dropline: the order is placed with the supplier once it is paid in Dropline."

GraphQL = Callable[..., Awaitable[dict[str, Any]]]


def fulfillment_order_gid(value: str) -> str:
    return value if value.startswith("gid://") else f"gid://shopify/FulfillmentOrder/{value}"


def numeric_id(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text.rsplit("/", 1)[-1].split("?", 1)[0] if text.startswith("gid://") else text


def request_of(body: Mapping[str, Any]) -> FulfilmentRequestRef:
    """The request a ``fulfillment_orders/fulfillment_request_submitted`` delivery carries."""
    submitted = body.get("submitted_fulfillment_order")
    original = body.get("original_fulfillment_order")
    fo = next((x for x in (submitted, original) if isinstance(x, Mapping) and x.get("id")), None)
    if fo is None:
        raise InvalidStoreOrder("fulfilment request: no submitted_fulfillment_order.id (nor original_fulfillment_order.id)")
    merchant_request = body.get("fulfillment_order_merchant_request")
    merchant_request = merchant_request if isinstance(merchant_request, Mapping) else {}
    message = merchant_request.get("message")
    order_id = numeric_id(fo.get("order_id"))  # not in Shopify's sample; used if a version sends it
    return FulfilmentRequestRef(
        platform_fulfillment_order_id=fulfillment_order_gid(str(fo["id"])),
        message=str(message) if message not in (None, "") else None,
        platform_request_id=str(merchant_request["id"]) if merchant_request.get("id") else None,
        platform_order_id=order_id)


class ShopifyFulfilmentRequests:
    def __init__(self, graphql: GraphQL):
        self._graphql = graphql  # ShopifyFulfilments._graphql: (store, token, query, variables, *, what, cost)
        self.query_cost = QUERY_COST

    async def state(self, store: StoreAccess, platform_fulfillment_order_id: str) -> FulfilmentRequestState:
        token = _token(store)
        fo_id = fulfillment_order_gid(platform_fulfillment_order_id)
        body = await self._graphql(store, token, FULFILLMENT_ORDER_REQUEST_QUERY, {"id": fo_id},
                                   what="read fulfillment order", cost=self.query_cost)
        requested = ((body.get("extensions") or {}).get("cost") or {}).get("requestedQueryCost")
        if requested:
            self.query_cost = float(requested)
        fo = (body.get("data") or {}).get("fulfillmentOrder")
        if fo is None:
            raise Permanent(f"fulfillment order {fo_id} not found in {store.shop}")
        order_id = numeric_id((fo.get("order") or {}).get("id"))
        if not order_id:
            raise Permanent(f"fulfillment order {fo_id} in {store.shop} names no order")
        nodes = ((fo.get("lineItems") or {}).get("nodes")) or []
        line_ids = tuple(i for i in (numeric_id((n.get("lineItem") or {}).get("id")) for n in nodes
                                     if isinstance(n, Mapping)) if i)
        return FulfilmentRequestState(platform_fulfillment_order_id=fo["id"], platform_order_id=order_id,
                                      request_status=str(fo.get("requestStatus")), status=str(fo.get("status")),
                                      platform_line_ids=line_ids)

    async def accept(self, store: StoreAccess, request: FulfilmentRequestRef,
                     message: str | None = ACCEPT_MESSAGE) -> AcceptedRequest:
        now = await self.state(store, request.platform_fulfillment_order_id)
        if now.request_status == "ACCEPTED":
            log.info("fulfilment request already accepted; nothing written",
                     platform_fulfillment_order_id=now.platform_fulfillment_order_id)
            return AcceptedRequest(platform_fulfillment_order_id=now.platform_fulfillment_order_id,
                                   platform_order_id=now.platform_order_id, request_status=now.request_status,
                                   status=now.status, already_accepted=True)
        if now.request_status != "SUBMITTED":
            raise Permanent(f"fulfillment order {now.platform_fulfillment_order_id} has no submitted request to "
                            f"accept (request status {now.request_status}, status {now.status})")
        variables: dict[str, Any] = {"id": now.platform_fulfillment_order_id}
        if message:
            variables["message"] = message
        answer = await self._graphql(store, _token(store), ACCEPT_FULFILLMENT_REQUEST_MUTATION, variables,
                                     what="fulfillmentOrderAcceptFulfillmentRequest", cost=MUTATION_COST)
        result = (answer.get("data") or {}).get("fulfillmentOrderAcceptFulfillmentRequest") or {}
        user_errors = result.get("userErrors") or []
        if user_errors:
            messages = "; ".join(f"{'.'.join(e.get('field') or []) or '-'}: {e.get('message')}" for e in user_errors)
            raise Permanent(f"Shopify refused fulfillmentOrderAcceptFulfillmentRequest: {messages}")
        fo = result.get("fulfillmentOrder") or {}
        if not fo.get("id"):
            raise Permanent("Shopify fulfillmentOrderAcceptFulfillmentRequest answered without a fulfillment "
                            "order or userErrors")
        log.info("fulfilment request accepted", platform_fulfillment_order_id=fo["id"],
                 request_status=fo.get("requestStatus"), status=fo.get("status"))
        return AcceptedRequest(platform_fulfillment_order_id=fo["id"], platform_order_id=now.platform_order_id,
                               request_status=str(fo.get("requestStatus")), status=str(fo.get("status")))


def _token(store: StoreAccess) -> str:
    token = store.credentials.get("access_token")
    if not token:
        raise Permanent(f"store {store.store_id}: credentials have no access_token")
    return str(token)
