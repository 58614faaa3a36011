"""The AsyncAPI documents and the topic table under docs/ are what the code makes of them today."""

from __future__ import annotations

import json
import subprocess
import sys

from dropline_schemas import topics as T
from dropline_schemas.events import ALL_EVENTS, TOPIC_EVENTS
from dropline_testsupport.devstack import SERVICES
from dropline_testsupport.specs import DOCS, REPO


def test_the_committed_asyncapi_documents_and_topic_table_are_not_stale():
    run = subprocess.run([sys.executable, "-m", "dropline_testsupport.specs", "--check"], cwd=REPO,
                         capture_output=True, text=True, timeout=300, check=False)
    stale = [line for line in run.stderr.splitlines() if line.startswith("stale:")]
    assert run.returncode == 0 and not stale, "\n".join(stale) or run.stderr[-2000:]


def test_each_document_says_what_its_service_consumes_and_publishes_with_the_events_as_payloads():
    for service in SERVICES:
        doc = json.loads((DOCS / "asyncapi" / f"{service}.json").read_text())
        assert doc["asyncapi"] == "3.0.0" and doc["info"]["title"] == f"Dropline {service}"
        actions = {op["action"] for op in doc["operations"].values()}
        assert actions == {"send", "receive"}, (service, actions)  # every service both consumes and publishes
        for message in doc["components"]["messages"].values():
            assert "EmptyPayload" not in json.dumps(message["payload"]), (service, message["title"])
            assert message["bindings"]["kafka"]["key"]["description"]
    gateway = json.loads((DOCS / "asyncapi" / "gateway.json").read_text())
    received = {gateway["channels"][op["channel"]["$ref"].split("/")[-1]]["address"]
                for op in gateway["operations"].values() if op["action"] == "receive"}
    assert T.ORDER_SYNCED.name in received and "OrderSyncedV1" in gateway["components"]["schemas"]


def test_every_topic_is_in_the_table_and_every_event_on_a_topic():
    table = (DOCS / "topics.md").read_text()
    assert all(f"`{t.name}`" in table for t in T.ALL_TOPICS)
    assert set(TOPIC_EVENTS) == set(T.ALL_TOPICS)
    on_topics = [e for events in TOPIC_EVENTS.values() for e in events]
    assert sorted(e.__name__ for e in on_topics) == sorted(e.__name__ for e in ALL_EVENTS)  # each on exactly one
