"""The Admin GraphQL schema of the stand-in: a faithful subset of Shopify's, written in SDL.

Type, field, argument and enum names follow Shopify's Admin API reference (platforms.md §1.3 and the
shopify.dev pages it cites). Anything not in this subset fails validation loudly, as an unknown field
does on Shopify, instead of silently answering something made up.

Resolvers read the in-memory models; the default resolver maps a camelCase GraphQL field to the
snake_case attribute or key of its source (Order falls back to its REST payload).
"""

from __future__ import annotations

import base64
import binascii
import json
import shlex
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pycountry
from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema, build_schema

from .fulfillment import accept_fulfillment_request, create_fulfillment, parse_gid, update_tracking
from .models import (
    FULFILLABLE_STATUSES,
    Fulfillment,
    FulfillmentLineItem,
    FulfillmentOrder,
    FulfillmentOrderLineItem,
    Location,
    MerchantRequest,
    Order,
    Shop,
)
from .orders import gid

T = TypeVar("T")

# platforms.md §1.4 "Other API limits": input arrays max 250 items.
MAX_INPUT_ARRAY = 250


def _enum(name: str, values: Sequence[str], doc: str) -> str:
    return f'"""{doc}"""\nenum {name} {{\n' + "\n".join(f"  {v}" for v in values) + "\n}\n"


def _country_codes() -> list[str]:
    codes = {c.alpha_2 for c in pycountry.countries}
    codes |= {"AC", "TA", "XK", "ZZ"}  # Shopify's CountryCode also has these non-ISO regions
    return sorted(codes)


def _currency_codes() -> list[str]:
    return sorted({c.alpha_3 for c in pycountry.currencies})


_CONNECTION_ARGS = "first: Int, after: String, last: Int, before: String, reverse: Boolean = false"


def _connection(node: str) -> str:
    return (
        f"type {node}Connection {{\n  edges: [{node}Edge!]!\n  nodes: [{node}!]!\n  pageInfo: PageInfo!\n}}\n"
        f"type {node}Edge {{\n  cursor: String!\n  node: {node}!\n}}\n"
    )


SDL = (
    '''
schema { query: QueryRoot mutation: Mutation }

"""An ISO-8601 encoded UTC date time string, e.g. 2019-09-07T15:50:00Z."""
scalar DateTime
"""An RFC 3986 and RFC 3987 compliant URI string."""
scalar URL
"""An unsigned 64-bit integer, encoded as a string in JSON."""
scalar UnsignedInt64
"""A signed decimal number, serialized as a string."""
scalar Decimal
"""A JSON object."""
scalar JSON

interface Node { id: ID! }

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

"""Represents an error in the input of a mutation."""
type UserError {
  field: [String!]
  message: String!
}

type QueryRoot {
  order(id: ID!): Order
  orders('''
    + _CONNECTION_ARGS
    + ''', query: String, sortKey: OrderSortKeys = PROCESSED_AT): OrderConnection!
  fulfillmentOrder(id: ID!): FulfillmentOrder
  fulfillment(id: ID!): Fulfillment
  node(id: ID!): Node
  shop: Shop!
}

type Mutation {
  fulfillmentCreate(fulfillment: FulfillmentInput!, message: String): FulfillmentCreatePayload
  fulfillmentTrackingInfoUpdate(
    fulfillmentId: ID!, trackingInfoInput: FulfillmentTrackingInput!, notifyCustomer: Boolean
  ): FulfillmentTrackingInfoUpdatePayload
  fulfillmentOrderAcceptFulfillmentRequest(
    id: ID!, message: String, estimatedShippedAt: DateTime
  ): FulfillmentOrderAcceptFulfillmentRequestPayload
}

"""Return type for fulfillmentOrderAcceptFulfillmentRequest."""
type FulfillmentOrderAcceptFulfillmentRequestPayload {
  fulfillmentOrder: FulfillmentOrder
  userErrors: [UserError!]!
}

enum OrderSortKeys { CREATED_AT ID ORDER_NUMBER PROCESSED_AT UPDATED_AT }

type Shop implements Node {
  id: ID!
  name: String!
  myshopifyDomain: String!
  currencyCode: CurrencyCode!
  ianaTimezone: String!
}

type Order implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
  email: String
  phone: String
  note: String
  tags: [String!]!
  test: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  processedAt: DateTime!
  cancelledAt: DateTime
  closed: Boolean!
  currencyCode: CurrencyCode!
  presentmentCurrencyCode: CurrencyCode!
  taxesIncluded: Boolean!
  displayFinancialStatus: OrderDisplayFinancialStatus
  displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  fulfillable: Boolean!
  customer: Customer
  shippingAddress: MailingAddress
  billingAddress: MailingAddress
  lineItems('''
    + _CONNECTION_ARGS
    + '''): LineItemConnection!
  shippingLines('''
    + _CONNECTION_ARGS
    + '''): ShippingLineConnection!
  taxLines: [TaxLine!]!
  subtotalPriceSet: MoneyBag
  totalPriceSet: MoneyBag!
  totalTaxSet: MoneyBag
  totalShippingPriceSet: MoneyBag!
  totalDiscountsSet: MoneyBag
  fulfillmentOrders('''
    + _CONNECTION_ARGS
    + '''): FulfillmentOrderConnection!
  fulfillments(first: Int): [Fulfillment!]!
}

enum OrderDisplayFinancialStatus {
  AUTHORIZED EXPIRED PAID PARTIALLY_PAID PARTIALLY_REFUNDED PENDING REFUNDED VOIDED
}

enum OrderDisplayFulfillmentStatus {
  FULFILLED IN_PROGRESS ON_HOLD OPEN PARTIALLY_FULFILLED PENDING_FULFILLMENT REQUEST_DECLINED
  RESTOCKED SCHEDULED UNFULFILLED
}

type Customer implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  firstName: String
  lastName: String
  displayName: String!
  email: String
  phone: String
}

type MailingAddress {
  firstName: String
  lastName: String
  name: String
  company: String
  address1: String
  address2: String
  city: String
  province: String
  provinceCode: String
  zip: String
  country: String
  countryCodeV2: CountryCode
  phone: String
  latitude: Float
  longitude: Float
}

type MoneyV2 {
  amount: Decimal!
  currencyCode: CurrencyCode!
}

type MoneyBag {
  shopMoney: MoneyV2!
  presentmentMoney: MoneyV2!
}

type TaxLine {
  title: String!
  rate: Float
  ratePercentage: Float
  priceSet: MoneyBag!
  channelLiable: Boolean
}

type Attribute {
  key: String!
  value: String
}

type LineItem implements Node {
  id: ID!
  name: String!
  title: String!
  sku: String
  variantTitle: String
  vendor: String
  quantity: Int!
  currentQuantity: Int!
  unfulfilledQuantity: Int!
  requiresShipping: Boolean!
  taxable: Boolean!
  originalUnitPriceSet: MoneyBag!
  taxLines(first: Int): [TaxLine!]!
  customAttributes: [Attribute!]!
  variant: ProductVariant
  product: Product
}

type ProductVariant implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  sku: String
  title: String!
}

type Product implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  title: String!
}

type ShippingLine {
  id: ID
  code: String
  title: String!
  source: String
  originalPriceSet: MoneyBag!
  discountedPriceSet: MoneyBag!
}

type Location implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
}

type FulfillmentOrder implements Node {
  id: ID!
  orderId: ID!
  orderName: String!
  order: Order!
  status: FulfillmentOrderStatus!
  requestStatus: FulfillmentOrderRequestStatus!
  createdAt: DateTime!
  updatedAt: DateTime!
  assignedLocation: FulfillmentOrderAssignedLocation!
  supportedActions: [FulfillmentOrderSupportedAction!]!
  lineItems('''
    + _CONNECTION_ARGS
    + '''): FulfillmentOrderLineItemConnection!
  fulfillments('''
    + _CONNECTION_ARGS
    + '''): FulfillmentConnection!
  merchantRequests('''
    + _CONNECTION_ARGS
    + ''', kind: FulfillmentOrderMerchantRequestKind): FulfillmentOrderMerchantRequestConnection!
}

enum FulfillmentOrderMerchantRequestKind { CANCELLATION_REQUEST FULFILLMENT_REQUEST }

"""A request made by the merchant to a fulfillment service for a fulfillment order."""
type FulfillmentOrderMerchantRequest implements Node {
  id: ID!
  kind: FulfillmentOrderMerchantRequestKind!
  message: String
  requestOptions: JSON
  responseData: JSON
  sentAt: DateTime!
  fulfillmentOrder: FulfillmentOrder!
}

enum FulfillmentOrderStatus { CANCELLED CLOSED INCOMPLETE IN_PROGRESS ON_HOLD OPEN SCHEDULED }

enum FulfillmentOrderRequestStatus {
  ACCEPTED CANCELLATION_ACCEPTED CANCELLATION_REJECTED CANCELLATION_REQUESTED CLOSED REJECTED
  SUBMITTED UNSUBMITTED
}

enum FulfillmentOrderAction {
  CANCEL_FULFILLMENT_ORDER CREATE_FULFILLMENT EXTERNAL HOLD MARK_AS_OPEN MERGE MOVE RELEASE_HOLD
  REQUEST_CANCELLATION REQUEST_FULFILLMENT SPLIT
}

type FulfillmentOrderSupportedAction {
  action: FulfillmentOrderAction!
  externalUrl: URL
}

type FulfillmentOrderAssignedLocation {
  address1: String
  address2: String
  city: String
  countryCode: CountryCode!
  name: String!
  phone: String
  province: String
  zip: String
  location: Location
}

type FulfillmentOrderLineItem implements Node {
  id: ID!
  totalQuantity: Int!
  remainingQuantity: Int!
  lineItem: LineItem!
  sku: String
  productTitle: String!
  variantTitle: String
}

type Fulfillment implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
  status: FulfillmentStatus!
  displayStatus: FulfillmentDisplayStatus
  createdAt: DateTime!
  updatedAt: DateTime!
  trackingInfo(first: Int): [FulfillmentTrackingInfo!]!
  fulfillmentLineItems('''
    + _CONNECTION_ARGS
    + '''): FulfillmentLineItemConnection!
  fulfillmentOrders('''
    + _CONNECTION_ARGS
    + '''): FulfillmentOrderConnection!
  order: Order!
  location: Location
  totalQuantity: Int!
  requiresShipping: Boolean!
  originAddress: FulfillmentOriginAddress
}

enum FulfillmentStatus {
  CANCELLED
  ERROR
  FAILURE
  OPEN @deprecated(reason: "This is a legacy status and is due to be deprecated.")
  PENDING @deprecated(reason: "This is a legacy status and is due to be deprecated.")
  SUCCESS
}

enum FulfillmentDisplayStatus {
  ATTEMPTED_DELIVERY CANCELED CONFIRMED DELAYED DELIVERED FAILURE FULFILLED IN_TRANSIT LABEL_PRINTED
  LABEL_PURCHASED LABEL_VOIDED MARKED_AS_FULFILLED NOT_DELIVERED OUT_FOR_DELIVERY PICKED_UP
  READY_FOR_PICKUP SUBMITTED
}

type FulfillmentTrackingInfo {
  company: String
  number: String
  url: URL
}

type FulfillmentLineItem implements Node {
  id: ID!
  quantity: Int
  lineItem: LineItem!
}

type FulfillmentOriginAddress {
  address1: String
  address2: String
  city: String
  countryCode: String!
  provinceCode: String
  zip: String
}

type FulfillmentCreatePayload {
  fulfillment: Fulfillment
  userErrors: [UserError!]!
}

type FulfillmentTrackingInfoUpdatePayload {
  fulfillment: Fulfillment
  userErrors: [UserError!]!
}

input FulfillmentInput {
  lineItemsByFulfillmentOrder: [FulfillmentOrderLineItemsInput!]!
  notifyCustomer: Boolean = false
  originAddress: FulfillmentOriginAddressInput
  trackingInfo: FulfillmentTrackingInput
}

input FulfillmentOrderLineItemsInput {
  fulfillmentOrderId: ID!
  fulfillmentOrderLineItems: [FulfillmentOrderLineItemInput!]
}

input FulfillmentOrderLineItemInput {
  id: ID!
  quantity: Int!
}

input FulfillmentOriginAddressInput {
  address1: String
  address2: String
  city: String
  countryCode: String!
  provinceCode: String
  zip: String
}

input FulfillmentTrackingInput {
  company: String
  number: String
  numbers: [String!]
  url: URL
  urls: [URL!]
}
'''
    + "".join(
        _connection(n)
        for n in ("Order", "LineItem", "ShippingLine", "FulfillmentOrder", "FulfillmentOrderLineItem",
                  "Fulfillment", "FulfillmentLineItem", "FulfillmentOrderMerchantRequest")
    )
    + _enum("CountryCode", _country_codes(), "ISO 3166-1 alpha-2 country codes (plus Shopify's extras).")
    + _enum("CurrencyCode", _currency_codes(), "ISO 4217 currency codes.")
)


# --------------------------------------------------------------------------------------------------
# Request context
# --------------------------------------------------------------------------------------------------


@dataclass
class Context:
    shop: Shop
    new_id: Callable[[], int]
    now: Callable[[], datetime]
    # extensions.search warnings for `orders(query:)`, added to the response by the endpoint
    search_warnings: list[dict[str, Any]] = field(default_factory=list)
    mutated: set[str] = field(default_factory=set)


def _ctx(info: GraphQLResolveInfo) -> Context:
    context: Context = info.context
    return context


# --------------------------------------------------------------------------------------------------
# Scalars
# --------------------------------------------------------------------------------------------------


def _serialize_datetime(value: Any) -> str:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        raise GraphQLError(f"DateTime cannot represent {value!r}")
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_url(value: Any) -> str:
    if not isinstance(value, str):
        raise GraphQLError(f"Invalid URL {value!r}")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise GraphQLError(f"Invalid URL '{value}'")
    return value


def _serialize_decimal(value: Any) -> str:
    # Shopify's Decimal drops trailing zeros but keeps one decimal place: "199.0", "12.5", "0.0".
    number = Decimal(str(value)).normalize()
    text = format(number, "f")
    return text if "." in text else f"{text}.0"


def _set_scalar(schema: GraphQLSchema, name: str, *, output: Callable[[Any], Any] | None = None,
                input_: Callable[[Any], Any] | None = None) -> None:
    """Install coercers on an SDL-built scalar (graphql-core 3.3 names, plus the deprecated aliases
    that its default ``parse_literal`` still goes through)."""
    scalar: Any = schema.type_map[name]
    if output is not None:
        scalar.coerce_output_value = scalar.serialize = output
    if input_ is not None:
        scalar.coerce_input_value = scalar.parse_value = input_


def _install_scalars(schema: GraphQLSchema) -> None:
    _set_scalar(schema, "DateTime", output=_serialize_datetime)
    _set_scalar(schema, "URL", output=str, input_=_parse_url)
    _set_scalar(schema, "UnsignedInt64", output=lambda v: str(int(v)))
    _set_scalar(schema, "Decimal", output=_serialize_decimal)
    _set_scalar(schema, "JSON", output=lambda v: v, input_=lambda v: v)


# --------------------------------------------------------------------------------------------------
# Helpers: ids, views, pagination
# --------------------------------------------------------------------------------------------------


def _raw_id(source: Any) -> Any:
    return source["id"] if isinstance(source, Mapping) else source.id


def resolve_node_id(source: Any, info: GraphQLResolveInfo) -> str:
    """``id`` of every Node type: ``gid://shopify/{Type}/{numeric id}``."""
    return gid(info.parent_type.name, _raw_id(source))


def resolve_legacy_id(source: Any, _info: GraphQLResolveInfo) -> Any:
    return _raw_id(source)


def invalid_gid(value: str) -> GraphQLError:
    # Shopify answers a malformed id with a top-level error (wording UNCONFIRMED for variables).
    return GraphQLError(f"Invalid global id '{value}'", extensions={"code": "argumentLiteralsIncompatible"})


def _gid_parts(value: str) -> tuple[str, int]:
    prefix = "gid://shopify/"
    if not isinstance(value, str) or not value.startswith(prefix):
        raise invalid_gid(value)
    kind, _, tail = value[len(prefix):].partition("/")
    tail = tail.split("?", 1)[0]
    if not kind or not tail.isdigit():
        raise invalid_gid(value)
    return kind, int(tail)


def _encode_cursor(item_id: int) -> str:
    return base64.b64encode(json.dumps({"last_id": item_id}).encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        return int(json.loads(base64.b64decode(cursor, validate=True))["last_id"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort: '{cursor}'") from exc


def paginate(
    items: Sequence[T],
    key: Callable[[T], int],
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool = False,
) -> dict[str, Any]:
    """A Relay connection (``edges``, ``nodes``, ``pageInfo``); Shopify requires ``first`` or ``last``."""
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    if (first is not None and first < 0) or (last is not None and last < 0):
        raise GraphQLError("first and last must be non-negative")
    ordered = list(reversed(items)) if reverse else list(items)
    keys = [key(item) for item in ordered]
    start, end = 0, len(ordered)
    if after is not None:
        after_id = _decode_cursor(after)
        start = keys.index(after_id) + 1 if after_id in keys else len(ordered)
    if before is not None:
        before_id = _decode_cursor(before)
        end = keys.index(before_id) if before_id in keys else end
    window = list(range(start, max(start, end)))
    has_next = end < len(ordered)
    has_previous = start > 0
    if first is not None:
        has_next = has_next or len(window) > first
        window = window[:first]
    if last is not None:
        has_previous = has_previous or len(window) > last
        window = window[-last:] if last else []
    edges = [{"cursor": _encode_cursor(keys[i]), "node": ordered[i]} for i in window]
    return {
        "edges": edges,
        "nodes": [edge["node"] for edge in edges],
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _page_args(args: dict[str, Any]) -> dict[str, Any]:
    return {k: args.get(k) for k in ("first", "after", "last", "before")} | {
        "reverse": bool(args.get("reverse"))
    }


def _line_item_view(order: Order, item: Mapping[str, Any]) -> dict[str, Any]:
    return {**item, "__typename": "LineItem", "_order_id": order.id}


def _order_of(info: GraphQLResolveInfo, order_id: int) -> Order:
    return _ctx(info).shop.orders[order_id]


# --------------------------------------------------------------------------------------------------
# Root resolvers
# --------------------------------------------------------------------------------------------------


def resolve_order(_root: Any, info: GraphQLResolveInfo, id: str) -> Order | None:
    kind, numeric = _gid_parts(id)
    return _ctx(info).shop.orders.get(numeric) if kind == "Order" else None


_SORT_KEYS: dict[str, Callable[[Order], Any]] = {
    "CREATED_AT": lambda o: (o.created_at, o.id),
    "ID": lambda o: o.id,
    "ORDER_NUMBER": lambda o: (o.payload["order_number"], o.id),
    "PROCESSED_AT": lambda o: (o.payload["processed_at"], o.id),
    "UPDATED_AT": lambda o: (o.updated_at, o.id),
}

_SEARCH_FIELDS = ("created_at", "updated_at", "processed_at", "name", "email", "financial_status",
                  "fulfillment_status", "id")
_FULFILLMENT_SEARCH = {
    "unshipped": {"UNFULFILLED", "IN_PROGRESS"}, "unfulfilled": {"UNFULFILLED", "IN_PROGRESS"}, "partial": {"PARTIALLY_FULFILLED"},
    "shipped": {"FULFILLED"}, "fulfilled": {"FULFILLED"},
}


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == ">":
        return bool(left > right)
    if op == ">=":
        return bool(left >= right)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    return bool(left == right)


def _search_datetime(text: str, tz: ZoneInfo) -> datetime:
    """A date or date-time from a search term; without an offset it is in the shop's time zone."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


@dataclass(frozen=True)
class _Term:
    """One search term: ``field`` (None for a bare word), comparison ``op`` and the parsed ``value``."""

    field: str | None
    op: str
    value: Any

    def matches(self, order: Order) -> bool:
        payload = order.payload
        if self.field is None:
            return bool(self.value in order.name.lower() or self.value in str(payload.get("email") or "").lower())
        if self.field == "created_at":
            return _compare(order.created_at, self.op, self.value)
        if self.field == "updated_at":
            return _compare(order.updated_at, self.op, self.value)
        if self.field == "processed_at":
            return _compare(datetime.fromisoformat(payload["processed_at"]), self.op, self.value)
        if self.field == "id":
            return _compare(order.id, self.op, self.value)
        if self.field == "name":
            return order.name == self.value
        if self.field == "email":
            return str(payload.get("email") or "").lower() == self.value
        if self.field == "financial_status":
            return payload.get("financial_status") == self.value
        return order.display_fulfillment_status in self.value  # fulfillment_status


def _parse_term(name: str, op: str, value: str, tz: ZoneInfo) -> _Term:
    """Raises ValueError for a value the field cannot take."""
    if name in ("created_at", "updated_at", "processed_at"):
        return _Term(name, op, _search_datetime(value, tz))
    if name == "id":
        return _Term(name, op, int(value))
    if name == "name":
        return _Term(name, "", value if value.startswith("#") else f"#{value}")
    if name in ("email", "financial_status"):
        return _Term(name, "", value.lower())
    allowed = _FULFILLMENT_SEARCH.get(value.lower())  # fulfillment_status
    if allowed is None:
        raise ValueError(value)
    return _Term(name, "", allowed)


def _order_terms(query: str, shop: Shop, warnings: list[dict[str, Any]]) -> list[_Term]:
    """A small subset of Shopify's search syntax: ``field:value`` / ``field:>value`` (also >=, <, <=) on
    created_at, updated_at, processed_at, id, name, email, financial_status and fulfillment_status, ANDed
    together; bare words match the order name or email. Unknown fields are ignored with a warning in
    ``extensions.search``, as Shopify does."""
    tz = ZoneInfo(shop.timezone)
    terms: list[_Term] = []
    try:
        tokens = shlex.split(query)  # handles quoted values like created_at:>'2024-01-01T00:00:00Z'
    except ValueError:
        tokens = query.split()
    for token in tokens:
        if token.upper() == "AND":
            continue
        name, sep, raw = token.partition(":")
        if not sep:
            terms.append(_Term(None, "", token.lower()))
            continue
        if name not in _SEARCH_FIELDS:
            warnings.append({"field": name, "message": "Invalid search field for this query."})
            continue
        op = next((p for p in (">=", "<=", ">", "<") if raw.startswith(p)), "")
        value = raw[len(op):]
        try:
            terms.append(_parse_term(name, op, value, tz))
        except ValueError:
            warnings.append({"field": name, "message": f"Invalid value '{value}' for this field."})
    return terms


def resolve_orders(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    ctx = _ctx(info)
    orders = sorted(ctx.shop.orders.values(), key=_SORT_KEYS[args.get("sortKey") or "PROCESSED_AT"])
    query = args.get("query")
    if query:
        warnings: list[dict[str, Any]] = []
        terms = _order_terms(query, ctx.shop, warnings)
        orders = [o for o in orders if all(term.matches(o) for term in terms)]
        if warnings:
            ctx.search_warnings.append({"path": ["orders"], "query": query, "warnings": warnings})
    return paginate(orders, lambda o: o.id, **_page_args(args))


def resolve_fulfillment_order(_root: Any, info: GraphQLResolveInfo, id: str) -> FulfillmentOrder | None:
    kind, numeric = _gid_parts(id)
    found = _ctx(info).shop.fulfillment_order(numeric) if kind == "FulfillmentOrder" else None
    return found[1] if found else None


def resolve_fulfillment(_root: Any, info: GraphQLResolveInfo, id: str) -> Fulfillment | None:
    kind, numeric = _gid_parts(id)
    found = _ctx(info).shop.fulfillment(numeric) if kind == "Fulfillment" else None
    return found[1] if found else None


def resolve_node(_root: Any, info: GraphQLResolveInfo, id: str) -> Any:
    kind, numeric = _gid_parts(id)
    shop = _ctx(info).shop
    if kind == "Order":
        return shop.orders.get(numeric)
    if kind == "FulfillmentOrder":
        found_fo = shop.fulfillment_order(numeric)
        return found_fo[1] if found_fo else None
    if kind == "Fulfillment":
        found_f = shop.fulfillment(numeric)
        return found_f[1] if found_f else None
    if kind == "Location":
        return shop.location if shop.location.id == numeric else None
    if kind == "LineItem":
        for order in shop.orders.values():
            for item in order.payload["line_items"]:
                if item["id"] == numeric:
                    return _line_item_view(order, item)
    return None


def resolve_shop(_root: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    shop = _ctx(info).shop
    return {
        "__typename": "Shop",
        "id": zlib.crc32(shop.domain.encode()),
        "name": shop.domain.split(".")[0].replace("-", " ").title(),
        "myshopify_domain": shop.domain,
        "currency_code": shop.currency,
        "iana_timezone": shop.timezone,
    }


# --------------------------------------------------------------------------------------------------
# Mutations
# --------------------------------------------------------------------------------------------------


def _check_input_arrays(fulfillment: Mapping[str, Any]) -> None:
    groups = fulfillment.get("lineItemsByFulfillmentOrder") or []
    sizes = [len(groups)] + [len(g.get("fulfillmentOrderLineItems") or []) for g in groups]
    tracking = fulfillment.get("trackingInfo") or {}
    sizes += [len(tracking.get("numbers") or []), len(tracking.get("urls") or [])]
    worst = max(sizes)
    if worst > MAX_INPUT_ARRAY:
        raise GraphQLError(
            f"The input array size of {worst} is greater than the maximum allowed of {MAX_INPUT_ARRAY}.",
            extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
        )


def _user_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"field": e.field, "message": e.message} for e in errors]


def resolve_fulfillment_create(
    _root: Any, info: GraphQLResolveInfo, fulfillment: dict[str, Any], message: str | None = None
) -> dict[str, Any]:
    ctx = _ctx(info)
    _check_input_arrays(fulfillment)
    ctx.mutated.add("fulfillmentCreate")
    created, errors = create_fulfillment(ctx.shop, fulfillment, message, new_id=ctx.new_id, now=ctx.now())
    return {"fulfillment": created, "userErrors": _user_errors(errors)}


def resolve_tracking_update(
    _root: Any,
    info: GraphQLResolveInfo,
    fulfillmentId: str,
    trackingInfoInput: dict[str, Any],
    notifyCustomer: bool | None = None,
) -> dict[str, Any]:
    ctx = _ctx(info)
    ctx.mutated.add("fulfillmentTrackingInfoUpdate")
    updated, errors = update_tracking(ctx.shop, fulfillmentId, trackingInfoInput, now=ctx.now(),
                                      notify_customer=notifyCustomer)
    return {"fulfillment": updated, "userErrors": _user_errors(errors)}


def resolve_accept_fulfillment_request(
    _root: Any, info: GraphQLResolveInfo, id: str, message: str | None = None,
    estimatedShippedAt: Any = None,
) -> dict[str, Any]:
    ctx = _ctx(info)
    ctx.mutated.add("fulfillmentOrderAcceptFulfillmentRequest")
    accepted, errors = accept_fulfillment_request(ctx.shop, id, message, now=ctx.now())
    return {"fulfillmentOrder": accepted, "userErrors": _user_errors(errors)}


# --------------------------------------------------------------------------------------------------
# Field resolvers per type
# --------------------------------------------------------------------------------------------------


def _money(path: str) -> Callable[[Any, GraphQLResolveInfo], Any]:
    return lambda source, _info: (source.payload if isinstance(source, Order) else source).get(path)


def _order_line_items(order: Order, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    views = [_line_item_view(order, item) for item in order.payload["line_items"]]
    return paginate(views, lambda v: v["id"], **_page_args(args))


def _order_shipping_lines(order: Order, _info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    views = [{**line, "__typename": "ShippingLine"} for line in order.payload["shipping_lines"]]
    return paginate(views, lambda v: v["id"], **_page_args(args))


def _order_fulfillable(order: Order, _info: GraphQLResolveInfo) -> bool:
    return any(
        fo.status in FULFILLABLE_STATUSES and any(li.remaining_quantity for li in fo.line_items)
        for fo in order.fulfillment_orders
    )


def _first(items: Sequence[T], first: int | None) -> list[T]:
    return list(items) if first is None else list(items)[: max(first, 0)]


def _line_item_unfulfilled(item: Mapping[str, Any], info: GraphQLResolveInfo) -> int:
    order = _order_of(info, item["_order_id"])
    return int(item["quantity"]) - order.fulfilled_quantity(item["id"])


def _line_item_variant(item: Mapping[str, Any], _info: GraphQLResolveInfo) -> dict[str, Any] | None:
    if item.get("variant_id") is None:
        return None
    return {"__typename": "ProductVariant", "id": item["variant_id"], "sku": item.get("sku"),
            "title": item.get("variant_title") or "Default Title"}


def _line_item_product(item: Mapping[str, Any], _info: GraphQLResolveInfo) -> dict[str, Any] | None:
    if item.get("product_id") is None:
        return None
    return {"__typename": "Product", "id": item["product_id"], "title": item.get("title")}


def _fo_line_item_view(fo_line: FulfillmentOrderLineItem, info: GraphQLResolveInfo) -> Mapping[str, Any]:
    found = _ctx(info).shop.fulfillment_order(fo_line.fulfillment_order_id)
    assert found is not None
    order = found[0]
    return _line_item_view(order, order.line_item(fo_line.line_item_id))


def _fo_assigned_location(fo: FulfillmentOrder, _info: GraphQLResolveInfo) -> dict[str, Any]:
    loc = fo.location
    return {"address1": loc.address1, "address2": loc.address2, "city": loc.city,
            "country_code": loc.country_code, "name": loc.name, "phone": loc.phone,
            "province": loc.province, "zip": loc.zip, "location": loc}


def _fo_fulfillments(fo: FulfillmentOrder, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    order = _order_of(info, fo.order_id)
    related = [f for f in order.fulfillments if fo.id in f.fulfillment_order_ids]
    return paginate(related, lambda f: f.id, **_page_args(args))


def _fo_merchant_requests(fo: FulfillmentOrder, _info: GraphQLResolveInfo, kind: str | None = None,
                          **args: Any) -> dict[str, Any]:
    requests = [r for r in fo.merchant_requests if kind is None or r.kind == kind]
    return paginate(requests, lambda r: r.id, **_page_args(args))


def _merchant_request_fo(request: MerchantRequest, info: GraphQLResolveInfo) -> FulfillmentOrder:
    for order in _ctx(info).shop.orders.values():
        for fo in order.fulfillment_orders:
            if any(r is request for r in fo.merchant_requests):
                return fo
    raise GraphQLError("merchant request vanished")


def _fulfillment_fos(fulfillment: Fulfillment, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    order = _order_of(info, fulfillment.order_id)
    related = [fo for fo in order.fulfillment_orders if fo.id in fulfillment.fulfillment_order_ids]
    return paginate(related, lambda fo: fo.id, **_page_args(args))


def _fulfillment_line_item(fli: FulfillmentLineItem, info: GraphQLResolveInfo) -> Mapping[str, Any]:
    shop = _ctx(info).shop
    for order in shop.orders.values():
        for item in order.payload["line_items"]:
            if item["id"] == fli.line_item_id:
                return _line_item_view(order, item)
    raise GraphQLError("line item vanished")


RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {
    "QueryRoot": {
        "order": resolve_order,
        "orders": resolve_orders,
        "fulfillmentOrder": resolve_fulfillment_order,
        "fulfillment": resolve_fulfillment,
        "node": resolve_node,
        "shop": resolve_shop,
    },
    "Mutation": {
        "fulfillmentCreate": resolve_fulfillment_create,
        "fulfillmentTrackingInfoUpdate": resolve_tracking_update,
        "fulfillmentOrderAcceptFulfillmentRequest": resolve_accept_fulfillment_request,
    },
    "Order": {
        "tags": lambda o, _i: [t.strip() for t in o.payload["tags"].split(",") if t.strip()],
        "processedAt": lambda o, _i: o.payload["processed_at"],
        "cancelledAt": lambda o, _i: o.payload["cancelled_at"],
        "closed": lambda o, _i: o.payload["closed_at"] is not None,
        "currencyCode": lambda o, _i: o.payload["currency"],
        "presentmentCurrencyCode": lambda o, _i: o.payload["presentment_currency"],
        "displayFinancialStatus": lambda o, _i: str(o.payload["financial_status"]).upper(),
        "fulfillable": _order_fulfillable,
        "customer": lambda o, _i: o.payload.get("customer"),
        "lineItems": _order_line_items,
        "shippingLines": _order_shipping_lines,
        "subtotalPriceSet": _money("subtotal_price_set"),
        "totalPriceSet": _money("total_price_set"),
        "totalTaxSet": _money("total_tax_set"),
        "totalShippingPriceSet": _money("total_shipping_price_set"),
        "totalDiscountsSet": _money("total_discounts_set"),
        "fulfillmentOrders": lambda o, _i, **a: paginate(o.fulfillment_orders, lambda fo: fo.id, **_page_args(a)),
        "fulfillments": lambda o, _i, first=None: _first(o.fulfillments, first),
    },
    "Customer": {
        "displayName": lambda c, _i: " ".join(p for p in (c.get("first_name"), c.get("last_name")) if p)
        or c.get("email") or "",
    },
    "MailingAddress": {"countryCodeV2": lambda a, _i: a.get("country_code")},
    "TaxLine": {"ratePercentage": lambda t, _i: None if t.get("rate") is None else round(t["rate"] * 100, 4)},
    "LineItem": {
        "unfulfilledQuantity": _line_item_unfulfilled,
        "originalUnitPriceSet": lambda li, _i: li["price_set"],
        "taxLines": lambda li, _i, first=None: _first(li.get("tax_lines") or [], first),
        "customAttributes": lambda li, _i: [{"key": p.get("name"), "value": p.get("value")}
                                            for p in li.get("properties") or []],
        "variant": _line_item_variant,
        "product": _line_item_product,
    },
    "ShippingLine": {
        "id": lambda s, _i: gid("ShippingLine", s["id"]),
        "originalPriceSet": lambda s, _i: s["price_set"],
    },
    "FulfillmentOrder": {
        "orderId": lambda fo, _i: gid("Order", fo.order_id),
        "orderName": lambda fo, info: _order_of(info, fo.order_id).name,
        "order": lambda fo, info: _order_of(info, fo.order_id),
        "assignedLocation": _fo_assigned_location,
        "supportedActions": lambda fo, _i: [{"action": a, "external_url": None} for a in fo.supported_actions],
        "lineItems": lambda fo, _i, **a: paginate(fo.line_items, lambda li: li.id, **_page_args(a)),
        "fulfillments": _fo_fulfillments,
        "merchantRequests": _fo_merchant_requests,
    },
    "FulfillmentOrderMerchantRequest": {
        "fulfillmentOrder": lambda r, info: _merchant_request_fo(r, info),
    },
    "FulfillmentOrderLineItem": {
        "lineItem": _fo_line_item_view,
        "sku": lambda li, info: _fo_line_item_view(li, info).get("sku"),
        "productTitle": lambda li, info: _fo_line_item_view(li, info).get("title"),
        "variantTitle": lambda li, info: _fo_line_item_view(li, info).get("variant_title"),
    },
    "Fulfillment": {
        "displayStatus": lambda f, _i: "FULFILLED" if f.status == "SUCCESS" else None,
        "trackingInfo": lambda f, _i, first=None: _first(f.tracking, first),
        "fulfillmentLineItems": lambda f, _i, **a: paginate(f.line_items, lambda li: li.id, **_page_args(a)),
        "fulfillmentOrders": _fulfillment_fos,
        "order": lambda f, info: _order_of(info, f.order_id),
        "requiresShipping": lambda f, _i: True,
        "originAddress": lambda f, _i: f.origin_address,
    },
    "FulfillmentLineItem": {"lineItem": _fulfillment_line_item},
}

_NODE_CLASSES: dict[type, str] = {
    Order: "Order",
    FulfillmentOrder: "FulfillmentOrder",
    FulfillmentOrderLineItem: "FulfillmentOrderLineItem",
    Fulfillment: "Fulfillment",
    FulfillmentLineItem: "FulfillmentLineItem",
    Location: "Location",
    MerchantRequest: "FulfillmentOrderMerchantRequest",
}


def _resolve_node_type(value: Any, _info: GraphQLResolveInfo, _abstract: Any) -> str | None:
    if isinstance(value, Mapping):
        return value.get("__typename")
    return _NODE_CLASSES.get(type(value))


def _snake(name: str) -> str:
    out = []
    for index, char in enumerate(name):
        if char.isupper() and index:
            out.append("_")
        out.append(char.lower())
    return "".join(out)


_MISSING = object()


def default_field_resolver(source: Any, info: GraphQLResolveInfo, **_args: Any) -> Any:
    """camelCase field -> snake_case key/attribute; an Order falls back to its REST payload."""
    name = info.field_name
    key = _snake(name)
    if isinstance(source, Mapping):
        return source[key] if key in source else source.get(name)
    value = getattr(source, key, _MISSING)
    if value is _MISSING and isinstance(source, Order):
        return source.payload.get(key)
    return None if value is _MISSING else value


def build_admin_schema() -> GraphQLSchema:
    schema = build_schema(SDL)
    _install_scalars(schema)
    type_map: dict[str, Any] = dict(schema.type_map)
    for type_name, resolvers in RESOLVERS.items():
        for field_name, resolver in resolvers.items():
            type_map[type_name].fields[field_name].resolve = resolver
    for graphql_type in type_map.values():
        if not any(i.name == "Node" for i in getattr(graphql_type, "interfaces", None) or []):
            continue
        fields = graphql_type.fields
        fields["id"].resolve = fields["id"].resolve or resolve_node_id
        if "legacyResourceId" in fields:
            fields["legacyResourceId"].resolve = resolve_legacy_id
    schema.type_map["Node"].resolve_type = _resolve_node_type  # type: ignore[attr-defined]
    return schema


__all__ = ["SDL", "Context", "build_admin_schema", "default_field_resolver", "paginate", "parse_gid"]
