"""The write-back port. One implementation per store platform; each raises `Retryable` for what may
work later (outage, rate limit) and `Permanent` for what never will (bad token, nothing to fulfil)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ..domain import LineToFulfil


@dataclass(frozen=True)
class StoreAccess:
    store_id: str
    shop: str
    api_base_url: str
    credentials: dict[str, Any] = field(repr=False)  # decrypted for this call only; never logged


@dataclass(frozen=True)
class Tracking:
    number: str
    company: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class FulfilmentRequest:
    platform_order_id: str
    lines: tuple[LineToFulfil, ...]  # only this Dropline order's lines (a store order may span suppliers)
    tracking: Tracking
    notify_customer: bool = True


@dataclass(frozen=True)
class FulfilmentResult:
    platform_fulfillment_id: str
    already_present: bool = False  # the store had it already (a rerun after a crash past the write)


class StoreFulfilments(Protocol):
    async def fulfil(self, store: StoreAccess, request: FulfilmentRequest) -> FulfilmentResult:
        """Make the store show the lines as fulfilled with this tracking. Must be safe to call again
        after a write whose answer was lost: look before writing."""
        ...
