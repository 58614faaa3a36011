"""Platform → its package. Adding a platform: its package (with `create`), its stand-in, one line here."""

from __future__ import annotations

import importlib

import httpx

from dropline_schemas.events import Platform

from .limits import StoreLimiter
from .port import StorePlatform

PACKAGES: dict[Platform, str] = {
    Platform.SHOPIFY: "dropline_integrations.shopify",
    Platform.ECWID: "dropline_integrations.ecwid",
    Platform.BIGCOMMERCE: "dropline_integrations.bigcommerce",
    Platform.WIX: "dropline_integrations.wix",
}


def build_platforms(http: httpx.AsyncClient, limiter: StoreLimiter | None = None) -> dict[Platform, StorePlatform]:
    """One adapter per platform, sharing the process's HTTP client and per-store limiter."""
    limiter = limiter or StoreLimiter()
    return {platform: importlib.import_module(package).create(http, limiter)
            for platform, package in PACKAGES.items()}
