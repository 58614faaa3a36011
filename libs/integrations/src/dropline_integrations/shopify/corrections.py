"""Shopify: correcting the tracking number of a fulfillment Dropline created (platforms.md §1.3 "Later
tracking changes").

For each fulfillment `fulfil` returned (one per location, joined with ","):
1. read it: ``fulfillment(id:) { id status order { id } trackingInfo(first: 5) { company number url } }``
   (its requested cost is learned from the first answer and paid through the shop's cost budget, as
   every call of ``ShopifyFulfilments._graphql``);
2. look before writing: a fulfillment that shows the new number already was corrected before (we
   crashed after the mutation, before our commit) -> nothing is written;
3. otherwise ``fulfillmentTrackingInfoUpdate(fulfillmentId:, trackingInfoInput:, notifyCustomer:)`` —
   the current name in the package's API version (2025-10 reference; ``fulfillmentTrackingInfoUpdateV2``
   is marked deprecated there, and already in the 2023-01 reference, so it is not used). It replaces the fulfillment's tracking info as a whole, so
   a fulfillment carrying several numbers gets all of them back with only the wrong one replaced.

Errors: ``fulfillment`` null (deleted, or not in this shop) -> Permanent; a cancelled/failed fulfillment
-> Permanent (there is nothing to correct on it); ``userErrors`` at HTTP 200 -> Permanent; throttling,
5xx, timeouts -> Retryable, as in fulfil (``_graphql``).

UNCONFIRMED: the exact ``userErrors`` Shopify returns for an unknown or cancelled fulfillment id (the
stand-in answers "Fulfillment does not exist."); whether ``notifyCustomer: true`` re-sends the shipping
confirmation for a correction or only a "shipping update" email (docs: "customers receive shipping
update emails with tracking details").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from dropline_infra.jobs import Permanent
from dropline_infra.observability import get_logger

from ..carriers import shopify_company
from ..carriers import tracking_url as carrier_tracking_url
from ..port import CorrectionResult, StoreAccess, Tracking, TrackingCorrection, same_tracking_number
from .fulfil import DEAD_FULFILLMENT_STATUSES, MUTATION_COST, TRACKING_PAGE
from .requests import numeric_id

log = get_logger(__name__)

FULFILLMENT_TRACKING_QUERY = f"""
query DroplineFulfillmentTracking($id: ID!) {{
  fulfillment(id: $id) {{
    id
    status
    order {{ id }}
    trackingInfo(first: {TRACKING_PAGE}) {{ company number url }}
  }}
}}
""".strip()

TRACKING_INFO_UPDATE_MUTATION = f"""
mutation DroplineFulfillmentTrackingInfoUpdate($fulfillmentId: ID!, $trackingInfoInput: FulfillmentTrackingInput!,
                                               $notifyCustomer: Boolean) {{
  fulfillmentTrackingInfoUpdate(fulfillmentId: $fulfillmentId, trackingInfoInput: $trackingInfoInput,
                                notifyCustomer: $notifyCustomer) {{
    fulfillment {{ id status trackingInfo(first: {TRACKING_PAGE}) {{ company number url }} }}
    userErrors {{ field message }}
  }}
}}
""".strip()

QUERY_COST = 3.0  # fulfillment + order + tracking objects; learned from the answer after the first call

GraphQL = Callable[..., Awaitable[dict[str, Any]]]


def fulfillment_gid(value: str) -> str:
    value = value.strip()
    return value if value.startswith("gid://") else f"gid://shopify/Fulfillment/{value}"


def fulfillment_ids(platform_fulfillment_id: str) -> list[str]:
    """`fulfil` joins the ids of the fulfillments it made (one per location) with ","."""
    ids = [fulfillment_gid(part) for part in platform_fulfillment_id.split(",") if part.strip()]
    if not ids:
        raise Permanent("tracking correction without a fulfillment id")
    return ids


def tracking_input(current: list[Mapping[str, Any]], previous: Tracking, tracking: Tracking) -> dict[str, Any]:
    """``FulfillmentTrackingInput`` for the corrected fulfillment.

    One number (the usual case: Dropline writes one per fulfillment): ``number`` / ``company`` / ``url``
    as fulfil sends them. Several numbers: all of them as ``numbers`` with the previous one replaced
    (``urls`` only when every number has one — they pair up by position)."""
    company = shopify_company(tracking.company)
    url = tracking.url or carrier_tracking_url(tracking.company, tracking.number)
    numbers = [t for t in current if t.get("number")]
    if len(numbers) <= 1:
        single: dict[str, Any] = {"number": tracking.number}
        if company:
            single["company"] = company
        if url:
            single["url"] = url
        return single
    if not any(same_tracking_number(t.get("number"), previous.number) for t in numbers):
        shown = ", ".join(str(t.get("number")) for t in numbers)
        raise Permanent(f"the fulfillment carries the numbers {shown}, none of them {previous.number}: "
                        "not guessing which one to replace")
    replaced = [(tracking.number, url) if same_tracking_number(t.get("number"), previous.number)
                else (str(t["number"]), t.get("url")) for t in numbers]
    several: dict[str, Any] = {"numbers": [n for n, _ in replaced]}
    if all(u for _, u in replaced):
        several["urls"] = [u for _, u in replaced]
    chosen = company or next((t.get("company") for t in numbers if t.get("company")), None)
    if chosen:
        several["company"] = chosen
    return several


class ShopifyTrackingCorrections:
    def __init__(self, graphql: GraphQL):
        self._graphql = graphql  # ShopifyFulfilments._graphql: (store, token, query, variables, *, what, cost)
        self.query_cost = QUERY_COST

    async def correct(self, store: StoreAccess, correction: TrackingCorrection) -> CorrectionResult:
        token = store.credentials.get("access_token")
        if not token:
            raise Permanent(f"store {store.store_id}: credentials have no access_token")
        number = correction.tracking.number.strip()
        if not number:
            raise Permanent("a tracking correction needs the new number")
        new = Tracking(number=number, company=correction.tracking.company, url=correction.tracking.url)
        written = 0
        for fulfillment_id in fulfillment_ids(correction.platform_fulfillment_id):
            if await self._correct_one(store, str(token), fulfillment_id, correction, new):
                written += 1
        if not written:
            log.info("corrected tracking already in the store; nothing written",
                     platform_fulfillment_id=correction.platform_fulfillment_id)
        return CorrectionResult(platform_fulfillment_id=correction.platform_fulfillment_id,
                                already_present=written == 0)

    async def _correct_one(self, store: StoreAccess, token: str, fulfillment_id: str,
                           correction: TrackingCorrection, new: Tracking) -> bool:
        """True when the mutation was sent, False when the fulfillment showed the new number already."""
        body = await self._graphql(store, token, FULFILLMENT_TRACKING_QUERY, {"id": fulfillment_id},
                                   what="read fulfillment", cost=self.query_cost)
        requested = ((body.get("extensions") or {}).get("cost") or {}).get("requestedQueryCost")
        if requested:
            self.query_cost = float(requested)
        fulfillment = (body.get("data") or {}).get("fulfillment")
        if fulfillment is None:
            raise Permanent(f"fulfillment {fulfillment_id} is gone from {store.shop} (deleted, or never in "
                            "this shop): its tracking cannot be corrected")
        order_id = numeric_id((fulfillment.get("order") or {}).get("id"))
        if order_id and numeric_id(correction.platform_order_id) != order_id:
            raise Permanent(f"fulfillment {fulfillment_id} belongs to order {order_id}, not "
                            f"{correction.platform_order_id}")
        if fulfillment.get("status") in DEAD_FULFILLMENT_STATUSES:
            raise Permanent(f"fulfillment {fulfillment_id} is {fulfillment.get('status')} in {store.shop}: "
                            "there is no shipment left to correct")
        current = [t for t in fulfillment.get("trackingInfo") or [] if isinstance(t, Mapping)]
        if any(same_tracking_number(t.get("number"), new.number) for t in current):
            return False

        variables = {"fulfillmentId": fulfillment_id,
                     "trackingInfoInput": tracking_input(current, correction.previous, new),
                     "notifyCustomer": correction.notify_customer}
        answer = await self._graphql(store, token, TRACKING_INFO_UPDATE_MUTATION, variables,
                                     what="fulfillmentTrackingInfoUpdate", cost=MUTATION_COST)
        result = (answer.get("data") or {}).get("fulfillmentTrackingInfoUpdate") or {}
        user_errors = result.get("userErrors") or []
        if user_errors:
            messages = "; ".join(f"{'.'.join(e.get('field') or []) or '-'}: {e.get('message')}" for e in user_errors)
            raise Permanent(f"Shopify refused fulfillmentTrackingInfoUpdate: {messages}")
        if not (result.get("fulfillment") or {}).get("id"):
            raise Permanent("Shopify fulfillmentTrackingInfoUpdate answered without a fulfillment or userErrors")
        log.info("fulfillment tracking corrected", platform_fulfillment_id=fulfillment_id,
                 previous=correction.previous.number, number=new.number)
        return True
