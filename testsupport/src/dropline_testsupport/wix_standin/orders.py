"""eCom orders and their fulfillments as the stand-in keeps them (platforms.md §4.2/§4.3).

Orders are stored in Wix's own eCom Order JSON. Seeding completes what Wix would fill itself (ids,
number, dates, derived fulfillmentStatus) and refuses what no Wix order looks like.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ORDER_STATUSES = {"INITIALIZED", "APPROVED", "CANCELED"}
PAYMENT_STATUSES = {"UNSPECIFIED", "NOT_PAID", "PAID", "PARTIALLY_REFUNDED", "FULLY_REFUNDED", "PENDING",
                    "PARTIALLY_PAID"}
# Predefined providers fill trackingLink themselves (links as in Wix's own examples; canadaPost's is a guess).
TRACKING_LINKS = {
    "fedex": "https://www.fedex.com/apps/fedextrack/?action=track&trackingnumber={n}",
    "ups": "https://wwwapps.ups.com/WebTracking/track?track=yes&trackNums={n}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction.action?tLabels={n}",
    "dhl": "https://www.logistics.dhl/global-en/home/tracking.html?tracking-id={n}",
    "canadaPost": "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={n}",
}
MAX_FULFILLMENT_LINES = 300
MAX_LINE_QUANTITY = 100000


def iso_ms(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SeedError(ValueError):
    pass


class WixError(Exception):
    """An API error in Wix's shape: ``{"message", "details": {"applicationError"|"validationError": …}}``."""

    def __init__(self, status: int, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.field = field

    def body(self) -> dict[str, Any]:
        if self.field is not None:
            details: dict[str, Any] = {"validationError": {"fieldViolations": [
                {"field": self.field, "description": self.message, "violatedRule": "VALIDATION",
                 "ruleName": "VALIDATION_ERROR"}]}}
        else:
            details = {"applicationError": {"code": self.code or "UNKNOWN", "description": self.message,
                                            "data": {}}}
        return {"message": self.message, "details": details}


@dataclass
class Fulfillment:
    id: str
    created: str
    line_items: list[dict[str, Any]]
    tracking_info: dict[str, Any] | None = None
    custom_info: dict[str, Any] | None = None
    status: str | None = None
    completed: bool | None = None
    # Every Update Fulfillment that changed trackingInfo: {"at", "previous", "trackingInfo"} (control API only).
    tracking_history: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "createdDate": self.created,
                               "lineItems": copy.deepcopy(self.line_items)}
        if self.tracking_info is not None:
            out["trackingInfo"] = dict(self.tracking_info)
        if self.custom_info is not None:
            out["customInfo"] = copy.deepcopy(self.custom_info)
        if self.status is not None:
            out["status"] = self.status
        if self.completed is not None:
            out["completed"] = self.completed
        return out


@dataclass
class StoredOrder:
    order: dict[str, Any]
    fulfillments: list[Fulfillment] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.order["id"]

    def fulfilled_quantity(self, line_id: str) -> int:
        return sum(int(li.get("quantity") or 0) for f in self.fulfillments for li in f.line_items
                   if li.get("id") == line_id)

    def derive_fulfillment_status(self) -> str:
        lines = self.order["lineItems"]
        done = [min(self.fulfilled_quantity(li["id"]), int(li["quantity"])) for li in lines]
        if all(d >= int(li["quantity"]) for d, li in zip(done, lines, strict=True)):
            status = "FULFILLED"
        elif any(done):
            status = "PARTIALLY_FULFILLED"
        else:
            status = "NOT_FULFILLED"
        self.order["fulfillmentStatus"] = status
        return status

    def with_fulfillments(self) -> dict[str, Any]:
        return {"orderId": self.id, "fulfillments": [f.as_json() for f in self.fulfillments]}


def complete_seed(raw: Any, *, number: int, now: datetime, default_currency: str = "USD") -> dict[str, Any]:
    """A seeded order as Wix would store it, or SeedError naming what no Wix order could look like."""
    if not isinstance(raw, dict):
        raise SeedError("the order must be a JSON object (Wix eCom Order)")
    order = copy.deepcopy(raw)
    order.setdefault("id", str(uuid.uuid4()))
    if not isinstance(order["id"], str) or not order["id"]:
        raise SeedError("id must be a non-empty string (GUID)")
    order.setdefault("number", str(number))
    order["number"] = str(order["number"])
    stamp = iso_ms(now)
    order.setdefault("createdDate", stamp)
    order.setdefault("updatedDate", order["createdDate"])
    order.setdefault("status", "APPROVED")
    order.setdefault("paymentStatus", "PAID")
    order.setdefault("currency", default_currency)
    if order["status"] not in ORDER_STATUSES:
        raise SeedError(f"status must be one of {sorted(ORDER_STATUSES)}")
    if order["paymentStatus"] not in PAYMENT_STATUSES:
        raise SeedError(f"paymentStatus must be one of {sorted(PAYMENT_STATUSES)}")
    if not isinstance(order["currency"], str) or len(order["currency"]) != 3:
        raise SeedError("currency must be an ISO 4217 code")
    lines = order.get("lineItems")
    if not isinstance(lines, list) or not lines:
        raise SeedError("lineItems must be a non-empty list")
    seen: set[str] = set()
    for i, li in enumerate(lines):
        if not isinstance(li, dict):
            raise SeedError(f"lineItems[{i}] must be an object")
        li.setdefault("id", f"00000000-0000-0000-0000-{i + 1:012d}")
        if not isinstance(li["id"], str) or li["id"] in seen:
            raise SeedError(f"lineItems[{i}].id must be a unique string")
        seen.add(li["id"])
        qty = li.get("quantity")
        if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= MAX_LINE_QUANTITY:
            raise SeedError(f"lineItems[{i}].quantity must be an integer from 1 to {MAX_LINE_QUANTITY}")
    order.setdefault("fulfillmentStatus", "NOT_FULFILLED")
    return order


def read_fulfillment(body: Any) -> dict[str, Any]:
    """Validate a create-fulfillment body; WixError(400) with a field violation otherwise."""
    if not isinstance(body, dict) or not isinstance(body.get("fulfillment"), dict):
        raise WixError(400, "fulfillment is required", field="fulfillment")
    f = body["fulfillment"]
    lines = f.get("lineItems")
    if not isinstance(lines, list) or not lines:
        raise WixError(400, "fulfillment.lineItems must not be empty", field="fulfillment.lineItems")
    if len(lines) > MAX_FULFILLMENT_LINES:
        raise WixError(400, f"at most {MAX_FULFILLMENT_LINES} line items per fulfillment",
                       field="fulfillment.lineItems")
    for i, li in enumerate(lines):
        if not isinstance(li, dict) or not isinstance(li.get("id"), str) or not li["id"]:
            raise WixError(400, "line item id is required", field=f"fulfillment.lineItems[{i}].id")
        qty = li.get("quantity")
        if qty is not None and (isinstance(qty, bool) or not isinstance(qty, int)
                                or not 1 <= qty <= MAX_LINE_QUANTITY):
            raise WixError(400, f"quantity must be between 1 and {MAX_LINE_QUANTITY}",
                           field=f"fulfillment.lineItems[{i}].quantity")
    tracking, custom = f.get("trackingInfo"), f.get("customInfo")
    if tracking is not None and custom is not None:
        raise WixError(400, "trackingInfo and customInfo are mutually exclusive (one of)",
                       field="fulfillment.trackingInfo")
    if tracking is not None:
        if not isinstance(tracking, dict):
            raise WixError(400, "trackingInfo must be an object", field="fulfillment.trackingInfo")
        for key in ("trackingNumber", "shippingProvider", "trackingLink"):
            if tracking.get(key) is not None and not isinstance(tracking[key], str):
                raise WixError(400, f"{key} must be a string", field=f"fulfillment.trackingInfo.{key}")
    if custom is not None and not isinstance(custom, dict):
        raise WixError(400, "customInfo must be an object", field="fulfillment.customInfo")
    return f


def create_fulfillment(stored: StoredOrder, f: dict[str, Any], *, now: datetime) -> Fulfillment:
    """Wix's rules: the order must be APPROVED; every line item id must exist; a quantity may not exceed
    what is not yet fulfilled (omitted: all of it). Error codes are the stand-in's (UNCONFIRMED)."""
    if stored.order.get("status") != "APPROVED":
        raise WixError(428, f"order {stored.id} is not approved (status {stored.order.get('status')}); "
                            "fulfillments can only be created for approved orders", code="ORDER_NOT_APPROVED")
    by_id = {li["id"]: li for li in stored.order["lineItems"]}
    wanted: dict[str, int] = {}
    for li in f["lineItems"]:
        line = by_id.get(li["id"])
        if line is None:
            raise WixError(428, f"line item {li['id']} does not exist in order {stored.id}",
                           code="LINE_ITEM_NOT_FOUND")
        available = int(line["quantity"]) - stored.fulfilled_quantity(li["id"]) - wanted.get(li["id"], 0)
        qty = li.get("quantity") if li.get("quantity") is not None else available
        if qty < 1 or qty > available:
            raise WixError(428, f"line item {li['id']}: requested quantity {qty}, available {max(available, 0)}",
                           code="INSUFFICIENT_LINE_ITEM_QUANTITY")
        wanted[li["id"]] = wanted.get(li["id"], 0) + qty
    tracking = f.get("trackingInfo")
    if tracking is not None:
        tracking = {k: v for k, v in tracking.items() if k in ("trackingNumber", "shippingProvider", "trackingLink")}
        template = TRACKING_LINKS.get(tracking.get("shippingProvider") or "")
        if template and tracking.get("trackingNumber"):
            tracking["trackingLink"] = template.format(n=tracking["trackingNumber"])
    fulfillment = Fulfillment(id=str(uuid.uuid4()), created=iso_ms(now),
                              line_items=[{"id": k, "quantity": v} for k, v in wanted.items()],
                              tracking_info=tracking, custom_info=f.get("customInfo"),
                              status=f.get("status") if isinstance(f.get("status"), str) else None,
                              completed=f.get("completed") if isinstance(f.get("completed"), bool) else None)
    stored.fulfillments.append(fulfillment)
    stored.derive_fulfillment_status()
    stored.order["updatedDate"] = iso_ms(now)
    return fulfillment


TRACKING_KEYS = ("trackingNumber", "shippingProvider", "trackingLink")
UPDATABLE = ("trackingInfo", "customInfo", "status", "completed")


def read_fulfillment_update(body: Any) -> tuple[dict[str, Any], list[str]]:
    """Validate an Update Fulfillment body ``{"fulfillment": {...}, "fieldMask"?: {"paths": [...]}}``; the
    fulfillment and the paths that apply (the mask's, else every field sent). WixError(400) otherwise."""
    if not isinstance(body, dict):
        raise WixError(400, "request body must be an object", field="body")
    f = body.get("fulfillment") if body.get("fulfillment") is not None else {}
    if not isinstance(f, dict):
        raise WixError(400, "fulfillment must be an object", field="fulfillment")
    mask = body.get("fieldMask")
    if mask is not None:
        paths = mask.get("paths") if isinstance(mask, dict) else None
        if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
            raise WixError(400, "fieldMask.paths must be a list of field paths", field="fieldMask.paths")
    else:
        paths = list(f)
    roots = {p.split(".", 1)[0] for p in paths}
    if roots & {"lineItems"}:
        raise WixError(400, "Updating line item IDs or fulfilled quantities is not allowed; delete the "
                            "fulfillment and create it again", field="fulfillment.lineItems")
    for root in roots:
        if root not in (*UPDATABLE, "id", "createdDate"):
            raise WixError(400, f"unknown field {root}", field=f"fulfillment.{root}")
    if "trackingInfo" in roots and "customInfo" in roots and f.get("trackingInfo") is not None \
            and f.get("customInfo") is not None:
        raise WixError(400, "trackingInfo and customInfo are mutually exclusive (one of)",
                       field="fulfillment.trackingInfo")
    tracking = f.get("trackingInfo")
    if tracking is not None:
        if not isinstance(tracking, dict):
            raise WixError(400, "trackingInfo must be an object", field="fulfillment.trackingInfo")
        for key, value in tracking.items():
            if key not in TRACKING_KEYS:
                raise WixError(400, f"unknown field trackingInfo.{key}", field=f"fulfillment.trackingInfo.{key}")
            if value is not None and not isinstance(value, str):
                raise WixError(400, f"{key} must be a string", field=f"fulfillment.trackingInfo.{key}")
    return f, [p for p in paths if p.split(".", 1)[0] in UPDATABLE]


def update_fulfillment(stored: StoredOrder, fulfillment_id: str, f: dict[str, Any], paths: list[str], *,
                       now: datetime) -> Fulfillment | None:
    """Apply Update Fulfillment: a value replaces, null removes; trackingInfo merges field by field (Wix's
    example sends trackingNumber + trackingLink and the answer keeps shippingProvider). A predefined provider
    gets its link rebuilt when the update does not send trackingLink (UNCONFIRMED on Wix). None when the
    order has no such fulfillment."""
    target = next((x for x in stored.fulfillments if x.id == fulfillment_id), None)
    if target is None:
        return None
    previous = dict(target.tracking_info) if target.tracking_info is not None else None
    tracking_paths = [p for p in paths if p.split(".", 1)[0] == "trackingInfo"]
    if tracking_paths:
        given = f.get("trackingInfo")
        if "trackingInfo" in tracking_paths and given is None:
            target.tracking_info = None
        else:
            if "trackingInfo" in tracking_paths:  # the whole object: the fields sent
                keys = set(given or {})
            else:  # trackingInfo.<field> paths: those fields, absent = cleared
                keys = {p.split(".", 1)[1] for p in tracking_paths if "." in p}
            merged = dict(target.tracking_info or {})
            for key in sorted(keys):
                value = (given or {}).get(key)
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            template = TRACKING_LINKS.get(merged.get("shippingProvider") or "")
            if template and merged.get("trackingNumber") and "trackingLink" not in (given or {}):
                merged["trackingLink"] = template.format(n=merged["trackingNumber"])
            target.tracking_info = merged
            target.custom_info = None  # one of
    if "customInfo" in paths:
        target.custom_info = f.get("customInfo")
        if target.custom_info is not None:
            target.tracking_info = None
    if "status" in paths:
        target.status = f.get("status") if isinstance(f.get("status"), str) else None
    if "completed" in paths:
        target.completed = f.get("completed") if isinstance(f.get("completed"), bool) else None
    if target.tracking_info != previous:
        target.tracking_history.append({"at": iso_ms(now), "previous": previous,
                                        "trackingInfo": dict(target.tracking_info) if target.tracking_info else None})
    stored.order["updatedDate"] = iso_ms(now)
    return target
