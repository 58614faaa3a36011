"""Everything carrier-related, in one place: detection from the number, tracking URLs, and the
carrier name each store platform understands.

- ``detect(number)`` / ``detect_carrier(number)``: the carrier a number's format (and check digit,
  where the carrier defines one) names — the tracking-numbers library first (detect.py), then
  Dropline's table of what it lacks (patterns.py).
- ``tracking_url(carrier, number)``: the carrier's tracking page for the number; ``carrier`` is a
  name in any spelling ("ups", "Royal Mail", "china ems").
- ``shopify_company`` / ``bigcommerce_fields`` / ``wix_provider``: what to write to each platform
  (catalogue.py says which field takes what). Ecwid has no carrier field and uses ``display_name``.
"""

from __future__ import annotations

from .catalogue import CARRIERS, Carrier, canonical_number, carrier_named
from .detect import Detection, detect, library_match
from .patterns import PATTERNS, s10_check_digit

__all__ = [
    "CARRIERS", "PATTERNS", "Carrier", "Detection", "bigcommerce_fields", "canonical_number", "carrier_named",
    "detect", "detect_carrier", "display_name", "library_match", "s10_check_digit", "shopify_company",
    "tracking_url", "wix_provider",
]


def detect_carrier(number: str) -> str | None:
    """The carrier's display name, or None when no known format (with a valid check digit) matches."""
    found = detect(number)
    return found.carrier.name if found else None


def tracking_url(carrier: str | None, number: str) -> str | None:
    known = carrier_named(carrier)
    return known.tracking_url(number) if known and number.strip() else None


def display_name(carrier: str | None) -> str | None:
    """Our spelling of a carrier name; a name we do not know is kept as given (stripped)."""
    if not carrier or not carrier.strip():
        return None
    known = carrier_named(carrier)
    return known.name if known else carrier.strip()


def shopify_company(carrier: str | None) -> str | None:
    """``trackingInfo.company``: Shopify's exact spelling for a carrier it lists, else the name as given."""
    if not carrier or not carrier.strip():
        return None
    known = carrier_named(carrier)
    return known.shopify if known else carrier.strip()


def bigcommerce_fields(carrier: str | None) -> tuple[str, str]:
    """``(shipping_provider, tracking_carrier)`` for a BigCommerce shipment; ("", "") when unknown."""
    known = carrier_named(carrier)
    return known.bigcommerce if known else ("", "")


def wix_provider(carrier: str | None) -> str | None:
    """Wix's predefined ``shippingProvider`` (Wix builds the link), or None when Wix has none for it."""
    known = carrier_named(carrier)
    return known.wix if known else None
