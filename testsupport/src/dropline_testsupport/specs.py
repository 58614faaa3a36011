"""Dropline's topics on paper, generated from the code (`make specs`; a test fails when they are stale):

- `docs/asyncapi/<service>.json`: each service's AsyncAPI 3.0 document, made by FastStream from the
  service's own app: what it consumes (its subscribers: topic and consumer group) and what it publishes
  (every topic its code passes to `uow.publish`, registered on the app's broker as a publisher for the
  document), each message's payload the events its topic carries (`TOPIC_EVENTS`) and its Kafka key;
- `docs/topics.md`: one row per topic — name, key, partitions, retention, producers, consumers, events —
  from `dropline_schemas` (names, keys, partitions, events), the apps (consumers), the code (producers)
  and the Strimzi topics of deploy/k8s (retention and clean-up policy).

`python -m dropline_testsupport.specs` writes them; `--check` writes nothing and exits 1 naming what is stale.
Building an app sets up process-wide logging and tracing: run this as its own process.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import sys
import tempfile
import typing
from pathlib import Path

import yaml
from pydantic import TypeAdapter

from dropline_schemas import topics as T
from dropline_schemas.events import TOPIC_EVENTS

from .devstack import SERVICES

REPO = Path(__file__).resolve().parents[3]
DOCS = REPO / "docs"
STRIMZI_TOPICS = REPO / "deploy" / "k8s" / "components" / "strimzi-topics" / "topics.yaml"
TOPIC_CONSTANTS = {name: t for name, t in vars(T).items() if isinstance(t, T.Topic)}
BY_NAME = {t.name: t for t in T.ALL_TOPICS}


def code_publishes(service: str) -> tuple[set[str], list[str]]:
    """Topics the service's code passes to a `.publish(...)` call, and the calls whose topic the AST cannot
    tell (a variable instead of a dropline_schemas.topics constant)."""
    pkg = SERVICES[service][0]
    topics, unresolved = set(), []
    for path in sorted((REPO / "services" / service / "src" / pkg).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "publish":
                found = set()
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    for sub in ast.walk(arg):
                        name = sub.attr if isinstance(sub, ast.Attribute) else sub.id if isinstance(sub, ast.Name) else None
                        if name in TOPIC_CONSTANTS:
                            found.add(TOPIC_CONSTANTS[name].name)
                if found:
                    topics |= found
                else:
                    unresolved.append(f"{path.relative_to(REPO)}:{node.lineno}")
    return topics, unresolved


def _payload(topic: T.Topic, schemas: dict) -> dict:
    """The JSON schema of what `topic` carries; the models' schemas go into `schemas` (components)."""
    events = TOPIC_EVENTS[topic]
    adapter = TypeAdapter(typing.Union[events] if len(events) > 1 else events[0])  # noqa: UP007
    schema = adapter.json_schema(mode="serialization", ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    if "title" in schema and len(events) == 1:  # one model: referenced, as FastStream does
        schemas[events[0].__name__] = schema
        return {"$ref": f"#/components/schemas/{events[0].__name__}"}
    return schema


def asyncapi_document(service: str) -> dict:
    module, prefix, _ = SERVICES[service]
    settings = importlib.import_module(f"{module}.settings").Settings(
        data_dir=Path(tempfile.mkdtemp(prefix=f"specs-{service}-")), environment="test")
    svc = importlib.import_module(f"{module}.app").create_app(settings).state.service
    publishes, _ = code_publishes(service)
    for name in sorted(publishes | {T.DEAD_LETTER.name}):  # every service dead-letters (dropline_infra)
        topic = BY_NAME[name]
        svc.broker.publisher(name, title=f"{service}:{name}", description=topic.description,
                             schema=typing.Union[TOPIC_EVENTS[topic]])  # noqa: UP007
    from faststream.specification import AsyncAPI

    doc = json.loads(AsyncAPI(svc.broker, title=f"Dropline {service}", version="1",
                              description=svc.app.description or "", schema_version="3.0.0")
                     .to_specification().to_json())
    doc["servers"] = {"kafka": {"host": "kafka:9092", "protocol": "kafka",
                                "description": f"The deployment's Kafka ({prefix}KAFKA_BOOTSTRAP_SERVERS)"}}
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    messages = doc["components"].setdefault("messages", {})
    for channel in doc.get("channels", {}).values():
        channel["servers"] = [{"$ref": "#/servers/kafka"}]
        topic = BY_NAME[channel["address"]]
        channel["description"] = topic.description
        for ref in channel.get("messages", {}).values():
            message = messages[ref["$ref"].split("/")[-1]]
            if message.get("payload", {}).get("$ref", "").endswith("/EmptyPayload"):  # a subscriber's message
                message["payload"] = _payload(topic, schemas)
            message["bindings"] = {"kafka": {"key": {"type": "string", "description": topic.key},
                                             "bindingVersion": "0.5.0"}}
            message["correlationId"] = {"location": "$message.payload#/correlation_id",
                                        "description": "The story the event is part of (for orders: the store order)."}
    schemas.pop("EmptyPayload", None)
    return json.loads(json.dumps(doc, sort_keys=True))


def _retention() -> dict[str, str]:
    """Topic name -> "7 days" / "compacted", as the Strimzi KafkaTopics of deploy/k8s set it."""
    out = {}
    for doc in yaml.safe_load_all(STRIMZI_TOPICS.read_text()):
        if not doc or doc.get("kind") != "KafkaTopic":
            continue
        config = doc["spec"].get("config", {})
        name = doc["spec"].get("topicName", doc["metadata"]["name"])
        if config.get("cleanup.policy") == "compact":
            out[name] = "compacted"
        elif "retention.ms" in config:
            out[name] = f"{int(config['retention.ms']) // 86_400_000} days"
    return out


def topic_table(documents: dict[str, dict]) -> str:
    producers: dict[str, set[str]] = {t.name: set() for t in T.ALL_TOPICS}
    consumers: dict[str, set[str]] = {t.name: set() for t in T.ALL_TOPICS}
    for service, doc in documents.items():
        for operation in doc.get("operations", {}).values():
            channel_name = operation["channel"]["$ref"].split("/")[-1]
            address = doc["channels"][channel_name]["address"]
            if operation["action"] == "send":
                producers[address].add(service)
            else:  # a subscriber's channel is named after its consumer group (`group` or `group:topic`)
                consumers[address].add(channel_name.split(":")[0])
    retention = _retention()
    rows = ["| topic | key | partitions | retention | producers | consumers (group) | events (schema) |",
            "|---|---|---|---|---|---|---|"]
    for topic in T.ALL_TOPICS:
        events = ", ".join(f"[{e.event_type_name} v{e.schema_version_number}](../schemas/src/dropline_schemas/snapshots/"
                           f"{e.event_type_name}.v{e.schema_version_number}.json)" for e in TOPIC_EVENTS[topic])
        rows.append(f"| `{topic.name}` | {topic.key} | {topic.partitions} | {retention.get(topic.name, '?')} | "
                    f"{', '.join(sorted(producers[topic.name])) or '—'} | "
                    f"{', '.join(f'`{c}`' for c in sorted(consumers[topic.name])) or '—'} | {events} |")
    return ("# Topics\n\nGenerated by `make specs` from the code (dropline_schemas, each service's FastStream app, "
            "its `publish` calls) and deploy/k8s (retention); a test fails when it is stale. Each service's "
            "AsyncAPI document is in [asyncapi/](asyncapi/).\n\n" + "\n".join(rows) + "\n")


def generate() -> dict[Path, str]:
    documents = {service: asyncapi_document(service) for service in SERVICES}
    files = {DOCS / "asyncapi" / f"{service}.json": json.dumps(doc, indent=2) + "\n" for service, doc in documents.items()}
    files[DOCS / "topics.md"] = topic_table(documents)
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 naming the stale files")
    args = parser.parse_args()
    files = generate()
    stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(REPO)} (run `make specs`)", file=sys.stderr)
        return 1 if stale else 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(files)} files ({len(stale)} changed)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
