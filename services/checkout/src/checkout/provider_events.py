"""Payment-provider webhooks (Stripe, PayPal), inbox first.

The gateway passes the delivery through unchanged (raw body and headers); the provider's adapter
verifies it (Stripe-Signature with the endpoint secret, tolerance 300 s; PayPal's
verify-webhook-signature call). A genuine delivery is stored in `checkout_provider_events` once per
provider event id and committed before it is acted on, so a duplicate delivery is answered 200
and does nothing, and a crash after the answer loses nothing: the sweep applies what was stored
and not applied.

Applying never trusts the event's snapshot: it looks the payment up at the provider (events come
out of order; a later look is the truth) and settles the payment as the request path would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from dropline_infra.db import Database
from dropline_infra.observability import bound

from .adapters.port import EventKind, PaymentProvider, ProviderEvent, WebhookRejected
from .domain import CheckoutError
from .models import CheckoutProviderEvent
from .observability import log
from .payments import PaymentFlow
from .repository import FAILED, OPEN, Repository
from .settings import Settings


class ProviderWebhooks:
    def __init__(self, db: Database, providers: Mapping[str, PaymentProvider], flow: PaymentFlow, settings: Settings,
                 *, now: Callable[[], datetime]):
        self.db = db
        self.providers = providers
        self.flow = flow
        self.settings = settings
        self.now = now

    async def receive(self, provider_name: str, headers: Mapping[str, str], body: bytes) -> tuple[bool, str]:
        """Verify, store, apply. Returns (new, what was done). Raises CheckoutError for an unknown
        provider or a delivery that is not genuine (the caller answers 400; the provider retries)."""
        provider = self.providers.get(provider_name)
        if provider is None:
            raise CheckoutError("unknown_provider", f"no payment provider called {provider_name!r}",
                                providers=sorted(self.providers))
        try:
            event = await provider.verify_webhook(headers, body)
        except WebhookRejected as exc:
            log.warning("payment webhook rejected", provider=provider_name, reason=str(exc))
            raise CheckoutError("webhook_rejected", str(exc)) from exc
        now = self.now()
        async with self.db.uow() as uow:
            added = await Repository(uow.session).add_provider_event(CheckoutProviderEvent(
                provider=provider_name, event_id=event.event_id, type=event.type, kind=event.kind.value,
                reference=event.reference, payload=json.dumps(event.payload, default=str), received_at=now))
            try:
                await uow.commit()
            except IntegrityError:  # the same event delivered twice at the same moment: the other copy won
                added = False
        if not added:
            log.info("payment webhook seen before; nothing to do", provider=provider_name, event_id=event.event_id)
            return False, "duplicate"
        try:
            return True, await self.apply(provider_name, event)
        except Exception as exc:  # noqa: BLE001  (stored: the sweep applies it; the provider needs no retry)
            log.warning("payment webhook stored, not applied yet", event_id=event.event_id,
                        error=f"{type(exc).__name__}: {exc}")
            return True, "stored; applied later"

    async def apply(self, provider_name: str, event: ProviderEvent) -> str:
        with bound(provider=provider_name, provider_event=event.event_id, reference=event.reference):
            outcome = await self._apply(provider_name, event)
            async with self.db.uow() as uow:
                await Repository(uow.session).mark_event_applied(provider_name, event.event_id, outcome, self.now())
                await uow.commit()
            log.info("payment webhook applied", type=event.type, outcome=outcome)
            return outcome

    async def _apply(self, provider_name: str, event: ProviderEvent) -> str:
        if event.kind is EventKind.IGNORED or not event.reference:
            return "ignored"
        async with self.db.uow() as uow:
            p = await Repository(uow.session).payment_by_reference(provider_name, event.reference)
        if p is None:
            # Not one of ours (another integration on the same account), or our reference was
            # never saved (a crash before step 2 saved it: that payment was never charged).
            return "no such payment"
        if event.kind is EventKind.REFUNDED:
            return "refund noted"  # our refunds are recorded when the provider answers; nothing to settle
        if p.status in OPEN:
            p = await self.flow.complete(p) if event.kind is EventKind.APPROVED else await self._settle(p)
            return f"payment {p.status}"
        if p.status == FAILED and event.kind is EventKind.SUCCEEDED:
            p = await self._settle(p)  # a late success: honoured (paid or refunded), never lost
            return f"late success: payment {p.status}"
        if p.status == FAILED and event.kind is EventKind.APPROVED:
            p = await self.flow.late_approval(p)  # approved after we gave up: taken if still payable
            return f"late approval: payment {p.status}"
        return f"payment already {p.status}"

    async def _settle(self, p):
        state = await self.flow.provider(p).look_up(p.provider_reference)
        return await self.flow.settle(p, state, may_charge=False)

    async def apply_pending(self) -> int:
        """Apply stored events that were not applied (a crash right after storing, a provider error)."""
        cutoff = self.now() - timedelta(seconds=self.settings.payment_recovery_after_seconds)
        async with self.db.uow() as uow:
            pending = await Repository(uow.session).unapplied_events(cutoff)
        for e in pending:
            event = ProviderEvent(event_id=e.event_id, type=e.type, kind=EventKind(e.kind), reference=e.reference,
                                  payload=json.loads(e.payload))
            try:
                await self.apply(e.provider, event)
            except Exception as exc:  # noqa: BLE001  (provider down: the next sweep tries again)
                log.warning("stored payment webhook not applied yet", provider=e.provider, event_id=e.event_id,
                            error=f"{type(exc).__name__}: {exc}")
        return len(pending)
