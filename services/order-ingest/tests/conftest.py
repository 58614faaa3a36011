"""Fixtures of order-ingest's tests (helpers live in order_ingest_testkit.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from order_ingest_testkit import FakeStore, Harness  # noqa: E402


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
async def harness(tmp_path, store):
    h = await Harness(f"sqlite+aiosqlite:///{tmp_path}/order_ingest.db", store).start()
    try:
        yield h
    finally:
        await h.close()
