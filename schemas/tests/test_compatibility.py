"""A contract change that would break a consumer fails here.

Allowed within a version: new optional properties, new enum values, new definitions.
Breaking: a property removed or retyped, a property newly required, an enum value removed.
After an allowed change, refresh the snapshots with `make schemas`.
"""

import json

import pytest

from dropline_schemas.snapshot import SNAPSHOT_DIR, current_schemas


def breaking_changes(old: dict, new: dict, path: str = "$") -> list[str]:
    problems: list[str] = []
    for key in ("type", "$ref", "format", "const"):
        if old.get(key) != new.get(key):
            problems.append(f"{path}: {key} changed {old.get(key)!r} -> {new.get(key)!r}")
    if "enum" in old:
        removed = set(old["enum"]) - set(new.get("enum", []))
        if removed:
            problems.append(f"{path}: enum values removed {sorted(removed)}")
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    if newly_required:
        problems.append(f"{path}: newly required {sorted(newly_required)}")
    for prop, old_schema in old.get("properties", {}).items():
        if prop not in new.get("properties", {}):
            problems.append(f"{path}.{prop}: removed")
        else:
            problems += breaking_changes(old_schema, new["properties"][prop], f"{path}.{prop}")
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in old:
            old_items, new_items = old[combinator], new.get(combinator, [])
            if len(new_items) < len(old_items):
                problems.append(f"{path}: {combinator} narrowed")
            for i, (o, n) in enumerate(zip(old_items, new_items, strict=False)):
                problems += breaking_changes(o, n, f"{path}.{combinator}[{i}]")
    if "items" in old:
        problems += breaking_changes(old["items"], new.get("items", {}), f"{path}[]")
    for name, old_def in old.get("$defs", {}).items():
        if name not in new.get("$defs", {}):
            problems.append(f"{path}.$defs.{name}: removed")
        else:
            problems += breaking_changes(old_def, new["$defs"][name], f"{path}.$defs.{name}")
    return problems


CURRENT = current_schemas()


@pytest.mark.parametrize("name", sorted(CURRENT))
def test_event_schema_has_no_breaking_change_against_snapshot(name):
    snapshot_file = SNAPSHOT_DIR / name
    assert snapshot_file.exists(), f"no snapshot for {name}: run `make schemas` and commit it"
    old = json.loads(snapshot_file.read_text())
    assert breaking_changes(old, CURRENT[name]) == []


def test_every_snapshot_still_has_an_event_class():
    orphaned = {p.name for p in SNAPSHOT_DIR.glob("*.json")} - set(CURRENT)
    assert orphaned == set(), "an event version was deleted; keep it until no producer emits it"


def test_the_checker_catches_a_removed_field_a_retype_and_a_new_required_field():
    old = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"]}
    new = {"type": "object", "properties": {"a": {"type": "integer"}, "c": {"type": "string"}}, "required": ["a", "c"]}
    problems = breaking_changes(old, new)
    assert any("$.a: type changed" in p for p in problems)
    assert any("$.b: removed" in p for p in problems)
    assert any("newly required ['c']" in p for p in problems)
    # an optional addition is fine
    assert breaking_changes(old, {**old, "properties": {**old["properties"], "d": {"type": "string"}}}) == []


def test_an_event_round_trips_through_json_with_its_envelope():
    from dropline_schemas import parse_event
    from dropline_schemas.events import OrderForwardedData, OrderForwardedV1

    ev = OrderForwardedV1.create(
        data=OrderForwardedData(order_id="o1", supplier_id="s1", supplier_order_id="SUP-1",
                                forwarded_at="2026-11-26T10:00:00Z"),
        producer="forwarder", tenant_id="r1", correlation_id="shopify:1")
    back = parse_event(ev.model_dump_json())
    assert back == ev and back.event_type == "OrderForwarded" and back.schema_version == 1
