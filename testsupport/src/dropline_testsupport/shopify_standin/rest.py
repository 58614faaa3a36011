"""The REST Admin order endpoints Dropline reads (REST Admin is "legacy" since 2024-10, platforms.md §1.3),
answering with the very REST Order representation the ``orders/*`` webhooks carry (platforms.md §1.2).

    GET /shops/{shop}/admin/api/{version}/orders/{order_id}.json   -> 200 {"order": {...}}
    GET /shops/{shop}/admin/api/{version}/orders.json               -> 200 {"orders": [...]}

List parameters (Shopify's Order reference: "limit (default: 50, maximum: 250)", "status (default: open)",
"since_id: Show orders after the specified ID", ``*_at_min`` "at or after", ``*_at_max`` "at or before"):
``ids`` (comma-separated), ``limit``, ``since_id``, ``created_at_min/max``, ``updated_at_min/max``,
``processed_at_min/max``, ``status`` (open / closed / cancelled / any), ``financial_status`` (authorized,
pending, paid, partially_paid, refunded, voided, partially_refunded, unpaid = authorized + partially_paid,
any), ``fulfillment_status`` (shipped, partial, unshipped, unfulfilled = unshipped + partial, any),
``fields`` (top-level keys to keep), ``order`` ("<id|created_at|updated_at|processed_at> <asc|desc>").
Unknown parameters are ignored, as Shopify does.

Ordering: ``order`` is not in the Order reference's parameter list but is in wide use (``order=updated_at
asc`` for incremental syncs); the stand-in honours it. Without it the newest id comes first, or, with
``since_id``, the oldest id first (since_id paging walks ids upwards). Both defaults are UNCONFIRMED.

Paging: when more orders match, the answer carries ``Link: <...orders.json?limit=N&page_info=...>;
rel="next"`` (and ``rel="previous"`` past the first page), as Shopify's cursor pagination does; a request
with ``page_info`` may only add ``limit`` and ``fields`` (anything else: 400, wording UNCONFIRMED).

Errors: unknown shop or bad version → 404 ``{"errors": "Not Found"}``; missing/wrong
``X-Shopify-Access-Token`` → 401 with Shopify's body; unknown order → 404 ``{"errors": "Not Found"}``;
``limit`` over 250 (or under 1, or not a number) and other malformed parameters → 400
``{"errors": {"<param>": "<why>"}}`` (the status is what integrators report for ``limit`` > 250; the body
wording is UNCONFIRMED). Times without an offset are read in the shop's time zone (UNCONFIRMED).

Rate limit: a request-based leaky bucket per shop (40 requests, leaking 2/s by default, platforms.md §1.4).
Every answer of a known shop carries ``X-Shopify-Shop-Api-Call-Limit: used/size``; a full bucket answers
429 with ``Retry-After: 2.0`` (or longer when the configured leak rate frees a slot later) and
``{"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted
service."}``. A 401 does not fill the bucket; every other answer (404, 400 included) does.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from .models import Order

DEFAULT_LIMIT = 50
MAX_LIMIT = 250
STATUSES = frozenset({"open", "closed", "cancelled", "any"})
FINANCIAL_STATUSES = frozenset({"authorized", "pending", "paid", "partially_paid", "refunded", "voided",
                                "partially_refunded", "any", "unpaid"})
FULFILLMENT_STATUSES = frozenset({"shipped", "partial", "unshipped", "unfulfilled", "any"})
SORT_FIELDS = ("id", "created_at", "updated_at", "processed_at")
TIME_FIELDS = ("created_at", "updated_at", "processed_at")
PAGE_INFO_COMPANIONS = frozenset({"page_info", "limit", "fields"})
NOT_FOUND = {"errors": "Not Found"}
MINIMUM_RETRY_AFTER = 2.0  # platforms.md §1.4: "429 Too Many Requests with Retry-After (e.g. 2.0)"


class RestError(Exception):
    def __init__(self, status: int, body: Any):
        super().__init__(str(body))
        self.status = status
        self.body = body


def bad_param(name: str, why: str) -> RestError:
    return RestError(400, {"errors": {name: why}})


# --------------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------------


def parse_limit(params: Mapping[str, str]) -> int:
    raw = params.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError as exc:
        raise bad_param("limit", "must be an integer") from exc
    if limit < 1 or limit > MAX_LIMIT:
        raise bad_param("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def parse_fields(params: Mapping[str, str]) -> list[str] | None:
    raw = params.get("fields")
    if not raw:
        return None
    return [f.strip() for f in raw.split(",") if f.strip()]


def parse_time(name: str, raw: str, timezone: str) -> datetime:
    """ISO 8601 with an offset (``Z`` too); a bare date or a time without offset is in the shop's zone."""
    text = raw.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time())
        else:
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError as exc:
        raise bad_param(name, f"is not a valid ISO 8601 date: {raw!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def _ids(name: str, raw: str) -> list[int]:
    try:
        values = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise bad_param(name, "must be a comma-separated list of numeric ids") from exc
    if any(v < 0 for v in values):
        raise bad_param(name, "must be a comma-separated list of numeric ids")
    return values


@dataclass(frozen=True)
class OrderFilter:
    status: str = "open"
    financial_status: str = "any"
    fulfillment_status: str = "any"
    ids: tuple[int, ...] | None = None
    since_id: int | None = None
    # field -> (min, max) as epoch seconds (inclusive)
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    sort_field: str = "id"
    descending: bool = True

    @classmethod
    def parse(cls, params: Mapping[str, str], timezone: str) -> OrderFilter:
        status = params.get("status") or "open"
        if status not in STATUSES:
            raise bad_param("status", f"must be one of {', '.join(sorted(STATUSES))}")
        financial = params.get("financial_status") or "any"
        if financial not in FINANCIAL_STATUSES:
            raise bad_param("financial_status", f"must be one of {', '.join(sorted(FINANCIAL_STATUSES))}")
        fulfillment = params.get("fulfillment_status") or "any"
        if fulfillment not in FULFILLMENT_STATUSES:
            raise bad_param("fulfillment_status", f"must be one of {', '.join(sorted(FULFILLMENT_STATUSES))}")
        ids = tuple(_ids("ids", params["ids"])) if params.get("ids") else None
        since_id = None
        if params.get("since_id"):
            found = _ids("since_id", params["since_id"])
            if len(found) != 1:
                raise bad_param("since_id", "must be one numeric id")
            since_id = found[0]
        ranges: dict[str, tuple[float | None, float | None]] = {}
        for name in TIME_FIELDS:
            low = params.get(f"{name}_min")
            high = params.get(f"{name}_max")
            if low or high:
                ranges[name] = (parse_time(f"{name}_min", low, timezone).timestamp() if low else None,
                                parse_time(f"{name}_max", high, timezone).timestamp() if high else None)
        sort_field, descending = ("id", since_id is None)
        if params.get("order"):
            words = params["order"].split()
            if len(words) not in (1, 2) or words[0] not in SORT_FIELDS or (
                    len(words) == 2 and words[1].lower() not in ("asc", "desc")):
                raise bad_param("order", f"must be '<{'|'.join(SORT_FIELDS)}> <asc|desc>'")
            sort_field = words[0]
            descending = len(words) == 2 and words[1].lower() == "desc"
        return cls(status=status, financial_status=financial, fulfillment_status=fulfillment, ids=ids,
                   since_id=since_id, ranges=ranges, sort_field=sort_field, descending=descending)

    # -- page_info round trip ------------------------------------------------------------------------

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "financial_status": self.financial_status,
                "fulfillment_status": self.fulfillment_status, "ids": list(self.ids) if self.ids else None,
                "since_id": self.since_id, "ranges": {k: list(v) for k, v in self.ranges.items()},
                "sort_field": self.sort_field, "descending": self.descending}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OrderFilter:
        return cls(status=data["status"], financial_status=data["financial_status"],
                   fulfillment_status=data["fulfillment_status"],
                   ids=tuple(data["ids"]) if data.get("ids") else None, since_id=data.get("since_id"),
                   ranges={k: (v[0], v[1]) for k, v in data["ranges"].items()},
                   sort_field=data["sort_field"], descending=bool(data["descending"]))

    # -- matching ------------------------------------------------------------------------------------

    def sort_key(self, order: Order) -> tuple[float, int]:
        return (_field_time(order, self.sort_field) if self.sort_field != "id" else float(order.id), order.id)

    def matches(self, order: Order) -> bool:
        payload = order.payload
        if self.status == "open" and (order.is_closed or order.is_cancelled):
            return False
        if self.status == "closed" and not order.is_closed:
            return False
        if self.status == "cancelled" and not order.is_cancelled:
            return False
        financial = payload.get("financial_status")
        if self.financial_status == "unpaid":
            if financial not in ("authorized", "partially_paid"):
                return False
        elif self.financial_status != "any" and financial != self.financial_status:
            return False
        fulfilled = order.rest_fulfillment_status
        if self.fulfillment_status == "shipped" and fulfilled != "fulfilled":
            return False
        if self.fulfillment_status == "partial" and fulfilled != "partial":
            return False
        if self.fulfillment_status == "unshipped" and fulfilled is not None:
            return False
        if self.fulfillment_status == "unfulfilled" and fulfilled not in (None, "partial"):
            return False
        if self.ids is not None and order.id not in self.ids:
            return False
        if self.since_id is not None and order.id <= self.since_id:
            return False
        for name, (low, high) in self.ranges.items():
            moment = _field_time(order, name)
            if (low is not None and moment < low) or (high is not None and moment > high):
                return False
        return True

    def select(self, orders: Sequence[Order]) -> list[Order]:
        return sorted((o for o in orders if self.matches(o)), key=self.sort_key, reverse=self.descending)


def _field_time(order: Order, name: str) -> float:
    """Epoch seconds at REST precision (whole seconds), as a client comparing REST timestamps sees them."""
    if name == "updated_at":
        moment = order.updated_at
    elif name == "created_at":
        moment = order.created_at
    else:
        moment = datetime.fromisoformat(order.payload["processed_at"])
    return float(math.floor(moment.timestamp()))


# --------------------------------------------------------------------------------------------------
# Pages (cursor pagination through page_info)
# --------------------------------------------------------------------------------------------------


def encode_page_info(flt: OrderFilter, *, after: tuple[float, int] | None = None,
                     before: tuple[float, int] | None = None) -> str:
    data = {"filter": flt.as_json(), "after": list(after) if after else None,
            "before": list(before) if before else None}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_page_info(raw: str) -> tuple[OrderFilter, tuple[float, int] | None, tuple[float, int] | None]:
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        after = tuple(data["after"]) if data.get("after") else None
        before = tuple(data["before"]) if data.get("before") else None
        return OrderFilter.from_json(data["filter"]), after, before  # type: ignore[return-value]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise bad_param("page_info", "Invalid value.") from exc


@dataclass
class Page:
    orders: list[Order]
    next_page_info: str | None
    previous_page_info: str | None


def paginate(flt: OrderFilter, matching: list[Order], limit: int, *, after: tuple[float, int] | None = None,
             before: tuple[float, int] | None = None) -> Page:
    """``matching`` is sorted in the filter's order; ``after``/``before`` are sort keys from a cursor."""
    keys = [flt.sort_key(o) for o in matching]

    def beyond(key: tuple[float, int], mark: tuple[float, int]) -> bool:  # key comes after mark
        return key < mark if flt.descending else key > mark

    if before is not None:
        candidates = [i for i, k in enumerate(keys) if beyond(before, k)]
        chosen = candidates[-limit:]
    else:
        candidates = [i for i, k in enumerate(keys) if after is None or beyond(k, after)]
        chosen = candidates[:limit]
    if not chosen:
        return Page([], None, None)
    first, last = chosen[0], chosen[-1]
    has_next = last + 1 < len(matching)
    has_previous = (after is not None or before is not None) and first > 0
    return Page(
        orders=[matching[i] for i in chosen],
        next_page_info=encode_page_info(flt, after=keys[last]) if has_next else None,
        previous_page_info=encode_page_info(flt, before=keys[first]) if has_previous else None,
    )


def link_header(base_url: str, page: Page, limit: int, fields: list[str] | None) -> str | None:
    links = []
    for rel, cursor in (("previous", page.previous_page_info), ("next", page.next_page_info)):
        if cursor:
            query = {"limit": str(limit), **({"fields": ",".join(fields)} if fields else {}), "page_info": cursor}
            links.append(f'<{base_url}?{urlencode(query)}>; rel="{rel}"')
    return ", ".join(links) or None


def only_fields(order: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    return order if not fields else {k: v for k, v in order.items() if k in fields}


def retry_after(seconds: float) -> str:
    """``Retry-After`` as Shopify writes it (``2.0``): at least 2 s, longer when no slot frees sooner."""
    wait = seconds if math.isfinite(seconds) else 60.0
    return f"{max(MINIMUM_RETRY_AFTER, wait):.1f}"
