"""Carrier detection from the tracking number format, and tracking URLs for known carriers."""

from __future__ import annotations

import re
from urllib.parse import quote

_PATTERNS = [
    ("UPS", re.compile(r"^1Z[0-9A-Z]{16}$")),
    ("USPS", re.compile(r"^(94|93|92|95)\d{18,20}$")),
    ("FedEx", re.compile(r"^\d{12}$|^\d{15}$")),
    ("DHL Express", re.compile(r"^\d{10}$")),
]

_URLS = {
    "ups": "https://www.ups.com/track?tracknum={n}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={n}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={n}",
    "dhl express": "https://www.dhl.com/en/express/tracking.html?AWB={n}",
    "dhl": "https://www.dhl.com/en/express/tracking.html?AWB={n}",
}


def detect_carrier(number: str) -> str | None:
    n = number.replace(" ", "").upper()
    return next((name for name, rx in _PATTERNS if rx.match(n)), None)


def tracking_url(carrier: str | None, number: str) -> str | None:
    template = _URLS.get((carrier or "").strip().lower())
    return template.format(n=quote(number.replace(" ", ""))) if template else None
