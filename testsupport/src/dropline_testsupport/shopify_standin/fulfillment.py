"""Business rules of ``fulfillmentCreate``, ``fulfillmentTrackingInfoUpdate`` and the fulfillment-service
request flow (submit by the merchant, ``fulfillmentOrderAcceptFulfillmentRequest``) (platforms.md §1.3).

Documented rules enforced here:
- ``lineItemsByFulfillmentOrder`` is required; omitting ``fulfillmentOrderLineItems`` fulfils everything
  that remains on that fulfillment order (FulfillmentInput reference).
- All fulfillment orders in one call belong to the same order and the same location (fulfillmentCreate
  reference).
- FulfillmentTrackingInput: don't give both ``number`` and ``numbers``, nor ``url`` and ``urls``; with
  ``url`` give ``number``; with ``urls`` give ``numbers`` (FulfillmentTrackingInput reference).
- A known carrier name in ``company`` makes Shopify build the tracking URL (same reference).
- Errors come back in ``userErrors`` with HTTP 200 and nothing is changed.

The exact wording of Shopify's messages and the ``field`` paths are not documented; the texts below
copy what Shopify's REST API is seen to answer where known ("Invalid fulfillment order line item
quantity requested.", "... has an unfulfillable status= closed.") and are otherwise the stand-in's own.
Match on the presence of ``userErrors``, not on their text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from .models import (
    FULFILLABLE_STATUSES,
    Fulfillment,
    FulfillmentLineItem,
    FulfillmentOrder,
    MerchantRequest,
    Order,
    Shop,
    TrackingInfo,
)
from .orders import gid


@dataclass(frozen=True)
class UserError:
    field: list[str] | None
    message: str


def parse_gid(value: str, kind: str) -> int | None:
    """Numeric id of ``gid://shopify/{kind}/{n}`` (query string allowed), else None."""
    prefix = f"gid://shopify/{kind}/"
    if not isinstance(value, str) or not value.startswith(prefix):
        return None
    tail = value[len(prefix):].split("?", 1)[0]
    return int(tail) if tail.isdigit() else None


# Carriers whose tracking URL Shopify builds from the number when ``company`` is given with this exact
# capitalisation (FulfillmentTrackingInput reference). The URL patterns are the carriers' public tracking
# pages, not Shopify's exact output (UNCONFIRMED).
KNOWN_CARRIER_URLS: dict[str, str] = {
    "UPS": "https://www.ups.com/track?tracknum={number}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "DHL Express": "https://www.dhl.com/en/express/tracking.html?AWB={number}",
    "DHL eCommerce": "https://webtrack.dhlglobalmail.com/?trackingnumber={number}",
    "Canada Post": "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={number}",
    "Royal Mail": "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
}


def tracking_errors(tracking: Mapping[str, Any] | None) -> list[UserError]:
    if not tracking:
        return []
    field = ["fulfillment", "trackingInfo"]
    errors: list[UserError] = []
    if tracking.get("number") is not None and tracking.get("numbers") is not None:
        errors.append(UserError(field, "Tracking number and tracking numbers can't both be provided."))
    if tracking.get("url") is not None and tracking.get("urls") is not None:
        errors.append(UserError(field, "Tracking url and tracking urls can't both be provided."))
    if tracking.get("url") is not None and tracking.get("number") is None:
        errors.append(UserError(field, "Tracking number must be provided when a tracking url is provided."))
    if tracking.get("urls") is not None and tracking.get("numbers") is None:
        errors.append(UserError(field, "Tracking numbers must be provided when tracking urls are provided."))
    return errors


def build_tracking(tracking: Mapping[str, Any] | None) -> list[TrackingInfo]:
    """One FulfillmentTrackingInfo per tracking number; URLs pair up with numbers by position."""
    if not tracking:
        return []
    company = tracking.get("company")
    numbers: list[str] = (
        [tracking["number"]] if tracking.get("number") is not None else list(tracking.get("numbers") or [])
    )
    urls: list[str] = [tracking["url"]] if tracking.get("url") is not None else list(tracking.get("urls") or [])
    if not numbers:
        return [TrackingInfo(company=company, number=None, url=None)] if company else []
    pattern = KNOWN_CARRIER_URLS.get(company or "")
    out: list[TrackingInfo] = []
    for index, number in enumerate(numbers):
        url = urls[index] if index < len(urls) else None
        if url is None and pattern is not None:
            url = pattern.format(number=quote(number, safe=""))
        out.append(TrackingInfo(company=company, number=number, url=url))
    return out


def create_fulfillment(
    shop: Shop,
    fulfillment_input: Mapping[str, Any],
    message: str | None,
    *,
    new_id: Callable[[], int],
    now: datetime,
) -> tuple[Fulfillment | None, list[UserError]]:
    """Validate everything first, then apply; on any user error nothing changes."""
    groups = list(fulfillment_input.get("lineItemsByFulfillmentOrder") or [])
    errors = tracking_errors(fulfillment_input.get("trackingInfo"))
    if not groups:
        errors.append(UserError(["fulfillment", "lineItemsByFulfillmentOrder"],
                                "Line items by fulfillment order can't be blank."))
        return None, errors

    # plan: (order, fulfillment order, {fo line item id: quantity})
    plan: list[tuple[Order, FulfillmentOrder, dict[int, int]]] = []
    seen: set[int] = set()
    for index, group in enumerate(groups):
        path = ["fulfillment", "lineItemsByFulfillmentOrder", str(index)]
        fo_id = parse_gid(group.get("fulfillmentOrderId"), "FulfillmentOrder")
        found = shop.fulfillment_order(fo_id) if fo_id is not None else None
        if found is None:
            errors.append(UserError([*path, "fulfillmentOrderId"], "Fulfillment order does not exist."))
            continue
        order, fo = found
        if fo.id in seen:
            errors.append(UserError([*path, "fulfillmentOrderId"],
                                    f"Fulfillment order {fo.id} is listed more than once."))
            continue
        seen.add(fo.id)
        if fo.status not in FULFILLABLE_STATUSES:
            errors.append(UserError([*path, "fulfillmentOrderId"],
                                    f"Fulfillment order {fo.id} has an unfulfillable status= {fo.status.lower()}."))
            continue
        requested_items = group.get("fulfillmentOrderLineItems")
        quantities: dict[int, int] = {}
        if requested_items is None:  # omitted: everything that remains on this fulfillment order
            quantities = {li.id: li.remaining_quantity for li in fo.line_items if li.remaining_quantity > 0}
            if not quantities:
                errors.append(UserError([*path, "fulfillmentOrderId"],
                                        f"Fulfillment order {fo.id} has no remaining line items to fulfill."))
                continue
        elif not requested_items:
            errors.append(UserError([*path, "fulfillmentOrderLineItems"],
                                    "Fulfillment order line items can't be blank."))
            continue
        else:
            for item_index, item in enumerate(requested_items):
                item_path = [*path, "fulfillmentOrderLineItems", str(item_index)]
                li_id = parse_gid(item.get("id"), "FulfillmentOrderLineItem")
                fo_line = fo.line_item(li_id) if li_id is not None else None
                if fo_line is None:
                    errors.append(UserError([*item_path, "id"],
                                            "Fulfillment order line item does not exist on this fulfillment order."))
                    continue
                quantities[fo_line.id] = quantities.get(fo_line.id, 0) + int(item["quantity"])
            for li_id, quantity in quantities.items():
                fo_line = fo.line_item(li_id)
                assert fo_line is not None
                if quantity < 1 or quantity > fo_line.remaining_quantity:
                    errors.append(UserError([*path, "fulfillmentOrderLineItems"],
                                            "Invalid fulfillment order line item quantity requested."))
        plan.append((order, fo, quantities))

    orders = {order.id for order, _, _ in plan}
    if len(orders) > 1:
        errors.append(UserError(["fulfillment", "lineItemsByFulfillmentOrder"],
                                "All fulfillment orders must belong to the same order."))
    if len({fo.location.id for _, fo, _ in plan}) > 1:
        errors.append(UserError(["fulfillment", "lineItemsByFulfillmentOrder"],
                                "All fulfillment orders must be assigned to the same location."))
    if errors:
        return None, errors

    # apply ---------------------------------------------------------------------------------------
    order = plan[0][0]
    lines: list[FulfillmentLineItem] = []
    for _, fo, quantities in plan:
        for li_id, quantity in quantities.items():
            fo_line = fo.line_item(li_id)
            assert fo_line is not None
            fo_line.remaining_quantity -= quantity
            lines.append(FulfillmentLineItem(id=new_id(), line_item_id=fo_line.line_item_id, quantity=quantity))
        fo.status = "CLOSED" if all(li.remaining_quantity == 0 for li in fo.line_items) else "IN_PROGRESS"
        fo.updated_at = now
    fulfillment = Fulfillment(
        id=new_id(),
        order_id=order.id,
        name=f"{order.name}.{len(order.fulfillments) + 1}",
        location=plan[0][1].location,
        created_at=now,
        updated_at=now,
        tracking=build_tracking(fulfillment_input.get("trackingInfo")),
        line_items=lines,
        fulfillment_order_ids=[fo.id for _, fo, _ in plan],
        notify_customer=bool(fulfillment_input.get("notifyCustomer") or False),
        message=message,
        origin_address=dict(fulfillment_input["originAddress"]) if fulfillment_input.get("originAddress") else None,
    )
    order.fulfillments.append(fulfillment)
    order.touch(now)
    return fulfillment, []


def update_tracking(
    shop: Shop,
    fulfillment_id: str,
    tracking_input: Mapping[str, Any],
    *,
    now: datetime,
    notify_customer: bool | None = None,
) -> tuple[Fulfillment | None, list[UserError]]:
    """``fulfillmentTrackingInfoUpdate``: replace the fulfillment's tracking info (recorded in its
    ``tracking_history``). ``notifyCustomer`` true: the customer is notified of this and later updates."""
    numeric = parse_gid(fulfillment_id, "Fulfillment")
    found = shop.fulfillment(numeric) if numeric is not None else None
    if found is None:
        return None, [UserError(["fulfillmentId"], "Fulfillment does not exist.")]
    errors = [UserError(["trackingInfoInput"], e.message) for e in tracking_errors(tracking_input)]
    if errors:
        return None, errors
    order, fulfillment = found
    previous = [t.as_json() for t in fulfillment.tracking]
    fulfillment.tracking = build_tracking(tracking_input)
    if notify_customer:
        fulfillment.notify_customer = True
    fulfillment.tracking_history.append({"at": now.isoformat(), "previous": previous,
                                         "tracking": [t.as_json() for t in fulfillment.tracking],
                                         "notifyCustomer": bool(notify_customer)})
    fulfillment.updated_at = now
    order.touch(now)
    return fulfillment, []


# --------------------------------------------------------------------------- fulfillment requests
# platforms.md §1.3 "Fulfillment-service flow": the merchant submits a request to the fulfillment service
# a fulfillment order is assigned to; the service accepts it (fulfillmentOrderAcceptFulfillmentRequest):
# request status ACCEPTED, fulfillment order IN_PROGRESS; then fulfillmentCreate with tracking as usual.


class RequestRefused(Exception):
    """The merchant cannot request fulfillment of this fulfillment order (control API answers 409)."""


def submit_fulfillment_request(fo: FulfillmentOrder, message: str | None, *, new_id: Callable[[], int],
                               now: datetime, notify_customer: bool = True) -> MerchantRequest:
    """The merchant presses Request fulfillment (fulfillmentOrderSubmitFulfillmentRequest, whole order)."""
    if not fo.at_fulfillment_service:
        raise RequestRefused(f"fulfillment order {fo.id} is assigned to {fo.location.name!r}, which is not a "
                             "fulfillment service location")
    if fo.status != "OPEN":
        raise RequestRefused(f"fulfillment order {fo.id} is {fo.status}, not OPEN")
    if not fo.can_request_fulfillment:
        raise RequestRefused(f"fulfillment order {fo.id} has request status {fo.request_status}")
    request = MerchantRequest(id=new_id(), kind="FULFILLMENT_REQUEST", message=message, sent_at=now,
                              request_options={"notify_customer": notify_customer})
    fo.merchant_requests.append(request)
    fo.request_status = "SUBMITTED"
    fo.updated_at = now
    return request


def fulfillment_request_submitted_payload(fo: FulfillmentOrder, before: tuple[str, str],
                                          request: MerchantRequest) -> dict[str, Any]:
    """The body of ``fulfillment_orders/fulfillment_request_submitted`` in Shopify's documented shape
    (webhooks reference sample): fulfillment order ids and lower-case statuses, no order id."""
    status, request_status = before
    return {
        "original_fulfillment_order": {"id": gid("FulfillmentOrder", fo.id), "status": status.lower(),
                                       "request_status": request_status.lower()},
        "submitted_fulfillment_order": {"id": gid("FulfillmentOrder", fo.id), "status": fo.status.lower(),
                                        "request_status": fo.request_status.lower()},
        "fulfillment_order_merchant_request": {"id": gid("FulfillmentOrderMerchantRequest", request.id),
                                               "message": request.message},
    }


def accept_fulfillment_request(shop: Shop, fulfillment_order_id: str, message: str | None, *,
                               now: datetime) -> tuple[FulfillmentOrder | None, list[UserError]]:
    """``fulfillmentOrderAcceptFulfillmentRequest``: only a SUBMITTED request can be accepted; on a user
    error nothing changes (the wording is the stand-in's own)."""
    numeric = parse_gid(fulfillment_order_id, "FulfillmentOrder")
    found = shop.fulfillment_order(numeric) if numeric is not None else None
    if found is None:
        return None, [UserError(["id"], "Fulfillment order does not exist.")]
    _order, fo = found
    if not fo.at_fulfillment_service:
        return None, [UserError(["id"], "Fulfillment order is not assigned to a fulfillment service.")]
    if fo.request_status != "SUBMITTED":
        return None, [UserError(["id"], "Cannot accept a fulfillment request for a fulfillment order with request "
                                        f"status {fo.request_status.lower()}.")]
    fo.request_status = "ACCEPTED"
    fo.status = "IN_PROGRESS"
    fo.updated_at = now
    pending = next((r for r in reversed(fo.merchant_requests) if r.kind == "FULFILLMENT_REQUEST"), None)
    if pending is not None:
        pending.response_data = {"accepted_at": now.isoformat(), "message": message}
    return fo, []


def fulfillment_json(order: Order, fulfillment: Fulfillment) -> dict[str, Any]:
    """Control-API view of a fulfillment (GraphQL field names, for assertions)."""
    return {
        "id": gid("Fulfillment", fulfillment.id),
        "name": fulfillment.name,
        "status": fulfillment.status,
        "createdAt": fulfillment.created_at.isoformat(),
        "trackingInfo": [t.as_json() for t in fulfillment.tracking],
        # The fulfillment's current (first) tracking number, and every tracking update applied to it.
        "trackingNumber": next((t.number for t in fulfillment.tracking if t.number), None),
        "trackingHistory": [dict(h) for h in fulfillment.tracking_history],
        "notifyCustomer": fulfillment.notify_customer,
        "message": fulfillment.message,
        "originAddress": fulfillment.origin_address,
        "fulfillmentOrderIds": [gid("FulfillmentOrder", i) for i in fulfillment.fulfillment_order_ids],
        "fulfillmentLineItems": [
            {
                "id": gid("FulfillmentLineItem", li.id),
                "quantity": li.quantity,
                "lineItem": {
                    "id": gid("LineItem", li.line_item_id),
                    "sku": order.line_item(li.line_item_id).get("sku"),
                },
            }
            for li in fulfillment.line_items
        ],
    }


def fulfillment_order_json(order: Order, fo: FulfillmentOrder) -> dict[str, Any]:
    return {
        "id": gid("FulfillmentOrder", fo.id),
        "orderId": gid("Order", order.id),
        "status": fo.status,
        "requestStatus": fo.request_status,
        "assignedLocation": {"location": {"id": gid("Location", fo.location.id)}, "name": fo.location.name,
                             "fulfillmentService": fo.location.fulfillment_service},
        "merchantRequests": [
            {"id": gid("FulfillmentOrderMerchantRequest", r.id), "kind": r.kind, "message": r.message,
             "sentAt": r.sent_at.isoformat(), "requestOptions": r.request_options, "responseData": r.response_data}
            for r in fo.merchant_requests
        ],
        "supportedActions": fo.supported_actions,
        "lineItems": [
            {
                "id": gid("FulfillmentOrderLineItem", li.id),
                "totalQuantity": li.total_quantity,
                "remainingQuantity": li.remaining_quantity,
                "lineItem": {"id": gid("LineItem", li.line_item_id), "sku": order.line_item(li.line_item_id).get("sku")},
            }
            for li in fo.line_items
        ],
    }
