"""Store platforms behind one Protocol: how a fulfilment with tracking reaches each platform."""

from .base import FulfilmentRequest, FulfilmentResult, StoreAccess, StoreFulfilments, Tracking

__all__ = ["FulfilmentRequest", "FulfilmentResult", "StoreAccess", "StoreFulfilments", "Tracking"]
