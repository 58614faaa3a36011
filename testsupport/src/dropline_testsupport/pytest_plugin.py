"""Shared pytest fixtures (registered by the root conftest.py).

- `kafka_bootstrap` (module): a real Kafka-protocol broker, fresh for each test module, so one
  module's events (e.g. checkout's OrderPaid) never reach another module's consumers (the bundled
  broker starts in milliseconds).
- `pg_databases` (session): a DatabaseFactory; `pg_url`: a fresh PostgreSQL database per test.
"""

from __future__ import annotations

import os

import pytest

from . import infra
from .devstack import FAST_GROUP_JOIN, SERVICES

# Every service built in-process by a test joins its consumer groups fast (the bundled broker answers a
# join after about half the session timeout; production keeps Kafka's defaults).
for _module, _prefix, _port in SERVICES.values():
    for _name, _value in FAST_GROUP_JOIN.items():
        os.environ.setdefault(_prefix + _name, _value)


@pytest.fixture(scope="module")
def kafka_bootstrap():
    with infra.kafka() as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def pg_databases():
    with infra.postgres_server() as admin_url:
        factory = infra.DatabaseFactory(admin_url)
        try:
            yield factory
        finally:
            factory.close()


@pytest.fixture
def pg_url(pg_databases, request):
    return pg_databases.create(request.node.name[:20].lower().replace("[", "_").replace("]", ""))
