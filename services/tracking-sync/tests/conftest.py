"""Fixtures shared by tracking-sync's unit and integration tests (helpers live in tracking_sync_testkit.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tracking_sync_testkit import FakeShopify, Harness, fast_settings


@pytest.fixture
def shopify() -> FakeShopify:
    return FakeShopify()


@pytest.fixture
async def harness(tmp_path, shopify):
    h = await Harness(fast_settings(f"sqlite+aiosqlite:///{tmp_path}/tracking_sync.db"), shopify).start()
    try:
        yield h
    finally:
        await h.close()
