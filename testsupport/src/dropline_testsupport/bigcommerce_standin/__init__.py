"""BigCommerce stand-in: v2 Orders (orders, products, shipping addresses, shipments) and v3 hooks of
many stores, X-Auth-Token auth, BigCommerce's error bodies, per-store quota headers and 429s, and thin
callbacks signed per Standard Webhooks with each app's client secret (platforms.md §2).

Run it with ``python -m dropline_testsupport.bigcommerce_standin --port 8106`` or build it in-process
with :func:`create_app`. Control API: see README.md in this directory.
"""

from .app import BigCommerceStandin, SeedOrder, StoreConfig, create_app
from .models import payload_hash, rfc2822, sign

__all__ = ["BigCommerceStandin", "SeedOrder", "StoreConfig", "create_app", "payload_hash", "rfc2822", "sign"]
