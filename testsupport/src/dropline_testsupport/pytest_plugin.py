"""Shared pytest fixtures (registered by the root conftest.py).

- `kafka_bootstrap` (session): a real Kafka-protocol broker.
- `pg_databases` (session): a DatabaseFactory; `pg_url`: a fresh PostgreSQL database per test.
"""

from __future__ import annotations

import pytest

from . import infra


@pytest.fixture(scope="session")
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
