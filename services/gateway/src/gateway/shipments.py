"""Partial shipments: what an order's tracking numbers carry, and what is left to ship.

The read model keeps each shipment (one tracking number) as an entry of `tracking_json`, with the lines
and quantities it carries (`lines`; null = every line, events from before partial shipments). The
status follows from all entries together, never from the last event alone, so the events of one order
may arrive in any order and any number of times and give the same row:

* partially_shipped while some quantity of some line is not in any shipment,
* shipped when every line is covered,
* synced when every line is covered and every shipment reached the store (or the store keeps one
  number per order and Dropline recorded this one: `store_kept_number`).

An OrderSynced may arrive before its TrackingAdded (another topic): it leaves a placeholder entry
(`reported` false, not shown) that the TrackingAdded fills in.

A correction (TrackingCorrected: a wrong number replaced, by whom and why) keeps the corrected entry,
marked superseded (`superseded_at`, `corrected_by_tracking_id`, `changed_by`, `change_reason`), and adds
the new one with the same lines (`corrects_tracking_id`, `previous_tracking_number`). A superseded entry
counts for nothing: not for the lines covered, and it never keeps an order from "synced". The new
entry's OrderSynced may come first (placeholder, as above), and so may the correction come before the
corrected TrackingAdded (another topic): it leaves a superseded placeholder that the TrackingAdded fills
in. The status still only moves forward (projection.advance): a correction never takes a synced order
back to shipped.

The gateway's own check of a new report (`plan`) uses the same rule over its tracking reports, and
`check_correction` holds the refusals of a correction."""

from __future__ import annotations

import json
from collections.abc import Iterable

from dropline_integrations.port import same_tracking_number
from dropline_schemas.events import DroplineOrder, OrderSyncedV1, TrackingAddedV1, TrackingCorrectedV1

from .errors import GatewayError

KEPT_NOTE = ("{store} keeps one tracking number per order; the store shows {kept} — {number} is recorded "
             "in Dropline only")
STORE_NAMES = {"shopify": "Shopify", "ecwid": "Ecwid", "bigcommerce": "BigCommerce", "wix": "Wix"}


def shipped_quantities(order_lines: dict[str, int], shipments: Iterable[list[dict] | None]) -> dict[str, int]:
    """Quantity shipped per line; a shipment without lines (null) covered every line in full."""
    shipped = dict.fromkeys(order_lines, 0)
    for lines in shipments:
        if lines is None:
            return dict(order_lines)
        for line in lines:
            if line["line_id"] in shipped:
                shipped[line["line_id"]] += line["quantity"]
    return shipped


def left_to_ship(order_lines: dict[str, int], shipments: Iterable[list[dict] | None]) -> dict[str, int]:
    shipped = shipped_quantities(order_lines, shipments)
    return {line_id: max(0, qty - shipped[line_id]) for line_id, qty in order_lines.items()}


def plan(order: DroplineOrder | None, earlier: Iterable[list[dict] | None],
         asked: list[dict] | None) -> list[dict]:
    """The lines a new report carries: `asked`, checked against what the earlier (non-superseded)
    reports left; omitted, everything left. Raises the API's refusals."""
    order_lines = {line.line_id: line.quantity for line in order.lines} if order else {}
    left = left_to_ship(order_lines, list(earlier))
    if asked is not None:
        ids = [line["line_id"] for line in asked]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise GatewayError(422, "duplicate_line", f"line {', '.join(dupes)} is named more than once; "
                               "name each line once with its total quantity", line_ids=dupes)
        unknown = [i for i in ids if i not in order_lines]
        if unknown:
            raise GatewayError(422, "unknown_line", f"line {', '.join(unknown)} is not a line of this order "
                               f"(its lines: {', '.join(order_lines) or 'none'})", line_ids=unknown)
    if order_lines and not any(left.values()):
        raise GatewayError(409, "already_shipped", "every line of this order is shipped already; "
                           "nothing is left to ship")
    if asked is None:
        return [{"line_id": i, "quantity": q} for i, q in left.items() if q > 0]
    for line in asked:
        if line["quantity"] > left[line["line_id"]]:
            raise GatewayError(409, "over_shipped", f"line {line['line_id']} has {left[line['line_id']]} left to "
                               f"ship, not {line['quantity']}", line_id=line["line_id"],
                               left=left[line["line_id"]], asked=line["quantity"])
    return [{"line_id": line["line_id"], "quantity": line["quantity"]} for line in asked]


def repeated_correction(old, corrected_by, number: str) -> bool:
    """The same correction again: `old` was corrected already, to this number."""
    return old.superseded_at is not None and corrected_by is not None and \
        same_tracking_number(corrected_by.tracking_number, number)


def check_correction(old, corrected_by, reports: Iterable, number: str) -> None:
    """Refusals of correcting report `old` to `number` (`corrected_by`: the report that superseded `old`,
    if any; `reports`: every report of the order, superseded ones included)."""
    if old.superseded_at is not None:
        then = corrected_by.tracking_number if corrected_by is not None else None
        raise GatewayError(409, "superseded", f"tracking {old.tracking_number} was corrected already"
                           + (f" (to {then}); correct that one instead" if then else ""),
                           corrected_by_tracking_id=corrected_by.tracking_id if corrected_by else None,
                           tracking_number=then)
    if same_tracking_number(old.tracking_number, number):
        raise GatewayError(409, "same_number", f"{number} is the number this shipment has already; "
                           "nothing to correct", tracking_number=old.tracking_number)
    in_use = next((r for r in reports if r.tracking_id != old.tracking_id
                   and same_tracking_number(r.tracking_number, number)), None)
    if in_use is not None:
        raise GatewayError(409, "number_in_use", f"{number} is the number of another shipment of this order"
                           + (" (a corrected one)" if in_use.superseded_at is not None else ""),
                           tracking_id=in_use.tracking_id, superseded=in_use.superseded_at is not None)


# --------------------------------------------------------------------------- the read model


def _entries(row) -> list[dict]:
    return json.loads(row.tracking_json or "[]")


def _entry(entries: list[dict], tracking_id: str) -> dict | None:
    return next((t for t in entries if t["tracking_id"] == tracking_id), None)


def tracking_added(row, event: TrackingAddedV1) -> None:
    d = event.data
    entries = _entries(row)
    entry = _entry(entries, d.tracking_id)
    if entry is None:
        entry = {"tracking_id": d.tracking_id, "synced": False}
        entries.append(entry)
    if not entry.get("reported", True) or "source" not in entry:  # new, or a placeholder of an early OrderSynced
        lines = [line.model_dump() for line in d.lines] if d.lines is not None else \
            ([{"line_id": i, "quantity": None} for i in d.line_ids] if d.line_ids is not None else None)
        entry.update(tracking_number=d.tracking_number, carrier=d.carrier, tracking_url=d.tracking_url,
                     source=d.source, lines=lines, reported=True)
    row.tracking_json = json.dumps(entries)


def tracking_corrected(row, event: TrackingCorrectedV1) -> None:
    """The corrected entry is marked superseded, the new one is added with the corrected one's lines
    (or fills the placeholder an early OrderSynced left). Idempotent; any order with the other events."""
    d = event.data
    entries = _entries(row)
    lines = [line.model_dump() for line in d.lines] if d.lines is not None else None
    old = _entry(entries, d.corrects_tracking_id)
    if old is None:  # the corrected TrackingAdded is on its way (another topic): a placeholder it fills in
        old = {"tracking_id": d.corrects_tracking_id, "tracking_number": d.previous_tracking_number,
               "lines": lines, "synced": False, "reported": False}
        entries.append(old)
    at = event.occurred_at.isoformat()
    old.update(superseded_at=min(old.get("superseded_at") or at, at), corrected_by_tracking_id=d.tracking_id,
               changed_by=d.changed_by, change_reason=d.reason)
    new = _entry(entries, d.tracking_id)
    if new is None:
        new = {"tracking_id": d.tracking_id, "synced": False}
        entries.append(new)
    if not new.get("reported", True) or "source" not in new:  # new, or a placeholder of an early OrderSynced
        new.update(tracking_number=d.tracking_number, carrier=d.carrier, tracking_url=d.tracking_url,
                   source=d.source, lines=lines, reported=True)
    new.update(corrects_tracking_id=d.corrects_tracking_id, previous_tracking_number=d.previous_tracking_number)
    row.tracking_json = json.dumps(entries)


def order_synced(row, event: OrderSyncedV1) -> str:
    """Marks the shipment synced; returns the timeline's words."""
    d = event.data
    entries = _entries(row)
    entry = _entry(entries, d.tracking_id)
    if entry is None:  # the TrackingAdded is on its way (another topic)
        entry = {"tracking_id": d.tracking_id, "tracking_number": d.tracking_number, "reported": False}
        entries.append(entry)
    entry["synced"] = True
    entry["platform_fulfillment_id"] = d.platform_fulfillment_id
    at = event.occurred_at.isoformat()
    entry["synced_at"] = min(entry.get("synced_at") or at, at)
    store = STORE_NAMES.get(d.platform.value, d.platform.value)
    note = None
    if d.kept_number:
        entry["store_kept_number"] = d.kept_number
        note = KEPT_NOTE.format(store=store, kept=d.kept_number, number=d.tracking_number)
        entry["store_note"] = note
    row.tracking_json = json.dumps(entries)
    if note:
        return note
    return f"Fulfilment with tracking {d.tracking_number} written to {d.platform.value}" + \
        (" (it was already there)" if d.already_present else "")


def shipment_status(row) -> str | None:
    """partially_shipped / shipped / synced from every shipment the row knows (None: no shipment yet)."""
    current = [t for t in _entries(row) if not t.get("superseded_at")]  # a corrected number counts for nothing
    reported = [t for t in current if t.get("reported", True) and "source" in t]
    if not reported:
        return None
    order = DroplineOrder.read(row.order_json) if row.order_json else None
    if any(t.get("lines") is None or any(x["quantity"] is None for x in t["lines"]) for t in reported):
        covered = _covered_by_line_ids(order, reported)
    elif order is None:
        covered = False  # the lines are not known yet: OrderReceived settles it
    else:
        order_lines = {line.line_id: line.quantity for line in order.lines}
        covered = not any(left_to_ship(order_lines, [t["lines"] for t in reported]).values())
    if not covered:
        return "partially_shipped"
    if all(t.get("synced") for t in current):
        return "synced"
    return "shipped"


def _covered_by_line_ids(order: DroplineOrder | None, reported: list[dict]) -> bool:
    """Older events: a shipment without lines covered everything; one with line_ids only covered
    those lines in full."""
    if any(t.get("lines") is None for t in reported):
        return True
    if order is None:
        return False
    full = {x["line_id"] for t in reported for x in t["lines"] if x["quantity"] is None}
    order_lines = {line.line_id: line.quantity for line in order.lines if line.line_id not in full}
    counted = [[x for x in t["lines"] if x["quantity"] is not None] for t in reported]
    return not any(left_to_ship(order_lines, counted).values())


def render(tracking_json: str | None, order: dict) -> list[dict]:
    """The shipments the order page shows (placeholders left out), each line with its sku and title."""
    by_id = {line.get("line_id"): line for line in order.get("lines", [])}
    out = []
    for t in json.loads(tracking_json or "[]"):
        if not t.get("reported", True) or "source" not in t:
            continue
        lines = t.get("lines")
        out.append({**t, "lines": None if lines is None else [
            {"line_id": x["line_id"], "sku": by_id.get(x["line_id"], {}).get("sku"),
             "title": by_id.get(x["line_id"], {}).get("title"),
             "quantity": x["quantity"] if x["quantity"] is not None else by_id.get(x["line_id"], {}).get("quantity")}
            for x in lines]})
    return out
