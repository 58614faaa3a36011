"""A contract change that would break a consumer fails here — in both directions of a rolling deploy.

Consumers read tolerantly (fields they do not know are ignored, every field they require is enforced;
`Contract.read`), producers build strictly. During a deploy either side can be a version ahead:
- new consumers read what old producers wrote (`unreadable_by_new_consumers`): nothing removed or
  retyped, nothing newly required;
- old consumers read what new producers write (`unreadable_by_old_consumers`): nothing they require
  left optional or dropped, no value they do not know (a new enum value, a new type in a union).
Allowed within a version, then: new optional properties and new definitions. A new enum value is not:
deploy every consumer that reads it first, then refresh the snapshot on purpose. After an allowed
change, refresh the snapshots with `make schemas`.

Beside the schema comparison, each event's data is read both ways: data an old producer wrote (the
current event without the fields its snapshot lacks) by the current model, and data a newer producer
writes (the current event with unknown fields at every level) by the snapshot's schema and the model.
"""

import json
import uuid

import jsonschema
import pytest
from pydantic import ValidationError

from dropline_schemas import parse_event
from dropline_schemas.events import ALL_EVENTS
from dropline_schemas.snapshot import SNAPSHOT_DIR, current_schemas, snapshot_name


def unreadable_by_new_consumers(old: dict, new: dict, path: str = "$") -> list[str]:
    """What a consumer on the `new` schema could not read in data written on the `old` one."""
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
            problems += unreadable_by_new_consumers(old_schema, new["properties"][prop], f"{path}.{prop}")
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in old:
            old_items, new_items = old[combinator], new.get(combinator, [])
            if len(new_items) < len(old_items):
                problems.append(f"{path}: {combinator} narrowed")
            for i, (o, n) in enumerate(zip(old_items, new_items, strict=False)):
                problems += unreadable_by_new_consumers(o, n, f"{path}.{combinator}[{i}]")
    if "items" in old:
        problems += unreadable_by_new_consumers(old["items"], new.get("items", {}), f"{path}[]")
    for name, old_def in old.get("$defs", {}).items():
        if name not in new.get("$defs", {}):
            problems.append(f"{path}.$defs.{name}: removed")
        else:
            problems += unreadable_by_new_consumers(old_def, new["$defs"][name], f"{path}.$defs.{name}")
    return problems


def unreadable_by_old_consumers(old: dict, new: dict, path: str = "$") -> list[str]:
    """What a consumer on the `old` schema, reading tolerantly, could not read in data written on the `new`
    one. New properties are fine (ignored); what the old schema requires or constrains is not."""
    problems: list[str] = []
    for key in ("type", "$ref", "format", "const"):
        if old.get(key) != new.get(key):
            problems.append(f"{path}: {key} changed {old.get(key)!r} -> {new.get(key)!r}")
    if "enum" in old:
        added = set(new.get("enum", [])) - set(old["enum"])
        if added:
            problems.append(f"{path}: enum values added {sorted(added)} (old consumers reject them)")
    no_longer_required = set(old.get("required", [])) - set(new.get("required", []))
    if no_longer_required:
        problems.append(f"{path}: no longer required {sorted(no_longer_required)} (old consumers need them)")
    for prop, old_schema in old.get("properties", {}).items():
        if prop in new.get("properties", {}):
            problems += unreadable_by_old_consumers(old_schema, new["properties"][prop], f"{path}.{prop}")
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in old:
            old_items, new_items = old[combinator], new.get(combinator, [])
            if len(new_items) > len(old_items):
                problems.append(f"{path}: {combinator} widened (old consumers reject the new alternatives)")
            for i, (o, n) in enumerate(zip(old_items, new_items, strict=False)):
                problems += unreadable_by_old_consumers(o, n, f"{path}.{combinator}[{i}]")
    if "items" in old:
        problems += unreadable_by_old_consumers(old["items"], new.get("items", {}), f"{path}[]")
    for name, old_def in old.get("$defs", {}).items():
        if name in new.get("$defs", {}):
            problems += unreadable_by_old_consumers(old_def, new["$defs"][name], f"{path}.$defs.{name}")
    return problems


CURRENT = current_schemas()


def _snapshot(name: str) -> dict:
    snapshot_file = SNAPSHOT_DIR / name
    assert snapshot_file.exists(), f"no snapshot for {name}: run `make schemas` and commit it"
    return json.loads(snapshot_file.read_text())


@pytest.mark.parametrize("name", sorted(CURRENT))
def test_new_consumers_can_read_what_producers_on_the_snapshot_wrote(name):
    assert unreadable_by_new_consumers(_snapshot(name), CURRENT[name]) == []


@pytest.mark.parametrize("name", sorted(CURRENT))
def test_consumers_on_the_snapshot_can_read_what_new_producers_write(name):
    assert unreadable_by_old_consumers(_snapshot(name), CURRENT[name]) == []


def test_every_snapshot_still_has_an_event_class():
    orphaned = {p.name for p in SNAPSHOT_DIR.glob("*.json")} - set(CURRENT)
    assert orphaned == set(), "an event version was deleted; keep it until no producer emits it"


def test_the_checker_catches_a_removed_field_a_retype_and_a_new_required_field():
    old = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"]}
    new = {"type": "object", "properties": {"a": {"type": "integer"}, "c": {"type": "string"}}, "required": ["a", "c"]}
    problems = unreadable_by_new_consumers(old, new)
    assert any("$.a: type changed" in p for p in problems)
    assert any("$.b: removed" in p for p in problems)
    assert any("newly required ['c']" in p for p in problems)
    # an optional addition is fine, both ways
    added = {**old, "properties": {**old["properties"], "d": {"type": "string"}}}
    assert unreadable_by_new_consumers(old, added) == [] and unreadable_by_old_consumers(old, added) == []


def test_the_checker_catches_what_old_consumers_cannot_read():
    old = {"type": "object", "required": ["a", "b"], "properties": {
        "a": {"type": "string"}, "b": {"type": "string"}, "kind": {"enum": ["x", "y"]},
        "note": {"anyOf": [{"type": "string"}]}}}
    new = {"type": "object", "required": ["a"], "properties": {
        "a": {"type": "string"}, "b": {"type": "string"}, "kind": {"enum": ["x", "y", "z"]},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}
    problems = unreadable_by_old_consumers(old, new)
    assert any("no longer required ['b']" in p for p in problems)
    assert any("$.kind: enum values added ['z']" in p for p in problems)
    assert any("$.note: anyOf widened" in p for p in problems)
    assert unreadable_by_new_consumers(old, new) == []  # all of it is fine the other way round


# --------------------------------------------------------------------------- data, read both ways


def example(schema: dict, defs: dict) -> object:
    """A value of `schema` with every property filled (the first alternative of a union that is not null),
    so each nested object is there to be read. Enough for Dropline's contracts: no patterns are used."""
    schema = _resolved(schema, defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: example(sub, defs) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(schema.get("items", {}), defs) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "string":
        return {"date-time": "2026-12-01T10:00:00Z", "date": "2026-12-01",
                "uuid": str(uuid.UUID(int=1, version=4))}.get(schema.get("format"), "X" * max(1, schema.get("minLength", 1)))
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), int(schema.get("exclusiveMinimum", 0)) + 1)
    return {"number": 1, "boolean": True, "null": None}.get(kind, "X")


def with_unknown_fields(schema: dict, defs: dict, value: object) -> object:
    """`value` as a newer producer might write it: one field nobody knows yet in every object the contract
    defines (a free-form object, such as a platform's own JSON, is the platform's)."""
    schema = _resolved(schema, defs)
    if isinstance(value, dict) and "properties" in schema:
        return {**{k: with_unknown_fields(schema["properties"].get(k, {}), defs, v) for k, v in value.items()},
                "added_later": {"n": 1}}
    if isinstance(value, list) and "items" in schema:
        return [with_unknown_fields(schema["items"], defs, v) for v in value]
    return value


def _resolved(schema: dict, defs: dict) -> dict:
    """The schema behind a $ref, or the first alternative of a union that is not null."""
    if "$ref" in schema:
        return _resolved(defs[schema["$ref"].split("/")[-1]], defs)
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            options = [s for s in schema[combinator] if s.get("type") != "null"] or schema[combinator]
            return _resolved(options[0], defs)
    return schema


def only_what(schema: dict, defs: dict, value: object) -> object:
    """`value` with only the properties `schema` has: what a producer on that schema wrote."""
    schema = _resolved(schema, defs)
    if isinstance(value, dict) and "properties" in schema:
        return {k: only_what(schema["properties"][k], defs, v) for k, v in value.items() if k in schema["properties"]}
    if isinstance(value, list) and "items" in schema:
        return [only_what(schema["items"], defs, v) for v in value]
    return value


def tolerant(schema: object) -> object:
    """A JSON schema as a tolerant reader applies it: additional properties allowed everywhere."""
    if isinstance(schema, dict):
        return {k: tolerant(v) for k, v in schema.items() if not (k == "additionalProperties" and v is False)}
    if isinstance(schema, list):
        return [tolerant(v) for v in schema]
    return schema


def newer(cls, event: dict) -> dict:
    schema = cls.model_json_schema(mode="validation")
    return with_unknown_fields(schema, schema.get("$defs", {}), event)


def current_event(cls) -> dict:
    """One event of `cls` as its producer writes it today (built, validated strictly, dumped)."""
    schema = cls.model_json_schema(mode="validation")
    body = {**example(schema, schema.get("$defs", {})), "event_type": cls.event_type_name,
            "schema_version": cls.schema_version_number}
    built = cls.model_validate(body)  # strict: what a producer could send
    return json.loads(built.model_dump_json())


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.__name__)
def test_the_current_model_reads_data_written_on_its_snapshot(cls):
    old = _snapshot(snapshot_name(cls))
    written_before = only_what(old, old.get("$defs", {}), current_event(cls))
    assert cls.read(json.dumps(written_before)).event_type == cls.event_type_name
    assert parse_event(json.dumps(written_before)).event_type == cls.event_type_name


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.__name__)
def test_data_from_a_newer_producer_is_read_by_the_snapshot_schema_and_the_model_alike(cls):
    event = current_event(cls)
    ahead = newer(cls, event)
    assert "added_later" in ahead and "added_later" in ahead["data"]
    jsonschema.validate(ahead, tolerant(_snapshot(snapshot_name(cls))))  # the old contract, read tolerantly
    read = cls.read(json.dumps(ahead))
    assert json.loads(read.model_dump_json()) == event  # the unknown fields ignored, nothing else lost
    assert parse_event(json.dumps(ahead)) == read


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.__name__)
def test_producers_stay_strict_a_field_the_contract_lacks_is_refused(cls):
    with pytest.raises(ValidationError, match="added_later"):
        cls.model_validate_json(json.dumps(newer(cls, current_event(cls))))  # strict, as building is
    data_cls = cls.model_fields["data"].annotation
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        data_cls(**{**current_event(cls)["data"], "typo_field": 1})


def test_an_event_round_trips_through_json_with_its_envelope():
    from dropline_schemas import parse_event
    from dropline_schemas.events import OrderForwardedData, OrderForwardedV1

    ev = OrderForwardedV1.create(
        data=OrderForwardedData(order_id="o1", supplier_id="s1", supplier_order_id="SUP-1",
                                forwarded_at="2026-11-26T10:00:00Z"),
        producer="forwarder", tenant_id="r1", correlation_id="shopify:1")
    back = parse_event(ev.model_dump_json())
    assert back == ev and back.event_type == "OrderForwarded" and back.schema_version == 1


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.__name__)
def test_an_event_is_read_only_as_its_own_type_and_version(cls):
    event = current_event(cls)
    for wrong in ({"event_type": "SomethingElse"}, {"schema_version": cls.schema_version_number + 1}):
        with pytest.raises(ValidationError, match=f"is not {cls.event_type_name} v{cls.schema_version_number}"):
            cls.read(json.dumps({**event, **wrong}))


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.__name__)
def test_tolerant_reading_still_enforces_every_required_field(cls):
    data_cls = cls.model_fields["data"].annotation
    required = [name for name, field in data_cls.model_fields.items() if field.is_required()]
    assert required, f"{cls.__name__}'s data requires nothing: the test would check nothing"
    event = newer(cls, current_event(cls))
    del event["data"][required[0]]
    with pytest.raises(ValidationError, match=required[0]):
        cls.read(json.dumps(event))
