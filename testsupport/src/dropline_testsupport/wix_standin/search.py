"""Search Orders (``POST /ecom/v1/orders/search``): the part of the Wix API Query Language the eCom
orders search supports (wix-rest-docs ``guides/orders/docs/filter_and_sort.md``).

- ``{"search": {"filter": {...}, "sort": [{"fieldName", "order"}], "cursorPaging": {"limit", "cursor"}}}``;
- defaults: sort ``createdDate`` DESC, limit 100, and ``status $ne INITIALIZED`` is always applied
  (INITIALIZED orders are never returned);
- a cursor carries its query: with a cursor, the filter and sort of the first page apply (the stand-in
  ignores any filter/sort sent alongside — what real Wix does with them is UNCONFIRMED);
- unsupported fields/operators are a 400 (validation error).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

MAX_LIMIT = 100
DATE_FIELDS = {"createdDate", "updatedDate"}
COMPARE = ("$gt", "$lt", "$gte", "$lte")
FIELDS: dict[str, set[str]] = {
    "id": {"$eq", "$ne", "$hasSome"},
    "createdDate": {"$eq", "$ne", "$hasSome", *COMPARE},
    "updatedDate": {"$eq", "$ne", "$hasSome", *COMPARE},
    "number": {"$eq", "$ne", "$hasSome", *COMPARE},
    "priceSummary.totalPrice": {"$eq", "$ne", "$hasSome", *COMPARE},
    "status": {"$eq", "$ne", "$hasSome"},  # used by Wix's own default filter
    "fulfillmentStatus": {"$eq", "$ne", "$hasSome"},
    "paymentStatus": {"$eq", "$ne", "$hasSome"},
    "billingInfo.contactDetails.firstName": {"$eq", "$ne", "$hasSome", "$contains", "$startsWith"},
    "billingInfo.contactDetails.lastName": {"$eq", "$ne", "$hasSome", "$contains", "$startsWith"},
    "archived": {"$eq", "$ne"},
    "seenByAHuman": {"$eq", "$ne"},
    "lineItems.catalogReference.catalogItemId": {"$eq", "$ne", "$hasSome", "$hasAll"},
    "lineItems.productName.original": {"$eq", "$ne", "$hasSome", "$hasAll"},
    "buyerInfo.memberId": {"$eq", "$ne", "$hasSome"},
    "buyerInfo.contactId": {"$eq", "$ne", "$hasSome"},
    "channelInfo.type": {"$eq", "$ne", "$hasSome"},
    "channelInfo.externalOrderId": {"$eq", "$ne", "$hasSome"},
    "shippingInfo.title": {"$eq", "$ne", "$hasSome", "$contains", "$startsWith"},
}
SORTABLE = {"createdDate", "updatedDate", "number", "priceSummary.totalPrice", "fulfillmentStatus",
            "paymentStatus", "billingInfo.contactDetails.firstName", "billingInfo.contactDetails.lastName"}


class QueryError(ValueError):
    def __init__(self, field: str, description: str):
        super().__init__(description)
        self.field = field
        self.description = description


def parse_date(value: Any) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000 if value > 10**11 else value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _values(order: Mapping[str, Any], path: str) -> list[Any]:
    """Every value at a dotted path (lists fan out: lineItems.productName.original)."""
    current: list[Any] = [order]
    for part in path.split("."):
        nxt: list[Any] = []
        for value in current:
            value_list = value if isinstance(value, list) else [value]
            for v in value_list:
                if isinstance(v, Mapping) and part in v:
                    nxt.append(v[part])
        current = nxt
    flat: list[Any] = []
    for value in current:
        flat.extend(value if isinstance(value, list) else [value])
    return flat


def _comparable(field: str, value: Any) -> Any:
    if field in DATE_FIELDS:
        parsed = parse_date(value)
        if parsed is None:
            raise QueryError(field, f"{field}: not a date: {value!r}")
        return parsed
    if field in ("number", "priceSummary.totalPrice"):
        try:
            return float(value.get("amount") if isinstance(value, Mapping) else value)
        except (TypeError, ValueError):
            return str(value)
    return value


def _test(field: str, op: str, expected: Any, actual: list[Any]) -> bool:
    have = []
    for a in actual:
        try:
            have.append(_comparable(field, a))
        except QueryError:
            continue
    if op in ("$hasSome", "$hasAll"):
        if not isinstance(expected, list):
            raise QueryError(field, f"{field}: {op} takes a list")
        wanted = [_comparable(field, e) for e in expected]
        return (any(w in have for w in wanted) if op == "$hasSome" else all(w in have for w in wanted))
    want = _comparable(field, expected)
    if op == "$eq":
        return want in have
    if op == "$ne":
        return want not in have
    if op in ("$contains", "$startsWith"):
        if not isinstance(expected, str):
            raise QueryError(field, f"{field}: {op} takes a string")
        check: Callable[[str], bool] = ((lambda s: expected.lower() in s.lower()) if op == "$contains"
                                        else (lambda s: s.lower().startswith(expected.lower())))
        return any(isinstance(h, str) and check(h) for h in have)
    ops = {"$gt": lambda a: a > want, "$lt": lambda a: a < want, "$gte": lambda a: a >= want,
           "$lte": lambda a: a <= want}
    try:
        return any(ops[op](h) for h in have)
    except TypeError:
        return False


def matcher(filter_: Any) -> Callable[[Mapping[str, Any]], bool]:
    """Compile (and validate) a filter; QueryError for what the orders search does not support."""
    if filter_ is None:
        return lambda _order: True
    if not isinstance(filter_, Mapping):
        raise QueryError("search.filter", "filter must be an object")
    tests: list[Callable[[Mapping[str, Any]], bool]] = []
    for key, value in filter_.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise QueryError(f"search.filter.{key}", f"{key} takes a non-empty list")
            subs = [matcher(v) for v in value]
            tests.append((lambda o, subs=subs: all(s(o) for s in subs)) if key == "$and"
                         else (lambda o, subs=subs: any(s(o) for s in subs)))
            continue
        if key == "$not":
            sub = matcher(value)
            tests.append(lambda o, sub=sub: not sub(o))
            continue
        allowed = FIELDS.get(key)
        if allowed is None:
            raise QueryError(f"search.filter.{key}", f"filtering by '{key}' is not supported")
        conditions = (value.items() if isinstance(value, Mapping) and value and
                      all(str(k).startswith("$") for k in value) else [("$eq", value)])
        for op, expected in conditions:
            if op not in allowed:
                raise QueryError(f"search.filter.{key}", f"operator {op} is not supported for '{key}'")
            if op not in ("$hasSome", "$hasAll", "$contains", "$startsWith"):
                _comparable(key, expected)  # validates dates now, not per order
            tests.append(lambda o, key=key, op=op, expected=expected: _test(key, op, expected, _values(o, key)))
    return lambda order: all(t(order) for t in tests)


def sort_key(sort: list[dict[str, str]]) -> Callable[[Mapping[str, Any]], Any]:
    def key(order: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for s in sort:
            values = _values(order, s["fieldName"])
            try:
                out.append(_comparable(s["fieldName"], values[0]) if values else None)
            except QueryError:
                out.append(None)
        return tuple(out)
    return key


def read_sort(sort: Any) -> list[dict[str, str]]:
    if sort is None:
        return [{"fieldName": "createdDate", "order": "DESC"}]
    if not isinstance(sort, list):
        raise QueryError("search.sort", "sort must be a list of {fieldName, order}")
    out = []
    for i, s in enumerate(sort):
        if not isinstance(s, Mapping) or not isinstance(s.get("fieldName"), str):
            raise QueryError(f"search.sort[{i}]", "each sort needs a fieldName")
        order = s.get("order", "ASC")
        if order not in ("ASC", "DESC"):
            raise QueryError(f"search.sort[{i}].order", "order must be ASC or DESC")
        if s["fieldName"] not in SORTABLE:
            raise QueryError(f"search.sort[{i}].fieldName", f"sorting by '{s['fieldName']}' is not supported")
        out.append({"fieldName": s["fieldName"], "order": order})
    return out or [{"fieldName": "createdDate", "order": "DESC"}]


def encode_cursor(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as exc:
        raise QueryError("search.cursorPaging.cursor", "invalid cursor") from exc
    if not isinstance(state, dict) or not isinstance(state.get("offset"), int):
        raise QueryError("search.cursorPaging.cursor", "invalid cursor")
    return state


def run(orders: list[Mapping[str, Any]], search: Any) -> dict[str, Any]:
    """The answer of Search Orders for these orders: ``{"orders", "metadata": {count, cursors, hasNext}}``."""
    if search is None:
        search = {}
    if not isinstance(search, Mapping):
        raise QueryError("search", "search must be an object")
    paging = search.get("cursorPaging") or {}
    if not isinstance(paging, Mapping):
        raise QueryError("search.cursorPaging", "cursorPaging must be an object")
    limit = paging.get("limit", MAX_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT:
        raise QueryError("search.cursorPaging.limit", f"limit must be an integer between 0 and {MAX_LIMIT}")
    cursor = paging.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise QueryError("search.cursorPaging.cursor", "cursor must be a string")
    if cursor:
        state = decode_cursor(cursor)
        filter_, sort, offset = state.get("filter"), read_sort(state.get("sort")), state["offset"]
    else:
        filter_, sort, offset = search.get("filter"), read_sort(search.get("sort")), 0
    match = matcher(filter_)
    hits = [o for o in orders if o.get("status") != "INITIALIZED" and match(o)]
    for s in reversed(sort):  # stable: last key first
        present = [o for o in hits if _values(o, s["fieldName"])]
        missing = [o for o in hits if not _values(o, s["fieldName"])]
        present.sort(key=sort_key([s]), reverse=s["order"] == "DESC")
        hits = present + missing
    page = hits[offset:offset + limit]
    has_next = offset + len(page) < len(hits)
    cursors: dict[str, str] = {}
    if has_next:
        cursors["next"] = encode_cursor({"offset": offset + len(page), "filter": filter_, "sort": sort})
    if offset > 0:
        cursors["prev"] = encode_cursor({"offset": max(offset - limit, 0), "filter": filter_, "sort": sort})
    return {"orders": page, "metadata": {"count": len(page), "cursors": cursors, "hasNext": has_next}}
