"""The refusals of the gateway's use cases. Each carries the HTTP status and a machine-readable
code; the API turns it into the one error body ({"error", "message", "details"})."""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    def __init__(self, status: int, error: str, message: str, *, headers: dict[str, str] | None = None,
                 **details: Any):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.details = details
        self.headers = headers or {}


def not_found(what: str = "order") -> GatewayError:
    # The same answer whether the thing does not exist or belongs to another retailer.
    return GatewayError(404, "not_found", f"no such {what}")
