"""Taking the money, once: from a claimed payment to succeeded or failed, whatever the provider,
the buyer, the network or a crash does in between.

Paying exactly once (product.md: "An order is paid at most once, whatever happens"):

1. `Checkout.pay` claims every order (unpaid → payment_pending, all or nothing) and inserts the
   payment row (`created`) in one transaction. From here no other checkout can include them.
2. `open` prepares the payment at the provider WITHOUT moving money (Stripe: an unconfirmed
   PaymentIntent; PayPal: an order the buyer has not approved), and its reference is saved
   (`processing`) in its own commit, conditionally on the payment still being `created`.
3. `charge` takes the money (Stripe confirm, PayPal capture). When the buyer must act first (3-D
   Secure, PayPal approval) the payment waits in `requires_action` with what the buyer must do;
   the buyer's return (`complete`), a provider webhook, or the sweep carries it on.
4. Outcomes are applied in one transaction, conditionally on the payment still being open:
   succeeded → orders paid + OrderPaid; declined/cancelled → orders unpaid + OrderPaymentFailed.
5. Anything we cannot be sure of leaves the payment open; the sweep finishes it from the
   provider's real state. A checkout the buyer never completes is abandoned after
   `payment_abandon_after_seconds` (made unable to charge first). A provider success that still
   comes later is honoured: the orders are paid if nobody else paid or cancelled them meanwhile,
   otherwise the whole payment is refunded.

The provider is never trusted to deduplicate (localstripe ignores Idempotency-Key): one payment
row ↔ at most one provider payment that is ever charged, one order ↔ at most one open payment.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from dropline_infra.db import Database
from dropline_infra.observability import bound
from dropline_schemas import topics as T
from dropline_schemas.events import DroplineOrder, PaymentMethod, StoreOrderChangedData

from .adapters.port import (
    BuyerAction,
    ChargeRequest,
    Declined,
    NotFoundAtProvider,
    Outcome,
    Payee,
    PaymentProvider,
    ProviderPayment,
    ProviderUnavailable,
    Rejected,
)
from .amendments import apply_store_change
from .domain import Quote, cents, order_paid_event, order_payment_failed_event, order_payment_started_event
from .models import CheckoutPayment, CheckoutRefund
from .observability import log
from .repository import (
    CREATED,
    FAILED,
    OPEN,
    REFUND_PENDING,
    REFUNDED,
    REQUIRES_ACTION,
    SUCCEEDED,
    WHOLE_PAYMENT,
    Repository,
    order_ids_of,
)
from .settings import Settings

_TROUBLE = (Rejected, NotFoundAtProvider, ProviderUnavailable)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)  # updated_at of a new refund: due at once


class PaymentFlow:
    def __init__(self, db: Database, providers: Mapping[str, PaymentProvider], settings: Settings, *,
                 now: Callable[[], datetime]):
        self.db = db
        self.providers = providers  # by provider name
        self.settings = settings
        self.now = now

    def provider(self, p: CheckoutPayment) -> PaymentProvider:
        return self.providers[p.provider]

    # ------------------------------------------------------------------ start

    async def charge(self, p: CheckoutPayment, *, return_url: str | None, cancel_url: str | None) -> CheckoutPayment:
        """Steps 2-3: open the payment at the provider, save its reference, charge it."""
        provider = self.provider(p)
        quote = Quote.read(p.quote_json)
        usd = quote.total.usd
        async with self.db.uow() as uow:  # the supplier's terms as they travel with its orders
            row = await Repository(uow.session).order(order_ids_of(p)[0])
        terms = DroplineOrder.read(row.order_json).supplier if row else None
        req = ChargeRequest(
            payment_id=p.payment_id, amount_minor=p.amount_cents,
            payee=Payee(supplier_id=p.supplier_id, name=quote.supplier.name,
                        email=terms.paypal_email if terms else None,
                        merchant_id=terms.paypal_merchant_id if terms else None),
            description=f"Dropline: {len(order_ids_of(p))} order(s) for {quote.supplier.name}"[:127],
            payment_method=p.payment_method, return_url=return_url, cancel_url=cancel_url,
            breakdown={"item_total": cents(usd.product_cost), "shipping": cents(usd.shipping),
                       "tax_total": cents(usd.vat)},
            metadata={"payment_id": p.payment_id, "supplier_id": p.supplier_id,
                      "order_count": str(len(order_ids_of(p)))})
        try:
            opened = await provider.open(req)
        except NotFoundAtProvider:
            return await self.fail(p, f"payment method {p.payment_method!r} does not exist at the payment "
                                   "provider; nothing was charged", None)
        except (Declined, Rejected) as exc:
            return await self.fail(p, f"{exc}; nothing was charged", None)
        except ProviderUnavailable as exc:
            # Maybe it was created, maybe not; we do not know its reference, so it is never charged
            # and can never move money. Safe to give the orders back now.
            return await self.fail(p, f"the payment provider could not be reached; nothing was charged ({exc})",
                                   None)
        async with self.db.uow() as uow:
            saved = await Repository(uow.session).set_reference(p.payment_id, opened.reference, self.now())
            await uow.commit()
        if not saved:
            # The sweep closed this payment while we waited for the provider: never charge it.
            log.warning("payment closed while the provider opened it; abandoning it", reference=opened.reference)
            try:
                await provider.abandon(payment_id=p.payment_id, reference=opened.reference)
            except (*_TROUBLE, Declined) as exc:
                log.warning("could not abandon an uncharged provider payment (it cannot move money)", error=str(exc))
            return await self.reload(p)
        log.info("payment opened at the provider", reference=opened.reference, outcome=opened.outcome.value)
        p = await self.reload(p)
        if opened.outcome is Outcome.READY:
            return await self._step(p, "charge")
        return await self.settle(p, opened)

    # ------------------------------------------------------------------ the buyer comes back

    async def complete(self, p: CheckoutPayment) -> CheckoutPayment:
        """The buyer is back (approved at PayPal, or stripe.js finished 3-D Secure): look at the
        payment and carry it on (an approved PayPal order is captured now)."""
        if p.status not in OPEN or not p.provider_reference:
            return p
        return await self._look_and_settle(p, may_charge=True)

    async def cancel_by_buyer(self, p: CheckoutPayment) -> CheckoutPayment:
        """The buyer cancelled at the provider's page: make sure it can never charge, then release."""
        if p.status not in OPEN:
            return p
        if not p.provider_reference:
            return p  # still being opened: the request path or the sweep finishes it
        try:
            state = await self.provider(p).abandon(payment_id=p.payment_id, reference=p.provider_reference)
        except _TROUBLE as exc:
            log.warning("could not cancel at the provider; the sweep will look again", error=str(exc))
            return await self.reload(p)
        if state.outcome is Outcome.SUCCEEDED:  # too late: the money moved, honour it
            return await self.settle(p, state)
        return await self.fail(p, "you cancelled the payment; nothing was charged", p.provider_reference)

    # ------------------------------------------------------------------ outcomes

    async def _step(self, p: CheckoutPayment, action: str, *, depth: int = 0) -> CheckoutPayment:
        provider, reference = self.provider(p), p.provider_reference
        assert reference
        try:
            if action == "charge":
                state = await provider.charge(payment_id=p.payment_id, reference=reference)
            else:
                state = await provider.abandon(payment_id=p.payment_id, reference=reference)
        except Declined as exc:
            return await self.fail(p, exc.reason, reference)
        except _TROUBLE as exc:
            # Not an answer about the money (a concurrent charge may have won, or the network
            # failed): look at the payment itself.
            log.warning(f"{action} did not answer; looking at the provider's payment", reference=reference,
                        error=str(exc))
            give_up = isinstance(exc, Rejected) and action == "charge"
            return await self._look_and_settle(p, may_charge=False, give_up_ready=give_up, depth=depth + 1)
        return await self.settle(p, state, depth=depth + 1)

    async def _look_and_settle(self, p: CheckoutPayment, *, may_charge: bool, give_up_ready: bool = False,
                               depth: int = 0) -> CheckoutPayment:
        assert p.provider_reference
        try:
            state = await self.provider(p).look_up(p.provider_reference)
        except _TROUBLE as exc:
            log.warning("provider payment status unknown; the sweep will finish the payment",
                        reference=p.provider_reference, error=str(exc))
            return await self.reload(p)
        return await self.settle(p, state, may_charge=may_charge, give_up_ready=give_up_ready, depth=depth)

    async def settle(self, p: CheckoutPayment, state: ProviderPayment, *, may_charge: bool = False,
                     give_up_ready: bool = False, depth: int = 0) -> CheckoutPayment:
        """Apply what the provider says. Only definitive states close the payment."""
        outcome = state.outcome
        if outcome is Outcome.SUCCEEDED:
            if state.amount_minor is not None and state.amount_minor != p.amount_cents:
                log.error("provider amount differs from the payment", provider_amount=state.amount_minor,
                          amount_cents=p.amount_cents)
            return await self.succeed(p, state)
        if p.status not in OPEN:
            return p  # closed already; only a success can reopen it (above)
        if outcome is Outcome.DECLINED:
            return await self.fail(p, state.reason or "the payment was declined", state.reference)
        if outcome is Outcome.CANCELLED:
            return await self.fail(p, state.reason or "the payment was cancelled at the provider; nothing was "
                                   "charged", state.reference)
        if outcome is Outcome.ACTION_REQUIRED:
            return await self._await_buyer(p, state.action)
        if depth >= 3:
            return await self.reload(p)
        if outcome is Outcome.READY and may_charge:
            if p.status == REQUIRES_ACTION:
                # The buyer has done their part: from here a crash is finished by the regular sweep
                # (payment_recovery_after_seconds), not only after the abandonment time.
                async with self.db.uow() as uow:
                    await Repository(uow.session).resume_payment(p.payment_id, self.now())
                    await uow.commit()
                p = await self.reload(p)
            return await self._step(p, "charge", depth=depth)
        if outcome is Outcome.READY and give_up_ready:
            return await self._cancel(p, "the payment provider refused to take the payment; nothing was charged")
        # PENDING (in flight), or READY on a path that may not charge: leave it open, look again later.
        log.info("payment left open", reference=state.reference, outcome=outcome.value)
        return await self.reload(p)

    async def _cancel(self, p: CheckoutPayment, reason: str) -> CheckoutPayment:
        assert p.provider_reference
        try:
            state = await self.provider(p).abandon(payment_id=p.payment_id, reference=p.provider_reference)
        except _TROUBLE as exc:
            log.warning("could not cancel at the provider; the sweep will look again", error=str(exc))
            return await self.reload(p)
        if state.outcome is Outcome.SUCCEEDED:
            return await self.succeed(p, state)
        if state.outcome in (Outcome.CANCELLED, Outcome.DECLINED):
            return await self.fail(p, reason, p.provider_reference)
        return await self.reload(p)

    async def _await_buyer(self, p: CheckoutPayment, action: BuyerAction | None) -> CheckoutPayment:
        if p.status == REQUIRES_ACTION:
            return p
        async with self.db.uow() as uow:
            await Repository(uow.session).await_buyer(
                p.payment_id, json.dumps(dataclasses.asdict(action) if action else {}), self.now())
            await uow.commit()
        log.info("payment waits for the buyer", reference=p.provider_reference,
                 action=action.type if action else None)
        return await self.reload(p)

    async def succeed(self, p: CheckoutPayment, state: ProviderPayment) -> CheckoutPayment:
        now = self.now()
        reference = state.reference
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            if not await repo.finish_payment(p.payment_id, SUCCEEDED, from_statuses=OPEN, failure_reason=None,
                                             now=now):
                await uow.session.rollback()
                current = await self.reload(p)
                if current.status == FAILED:
                    return await self._late_success(current, state)
                return current
            if state.capture_reference:
                await repo.set_capture_reference(p.payment_id, state.capture_reference)
            rows = await repo.mark_orders_paid(p.payment_id, now)
            expected = order_ids_of(p)
            if sorted(r.order_id for r in rows) != sorted(expected):
                log.error("orders of a successful payment were not all payment_pending",
                          expected=expected, found=[r.order_id for r in rows])
            self._publish_paid(uow, p, rows, reference, now)
            await uow.commit()
        log.info("payment succeeded", reference=reference, orders=len(rows))
        return await self.reload(p)

    def _publish_paid(self, uow, p: CheckoutPayment, rows, reference: str, now: datetime) -> None:
        quote = Quote.read(p.quote_json)
        method = PaymentMethod(p.method)
        for r in rows:
            order = DroplineOrder.read(r.order_json)
            uow.publish(order_paid_event(order=order, correlation_id=r.correlation_id, payment_id=p.payment_id,
                                         method=method, provider=p.provider, provider_reference=reference,
                                         quote=quote, paid_at=now),
                        T.ORDER_PAID, key=r.order_id)

    async def _late_success(self, p: CheckoutPayment, state: ProviderPayment) -> CheckoutPayment:
        """The provider took the money for a payment we had closed as failed (abandoned, or cancelled
        while the buyer was authenticating). Never lost, never twice: if every order is still
        unpaid they are paid by it now; otherwise the whole amount goes back."""
        now = self.now()
        ids = order_ids_of(p)
        quote = Quote.read(p.quote_json)
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            if await repo.claim_orders(p.retailer_id, ids, p.payment_id, now):
                for r in await repo.orders_held_by(p.payment_id):
                    uow.publish(order_payment_started_event(
                        order_id=r.order_id, retailer_id=r.retailer_id, correlation_id=r.correlation_id,
                        payment_id=p.payment_id, method=PaymentMethod(p.method), quote=quote, started_at=now),
                        T.ORDER_PAYMENT_STARTED, key=r.order_id)
                if await repo.finish_payment(p.payment_id, SUCCEEDED, from_statuses=(FAILED,), failure_reason=None,
                                             now=now):
                    if state.capture_reference:
                        await repo.set_capture_reference(p.payment_id, state.capture_reference)
                    rows = await repo.mark_orders_paid(p.payment_id, now)
                    self._publish_paid(uow, p, rows, state.reference, now)
                    await uow.commit()
                    log.warning("late provider success honoured: the orders are paid by it", reference=state.reference)
                    return await self.reload(p)
            await uow.session.rollback()
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            if not await repo.finish_payment(p.payment_id, REFUNDED, from_statuses=(FAILED,),
                                             failure_reason=(p.failure_reason or "") + "; the provider took the "
                                             "money later, when these orders had been paid or cancelled: refunded",
                                             now=now):
                await uow.session.rollback()
                return await self.reload(p)
            if state.capture_reference:
                await repo.set_capture_reference(p.payment_id, state.capture_reference)
            if await repo.refund_for(p.payment_id, WHOLE_PAYMENT) is None:
                repo.add_refund(CheckoutRefund(
                    refund_id=str(uuid.uuid4()), payment_id=p.payment_id, order_id=WHOLE_PAYMENT,
                    retailer_id=p.retailer_id, status=REFUND_PENDING, amount_cents=p.amount_cents,
                    usd_json=quote.total.usd.model_dump_json(), supplier_json=quote.total.supplier_currency.model_dump_json(),
                    reason="the payment went through after the checkout was abandoned, and its orders had been "
                           "paid or cancelled meanwhile", created_at=now, updated_at=LONG_AGO))
            await uow.commit()
        log.warning("late provider success for orders paid or cancelled meanwhile; refunding it all",
                    reference=state.reference)
        return await self.reload(p)

    async def late_approval(self, p: CheckoutPayment) -> CheckoutPayment:
        """The buyer approved (PayPal) after the checkout was abandoned. Nothing has moved yet, so
        honour it only if every order is still unpaid: claim them again and take the payment; else
        leave it uncaptured (the approval expires at the provider; nothing is charged)."""
        now = self.now()
        quote = Quote.read(p.quote_json)
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            if not (await repo.claim_orders(p.retailer_id, order_ids_of(p), p.payment_id, now)
                    and await repo.reopen_payment(p.payment_id, now)):
                await uow.session.rollback()
                log.info("late approval not taken: its orders were paid or cancelled meanwhile; nothing charged")
                return await self.reload(p)
            for r in await repo.orders_held_by(p.payment_id):
                uow.publish(order_payment_started_event(
                    order_id=r.order_id, retailer_id=r.retailer_id, correlation_id=r.correlation_id,
                    payment_id=p.payment_id, method=PaymentMethod(p.method), quote=quote, started_at=now),
                    T.ORDER_PAYMENT_STARTED, key=r.order_id)
            await uow.commit()
        log.warning("late approval honoured: the orders were still unpaid; taking the payment")
        return await self._look_and_settle(await self.reload(p), may_charge=True)

    async def fail(self, p: CheckoutPayment, reason: str, reference: str | None) -> CheckoutPayment:
        now = self.now()
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            if not await repo.finish_payment(p.payment_id, FAILED, from_statuses=OPEN, failure_reason=reason, now=now):
                await uow.session.rollback()
                return await self.reload(p)
            rows = await repo.release_orders(p.payment_id, reason, now)
            for r in rows:
                uow.publish(order_payment_failed_event(order_id=r.order_id, retailer_id=r.retailer_id,
                                                       correlation_id=r.correlation_id, payment_id=p.payment_id,
                                                       reason=reason, provider_reference=reference),
                            T.ORDER_PAYMENT_FAILED, key=r.order_id)
                if r.pending_change_json:  # the store changed it while this payment held it: apply it now
                    apply_store_change(uow, r, StoreOrderChangedData.read(r.pending_change_json),
                                       causation_id=p.payment_id, now=now, after_failed_payment=True)
            await uow.commit()
        log.info("payment failed; orders released", reason=reason, reference=reference, orders=len(rows))
        return await self.reload(p)

    async def reload(self, p: CheckoutPayment) -> CheckoutPayment:
        async with self.db.uow() as uow:
            current = await Repository(uow.session).payment(p.payment_id)
        assert current is not None
        return current

    # ------------------------------------------------------------------ the sweep

    async def recover_once(self) -> int:
        """Finish payments left open longer than payment_recovery_after_seconds, and abandon those
        waiting for the buyer longer than payment_abandon_after_seconds. Returns how many were
        looked at."""
        now = self.now()
        cutoff = now - timedelta(seconds=self.settings.payment_recovery_after_seconds)
        abandon_cutoff = now - timedelta(seconds=self.settings.payment_abandon_after_seconds)
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            stuck = [(p, cutoff) for p in await repo.stuck_payments(cutoff)]
            stuck += [(p, abandon_cutoff) for p in await repo.waiting_payments(abandon_cutoff)]
        handled = 0
        for p, before in stuck:
            async with self.db.uow() as uow:
                leased = await Repository(uow.session).lease_payment(p.payment_id, p.status, before, self.now())
                await uow.commit()
            if not leased:
                continue  # another replica (or the request itself) moved it meanwhile
            handled += 1
            with bound(payment_id=p.payment_id, tenant_id=p.retailer_id):
                await self._recover(await self.reload(p))
        return handled

    async def _recover(self, p: CheckoutPayment) -> None:
        if p.status == CREATED:
            # Crashed (or gave up) before the provider reference was saved: that payment, if it
            # exists, was never charged, so no money moved.
            log.warning("recovering a payment that never got its provider reference; releasing the orders")
            await self.fail(p, "the checkout was interrupted before the payment was taken; nothing was charged",
                            None)
            return
        reference = p.provider_reference
        assert reference
        try:
            state = await self.provider(p).look_up(reference)
        except NotFoundAtProvider:
            # Not ours to guess (wrong key or account?): money may have moved elsewhere. An operator looks.
            log.error("provider payment of an open payment not found at the provider; left open", reference=reference)
            return
        except (Rejected, ProviderUnavailable) as exc:
            log.warning("cannot reach the payment provider; will retry", reference=reference, error=str(exc))
            return
        log.info("recovering an open payment", reference=reference, outcome=state.outcome.value, status=p.status)
        if p.status == REQUIRES_ACTION and state.outcome is Outcome.ACTION_REQUIRED:
            minutes = round(self.settings.payment_abandon_after_seconds / 60)
            await self._cancel(p, f"the checkout was not completed within {minutes} minutes (abandoned); nothing "
                               "was charged")
            return
        # An approved PayPal order whose buyer never came back is captured (PayPal's advice); an
        # unconfirmed card payment that lost its request is confirmed.
        await self.settle(p, state, may_charge=True)


def action_of(p: CheckoutPayment) -> dict | None:
    if p.status != REQUIRES_ACTION or not p.action_json:
        return None
    action = json.loads(p.action_json)
    return {k: v for k, v in action.items() if v is not None} or None

