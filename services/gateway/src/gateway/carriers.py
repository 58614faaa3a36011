"""Carrier detection and tracking URLs live in dropline_integrations.carriers (one place); re-exported here."""

from dropline_integrations.carriers import detect_carrier, tracking_url

__all__ = ["detect_carrier", "tracking_url"]
