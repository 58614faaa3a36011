"""Outgoing webhooks of a stand-in: the bytes and headers are fixed when the event happens (a retry
sends the very same delivery, as every platform documents), each attempt is recorded, and a test can
drop the next deliveries (the platform "lost" them: reconciliation must find the order)."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class DeliveryAttempt:
    at: str
    status_code: int | None
    response_body: str | None
    error: str | None
    duration_ms: int

    def ok(self, success_codes: frozenset[int]) -> bool:
        return self.status_code in success_codes

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at, "status_code": self.status_code, "response_body": self.response_body,
                "error": self.error, "duration_ms": self.duration_ms}


@dataclass
class OutgoingWebhook:
    event: str  # the platform's event name
    url: str
    body: bytes
    headers: dict[str, str]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))  # the stand-in's own handle
    dropped: bool = False
    attempts: list[DeliveryAttempt] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "event": self.event, "url": self.url, "headers": dict(self.headers),
                "body": self.body.decode("utf-8"), "dropped": self.dropped,
                "attempts": [a.as_json() for a in self.attempts]}


@dataclass
class Outbox:
    """Every webhook a stand-in produced, in order, and how each delivery went."""

    success_codes: frozenset[int] = frozenset({200})
    timeout_seconds: float = 5.0
    sent: list[OutgoingWebhook] = field(default_factory=list)
    drop_next: int = 0  # the next N webhooks are recorded but never sent

    async def deliver(self, client: httpx.AsyncClient, webhook: OutgoingWebhook) -> OutgoingWebhook:
        """Record and send once (a timeout or connection failure is a failed attempt, never an exception).
        The stand-ins do not retry by themselves; tests redeliver through the control API."""
        if webhook not in self.sent:
            self.sent.append(webhook)
            if self.drop_next > 0:
                self.drop_next -= 1
                webhook.dropped = True
                return webhook
        started = time.monotonic()
        at = _iso(datetime.now(UTC))
        status: int | None = None
        text: str | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(self.timeout_seconds):
                response = await client.post(webhook.url, content=webhook.body, headers=webhook.headers)
                status, text = response.status_code, response.text[:2000]
        except TimeoutError:
            error = f"timeout: no response within {self.timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        webhook.attempts.append(DeliveryAttempt(at=at, status_code=status, response_body=text, error=error,
                                                duration_ms=int((time.monotonic() - started) * 1000)))
        return webhook

    def find(self, webhook_id: str) -> OutgoingWebhook | None:
        return next((w for w in self.sent if w.id == webhook_id), None)
