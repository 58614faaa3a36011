"""PayPal webhooks as payments.md §3.4 describes them, signed for real.

Each event is the documented JSON (``id`` WH-…, ``event_version`` 1.0, ``create_time``, ``resource_type``,
``resource_version`` 2.0, ``event_type``, ``summary``, ``resource``, ``links`` self/resend). A transmission
POSTs the compact UTF-8 body with ``PAYPAL-TRANSMISSION-ID``, ``PAYPAL-TRANSMISSION-TIME``,
``PAYPAL-TRANSMISSION-SIG``, ``PAYPAL-CERT-URL``, ``PAYPAL-AUTH-ALGO: SHA256withRSA``. The signature is
RSA-SHA256 (PKCS#1 v1.5) over ``transmission_id|transmission_time|webhook_id|crc32(raw body)`` (the crc32 as an
unsigned decimal) with a key made when the stand-in starts; the self-signed certificate is served at the cert
URL, and ``POST /v1/notifications/verify-webhook-signature`` checks the same thing.

Delivery: any 2xx is success; other answers and network errors are retried (``max_attempts`` in all, the
delay doubling from ``retry_delay_seconds``; PayPal itself retries up to 25 times over 3 days). A retry is the
same transmission (same bytes and headers); a redelivery through the control API is a new transmission of the
same event (new id, time and signature), as PayPal's "resend" is.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import secrets
import string
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from ..standin_kit import Outbox, OutgoingWebhook

AUTH_ALGO = "SHA256withRSA"
SUCCESS_CODES = frozenset(range(200, 300))
DEFAULT_TIMEOUT_SECONDS = 10.0  # PayPal's own delivery timeout: UNCONFIRMED
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_RETRY_DELAY_SECONDS = 1.0
CERT_PATH = "/v1/notifications/certs/{cert_id}"


def canonical_body(event: dict[str, Any]) -> bytes:
    """The bytes the stand-in sends, and re-creates from a parsed event when asked to verify it."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signed_message(transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> bytes:
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()


def iso_millis(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_seconds(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_id() -> str:
    """``WH-58D329510W468432D-8HN650336L201105X``."""
    alphabet = string.ascii_uppercase + string.digits
    return "WH-" + "".join(secrets.choice(alphabet) for _ in range(17)) + "-" + "".join(
        secrets.choice(alphabet) for _ in range(17))


@dataclass
class SigningKey:
    """The stand-in's webhook signing key and its self-signed certificate (made at start)."""

    cert_id: str = field(default_factory=lambda: f"CERT-360caa42-fca2a594-{secrets.token_hex(4)}")
    private_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), repr=False)
    certificate: x509.Certificate = field(init=False, repr=False)

    def __post_init__(self) -> None:
        name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PayPal stand-in (Dropline tests)"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.paypal.standin")])
        now = dt.datetime.now(dt.UTC)
        self.certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                            .public_key(self.private_key.public_key()).serial_number(x509.random_serial_number())
                            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
                            .sign(self.private_key, hashes.SHA256()))

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()

    def verify(self, message: bytes, signature_b64: str) -> bool:
        try:
            signature = base64.b64decode(signature_b64, validate=True)
            self.certificate.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError, TypeError):
            return False
        return True


@dataclass
class WebhookConfig:
    url: str | None = None
    webhook_id: str = "DROPLINELOCALWEBHOOK"
    event_types: list[str] = field(default_factory=lambda: ["*"])
    hold: bool = False  # transmissions are queued, not sent, until released
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry_delay_seconds: float = DEFAULT_RETRY_DELAY_SECONDS

    def wants(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url, "webhook_id": self.webhook_id, "event_types": list(self.event_types),
                "hold": self.hold, "max_attempts": self.max_attempts, "retry_delay_seconds": self.retry_delay_seconds}


@dataclass
class Transmission:
    webhook: OutgoingWebhook  # bytes, headers and attempts (standin_kit)
    status: str = "queued"  # queued | sending | delivered | failed

    @property
    def transmission_id(self) -> str:
        return self.webhook.headers["PAYPAL-TRANSMISSION-ID"]

    def as_json(self) -> dict[str, Any]:
        return {"transmission_id": self.transmission_id, "status": self.status, "delivery_id": self.webhook.id,
                **{k: v for k, v in self.webhook.as_json().items() if k != "id"}}


@dataclass
class EventRecord:
    event: dict[str, Any]
    body: bytes
    transmissions: list[Transmission] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.event["id"]

    @property
    def event_type(self) -> str:
        return self.event["event_type"]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "event_type": self.event_type, "event": self.event,
                "transmissions": [t.as_json() for t in self.transmissions]}


class WebhookSender:
    """Makes, signs, sends (with retries) and records the stand-in's webhook events."""

    def __init__(self, *, key: SigningKey, config: WebhookConfig, transport: httpx.AsyncBaseTransport | None = None,
                 timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)):
        self.key = key
        self.config = config
        self.outbox = Outbox(success_codes=SUCCESS_CODES, timeout_seconds=timeout_seconds)
        self.events: list[EventRecord] = []
        self.duplicate_next = 0
        self._transport = transport
        self._timeout = timeout_seconds
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task] = set()
        self.clock = clock

    # -- lifecycle ------------------------------------------------------------------------------------

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, follow_redirects=False,
                                             timeout=httpx.Timeout(self._timeout))
        return self._client

    async def reset(self) -> None:
        await self.cancel()
        self.events.clear()
        self.outbox.sent.clear()
        self.duplicate_next = 0

    async def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)  # a cancelled delivery is just gone
        self._tasks.clear()

    async def aclose(self) -> None:
        await self.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until every scheduled transmission has finished (tests)."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- events ---------------------------------------------------------------------------------------

    def cert_url(self, base: str) -> str:
        return base.rstrip("/") + CERT_PATH.format(cert_id=self.key.cert_id)

    def emit(self, *, base: str, event_type: str, resource_type: str, summary: str,
             resource: dict[str, Any]) -> EventRecord | None:
        """Make the event and start delivering it (nothing when no listener is configured or subscribed)."""
        if not self.config.url or not self.config.wants(event_type):
            return None
        eid = event_id()
        root = base.rstrip("/")
        event = {
            "id": eid, "event_version": "1.0", "create_time": iso_millis(self.clock()),
            "resource_type": resource_type, "resource_version": "2.0", "event_type": event_type,
            "summary": summary, "resource": resource,
            "links": [
                {"href": f"{root}/v1/notifications/webhooks-events/{eid}", "rel": "self", "method": "GET",
                 "encType": "application/json"},
                {"href": f"{root}/v1/notifications/webhooks-events/{eid}/resend", "rel": "resend", "method": "POST",
                 "encType": "application/json"},
            ],
        }
        record = EventRecord(event=event, body=canonical_body(event))
        self.events.append(record)
        copies = 1
        if self.duplicate_next > 0:
            self.duplicate_next -= 1
            copies = 2
        first = self.transmit(record, base=base)
        if copies == 2:  # an at-least-once duplicate: the very same transmission arrives twice
            self.transmit(record, base=base, transmission=self.copy_transmission(record, first))
        return record

    def new_transmission(self, record: EventRecord, *, base: str) -> Transmission:
        transmission_id = str(uuid.uuid1())
        transmission_time = iso_seconds(self.clock())
        webhook_id = self.config.webhook_id
        signature = self.key.sign(signed_message(transmission_id, transmission_time, webhook_id, record.body))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "PayPal/AUHD-214.0-58844843",
            "Correlation-Id": secrets.token_hex(7)[:13],
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": transmission_time,
            "PAYPAL-TRANSMISSION-SIG": signature,
            "PAYPAL-CERT-URL": self.cert_url(base),
            "PAYPAL-AUTH-ALGO": AUTH_ALGO,
            "PAYPAL-AUTH-VERSION": "v2",
        }
        webhook = OutgoingWebhook(event=record.event_type, url=self.config.url or "", body=record.body,
                                  headers=headers)
        transmission = Transmission(webhook=webhook)
        record.transmissions.append(transmission)
        return transmission

    def copy_transmission(self, record: EventRecord, original: Transmission) -> Transmission:
        """The same bytes and headers as ``original`` (same transmission id and signature), sent again."""
        webhook = OutgoingWebhook(event=record.event_type, url=original.webhook.url, body=record.body,
                                  headers=dict(original.webhook.headers))
        transmission = Transmission(webhook=webhook)
        record.transmissions.append(transmission)
        return transmission

    def transmit(self, record: EventRecord, *, base: str, transmission: Transmission | None = None) -> Transmission:
        transmission = transmission or self.new_transmission(record, base=base)
        if self.config.hold:
            transmission.status = "queued"
            if transmission.webhook not in self.outbox.sent:
                self.outbox.sent.append(transmission.webhook)
            return transmission
        self._schedule(transmission)
        return transmission

    def release(self) -> int:
        """Send every queued transmission (after a hold)."""
        queued = [t for r in self.events for t in r.transmissions if t.status == "queued"]
        for transmission in queued:
            self._schedule(transmission)
        return len(queued)

    def find(self, event_id_: str) -> EventRecord | None:
        return next((r for r in self.events if r.id == event_id_), None)

    def _schedule(self, transmission: Transmission) -> None:
        transmission.status = "sending"
        task = asyncio.get_running_loop().create_task(self._deliver(transmission))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, transmission: Transmission) -> None:
        delay = self.config.retry_delay_seconds
        for attempt in range(1, max(1, self.config.max_attempts) + 1):
            await self.outbox.deliver(self.client(), transmission.webhook)
            if transmission.webhook.attempts and transmission.webhook.attempts[-1].ok(SUCCESS_CODES):
                transmission.status = "delivered"
                return
            if attempt < self.config.max_attempts and delay > 0:
                await asyncio.sleep(delay)
                delay *= 2
        transmission.status = "failed"

    # -- verification (POST /v1/notifications/verify-webhook-signature) --------------------------------

    def verify(self, *, auth_algo: str, cert_url: str, transmission_id: str, transmission_sig: str,
               transmission_time: str, webhook_id: str, webhook_event: Any) -> bool:
        if auth_algo.upper() != AUTH_ALGO.upper():
            return False
        if not cert_url.rstrip("/").endswith(CERT_PATH.format(cert_id=self.key.cert_id)):
            return False  # not a certificate this stand-in issued
        if not isinstance(webhook_event, dict):
            return False
        message = signed_message(transmission_id, transmission_time, webhook_id, canonical_body(webhook_event))
        return self.key.verify(message, transmission_sig)

    def as_json(self) -> dict[str, Any]:
        return {"config": self.config.as_json(), "cert_id": self.key.cert_id, "duplicate_next": self.duplicate_next,
                "events": [r.as_json() for r in self.events]}
