"""ECB euro foreign exchange reference rates stand-in (the eurofxref XML documents)."""

from .app import ECB_NAMESPACE, GESMES_NAMESPACE, Standin, business_days, create_app, rates_for, render

__all__ = ["ECB_NAMESPACE", "GESMES_NAMESPACE", "Standin", "business_days", "create_app", "rates_for", "render"]
