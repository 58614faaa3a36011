"""Fixtures shared by forwarder's unit and integration tests (helpers live in forwarder_testkit.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from forwarder_testkit import FakeSupplier, Harness, fast_settings


@pytest.fixture
def supplier() -> FakeSupplier:
    return FakeSupplier()


@pytest.fixture
async def harness(tmp_path, supplier):
    h = await Harness(fast_settings(f"sqlite+aiosqlite:///{tmp_path}/forwarder.db"), supplier).start()
    try:
        yield h
    finally:
        await h.close()
