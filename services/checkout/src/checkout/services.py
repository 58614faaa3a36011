"""checkout's use cases: list unpaid orders, quote, pay, look up a payment, recover stuck payments.

Paying exactly once (product.md: "An order is paid at most once, whatever happens"):

1. One transaction claims every order (conditional UPDATE unpaid → payment_pending; all or
   nothing), inserts the payment row (`created`, with its priced quote and the client's
   request_id, unique per retailer) and publishes OrderPaymentStarted per order. From here no
   other checkout can include these orders.
2. The PaymentIntent is created WITHOUT confirming it, and its id is saved (`processing`) in its
   own commit, conditionally on the payment still being `created`. An unconfirmed PaymentIntent
   moves no money, so a crash before this point is safe to undo.
3. The PaymentIntent is confirmed. Its outcome is applied in one transaction, conditionally on the
   payment still being open: succeeded → orders paid + OrderPaid per order; declined → orders
   unpaid again + OrderPaymentFailed per order. Events leave only through the outbox.
4. Anything in between that we cannot be sure of (network error, timeout, crash) leaves the
   payment open; the recovery loop finishes it from the PaymentIntent's real status.

The provider is never trusted to deduplicate (localstripe ignores Idempotency-Key): one payment
row ↔ at most one PaymentIntent that is ever confirmed, and one order ↔ at most one open payment.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from dropline_infra.db import Database
from dropline_infra.observability import bound
from dropline_schemas import topics as T
from dropline_schemas.events import DroplineOrder, PaymentMethod, StoreOrderChangedData

from . import fx
from .amendments import apply_store_change, cancel_by_retailer
from .domain import (
    CheckoutError,
    OrderState,
    Quote,
    accepted_methods,
    build_quote,
    check_charge_limits,
    check_method,
    check_order_ids,
    check_orders,
    order_paid_event,
    order_payment_failed_event,
    order_payment_started_event,
    price_order,
    sum_amounts,
)
from .models import CheckoutPayment
from .observability import log
from .provider import Declined, Intent, NotFoundAtProvider, PaymentProvider, ProviderUnavailable, Rejected
from .repository import (
    CREATED,
    FAILED,
    OPEN,
    PROCESSING,
    SUCCEEDED,
    RatesRepository,
    Repository,
    order_ids_of,
)
from .settings import Settings
from .views import PaymentRequest, PaymentView, QuoteView, SupplierUnpaid, UnpaidView

_PROVIDER_TROUBLE = (Rejected, NotFoundAtProvider, ProviderUnavailable)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _today() -> date:
    return datetime.now(UTC).date()


def payment_view(p: CheckoutPayment) -> PaymentView:
    quote = Quote.model_validate_json(p.quote_json)
    return PaymentView(
        payment_id=p.payment_id, retailer_id=p.retailer_id, request_id=p.request_id,
        status="processing" if p.status in OPEN else p.status, method=PaymentMethod(p.method),
        order_ids=order_ids_of(p), supplier=quote.supplier, orders=quote.orders, total=quote.total,
        charge=quote.charge, fx=quote.fx, provider=p.provider, provider_reference=p.provider_reference,
        failure_reason=p.failure_reason, created_at=p.created_at, completed_at=p.completed_at)


class Checkout:
    def __init__(self, db: Database, provider: PaymentProvider, settings: Settings, *,
                 now: Callable[[], datetime] = _utcnow, today: Callable[[], date] = _today):
        self.db = db
        self.provider = provider
        self.settings = settings
        self.now = now
        self.today = today

    # ------------------------------------------------------------------ reads

    async def unpaid(self, retailer_id: str) -> UnpaidView:
        """The retailer's unpaid orders grouped by supplier, with totals in the supplier's currency."""
        async with self.db.uow() as uow:
            rows = await Repository(uow.session).unpaid_orders(retailer_id)
        groups: dict[tuple[str, str], list[DroplineOrder]] = {}
        for r in rows:
            order = DroplineOrder.model_validate_json(r.order_json)
            if order.supplier is None:
                continue
            groups.setdefault((order.supplier.supplier_id, order.supplier.currency.upper()), []).append(order)
        suppliers = []
        for (supplier_id, currency), orders in groups.items():
            priced, unpriced = [], []
            for o in orders:
                try:
                    priced.append(price_order(o))
                except CheckoutError as exc:
                    unpriced.append({"order_id": o.order_id, "reason": exc.message})
            latest = orders[-1].supplier
            suppliers.append(SupplierUnpaid(
                supplier_id=supplier_id, name=latest.name, currency=currency,
                payment_methods=accepted_methods(orders), order_count=len(orders),
                order_ids=[o.order_id for o in orders], amounts=sum_amounts(priced, currency), unpriced=unpriced))
        return UnpaidView(retailer_id=retailer_id, suppliers=suppliers)

    async def quote(self, retailer_id: str, order_ids: Sequence[str]) -> QuoteView:
        check_order_ids(order_ids, self.settings.max_orders_per_payment)
        async with self.db.uow() as uow:
            quote, _ = await self._quote(Repository(uow.session), retailer_id, order_ids)
        return QuoteView(retailer_id=retailer_id, **quote.model_dump())

    async def _quote(self, repo: Repository, retailer_id: str, order_ids: Sequence[str]
                     ) -> tuple[Quote, list[OrderState]]:
        states = check_orders(order_ids, await repo.order_states(retailer_id, order_ids))
        orders = [s.order for s in states]
        currency = orders[0].supplier.currency if orders[0].supplier else ""
        today = self.today()
        stored = await RatesRepository(repo.s).recent(sorted({fx.USD, currency.upper()}), today)
        try:
            record = fx.current_usd_rate(currency, today, stored, max_age_days=self.settings.fx_max_age_days)
        except fx.FxError as exc:
            raise CheckoutError(exc.code, str(exc), **{"currency": currency, **exc.details}) from exc
        return build_quote(orders, record), states

    async def payment(self, retailer_id: str, payment_id: str) -> PaymentView:
        async with self.db.uow() as uow:
            p = await Repository(uow.session).payment(payment_id)
        if p is None or p.retailer_id != retailer_id:
            raise CheckoutError("payment_not_found", "no such payment", payment_id=payment_id)
        return payment_view(p)

    # ------------------------------------------------------------------ cancel

    async def cancel(self, retailer_id: str, order_id: str) -> tuple[str, bool]:
        """The retailer cancels an unpaid (non-auto-order, unmatched) order: (status, cancelled_now).
        Idempotent: an order cancelled already answers (cancelled, False) and publishes nothing. The
        row is locked as claim_orders locks it, so a checkout starting at the same moment either
        claims the order first (this answers payment_in_progress) or finds it cancelled."""
        now = self.now()
        with bound(tenant_id=retailer_id, order_id=order_id):
            async with self.db.uow() as uow:
                row = await Repository(uow.session).order(order_id, for_update=True)
                if row is None or row.retailer_id != retailer_id:  # another retailer's order is not found
                    raise CheckoutError("orders_not_found", "no such order", order_ids=[order_id])
                cancelled = cancel_by_retailer(uow, row, causation_id=f"retailer-cancel-{uuid.uuid4()}", now=now)
                status = row.status
                await uow.commit()
        return status, cancelled

    # ------------------------------------------------------------------ pay

    async def pay(self, req: PaymentRequest) -> tuple[PaymentView, bool]:
        """Pay one order or several orders of one supplier. Returns (payment, replayed): replayed is
        True when `request_id` was seen before and the earlier payment is returned unchanged."""
        retailer_id = req.retailer_id
        check_order_ids(req.order_ids, self.settings.max_orders_per_payment)
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            earlier = await repo.payment_for_request(retailer_id, req.request_id)
            if earlier is None:
                quote, _ = await self._quote(repo, retailer_id, req.order_ids)
        if earlier is not None:
            return self._replay(earlier, req), True
        method = check_method(quote, req.method, req.payment_method)
        check_charge_limits(quote)

        now = self.now()
        payment = CheckoutPayment(
            payment_id=str(uuid.uuid4()), retailer_id=retailer_id, request_id=req.request_id,
            supplier_id=quote.supplier.supplier_id, status=CREATED, method=method.value,
            payment_method=req.payment_method, order_ids=json.dumps(list(req.order_ids)),
            quote_json=quote.model_dump_json(), amount_cents=quote.charge.amount_minor, provider=self.provider.name,
            created_at=now, updated_at=now)
        with bound(payment_id=payment.payment_id, tenant_id=retailer_id):
            # Step 1: claim the orders and record the payment, atomically.
            claimed = duplicate_request = False
            async with self.db.uow() as uow:
                repo = Repository(uow.session)
                if await repo.claim_orders(retailer_id, req.order_ids, payment.payment_id, now):
                    # The payment_pending step, with what each order is being charged. (Read before
                    # the payment row is added: a duplicate request_id must surface at commit.)
                    for r in await repo.orders_held_by(payment.payment_id):
                        uow.publish(order_payment_started_event(
                            order_id=r.order_id, retailer_id=r.retailer_id, correlation_id=r.correlation_id,
                            payment_id=payment.payment_id, method=method, quote=quote, started_at=now),
                            T.ORDER_PAYMENT_STARTED, key=r.order_id)
                    repo.add_payment(payment)
                    try:
                        await uow.commit()
                        claimed = True
                    except IntegrityError:  # the same request_id won a concurrent race
                        duplicate_request = True
            if not claimed:
                return await self._claim_lost(req, duplicate_request), True
            log.info("checkout started", order_ids=list(req.order_ids), amount_cents=payment.amount_cents,
                     currency=quote.supplier.currency, rate=str(quote.fx.rate), rate_date=quote.fx.rate_date)
            return payment_view(await self._charge(payment)), False

    def _replay(self, earlier: CheckoutPayment, req: PaymentRequest) -> PaymentView:
        same = (sorted(order_ids_of(earlier)) == sorted(req.order_ids) and earlier.method == req.method
                and (earlier.payment_method or None) == (req.payment_method or None))
        if not same:
            raise CheckoutError("request_id_reused", "this request_id was used for a different payment request; "
                                "use a new request_id for a new payment", payment_id=earlier.payment_id)
        log.info("payment request replayed", payment_id=earlier.payment_id, request_id=req.request_id)
        return payment_view(earlier)

    async def _claim_lost(self, req: PaymentRequest, duplicate_request: bool) -> PaymentView:
        """The claim failed: either a concurrent request with the same request_id made the payment
        (answer with it), or some order stopped being payable in between (409, as it is now)."""
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            earlier = await repo.payment_for_request(req.retailer_id, req.request_id)
            if earlier is not None:
                return self._replay(earlier, req)
            check_orders(req.order_ids, await repo.order_states(req.retailer_id, req.order_ids))
        # Every order is unpaid again: a competing checkout took them and has already failed.
        raise CheckoutError("checkout_conflict", "these orders changed while the checkout started; try again"
                            + (" (concurrent request with the same request_id)" if duplicate_request else ""))

    async def _charge(self, p: CheckoutPayment) -> CheckoutPayment:
        """Steps 2-3: create the PaymentIntent, save its id, confirm it, apply the outcome."""
        try:
            intent = await self.provider.create_intent(
                payment_id=p.payment_id, amount_cents=p.amount_cents, payment_method=p.payment_method or "",
                metadata={"payment_id": p.payment_id, "supplier_id": p.supplier_id,
                          "order_count": str(len(order_ids_of(p)))})
        except NotFoundAtProvider:
            return await self._fail(p, f"payment method {p.payment_method!r} does not exist at the payment "
                                    "provider; nothing was charged", None)
        except (Declined, Rejected) as exc:
            return await self._fail(p, f"{exc}; nothing was charged", None)
        except ProviderUnavailable as exc:
            # Maybe a PaymentIntent was created, maybe not; we do not know its id, so it is never
            # confirmed and can never move money. Safe to give the orders back now.
            return await self._fail(p, f"the payment provider could not be reached; nothing was charged ({exc})",
                                    None)
        async with self.db.uow() as uow:
            saved = await Repository(uow.session).set_intent(p.payment_id, intent.id, self.now())
            await uow.commit()
        if not saved:
            # The recovery loop closed this payment while we waited for the provider: do not confirm.
            log.warning("payment closed while creating its PaymentIntent; cancelling it", intent_id=intent.id)
            try:
                await self.provider.cancel_intent(payment_id=p.payment_id, intent_id=intent.id)
            except (*_PROVIDER_TROUBLE, Declined) as exc:
                log.warning("could not cancel unconfirmed PaymentIntent (it cannot move money)", error=str(exc))
            return await self._reload(p)
        log.info("payment intent created", intent_id=intent.id)
        return await self._provider_step(p, intent.id, "confirm")

    async def _provider_step(self, p: CheckoutPayment, intent_id: str, action: str, *, depth: int = 0,
                             reason: str | None = None) -> CheckoutPayment:
        try:
            if action == "confirm":
                intent = await self.provider.confirm_intent(payment_id=p.payment_id, intent_id=intent_id)
            else:
                intent = await self.provider.cancel_intent(payment_id=p.payment_id, intent_id=intent_id)
        except Declined as exc:
            return await self._fail(p, exc.reason, intent_id)
        except _PROVIDER_TROUBLE as exc:
            # Not an answer about the money (a concurrent confirm may have won, or the network failed):
            # look at the PaymentIntent itself.
            log.warning(f"{action} did not answer; checking the PaymentIntent", intent_id=intent_id, error=str(exc))
            try:
                intent = await self.provider.retrieve_intent(intent_id)
            except _PROVIDER_TROUBLE as exc2:
                log.warning("PaymentIntent status unknown; the recovery loop will finish the payment",
                            intent_id=intent_id, error=str(exc2))
                return await self._reload(p)
            give_up = isinstance(exc, Rejected) and action == "confirm"
            return await self._settle(p, intent, may_confirm=False, give_up_unconfirmed=give_up, depth=depth + 1)
        return await self._settle(p, intent, may_confirm=False, depth=depth + 1, reason=reason)

    async def _settle(self, p: CheckoutPayment, intent: Intent, *, may_confirm: bool,
                      give_up_unconfirmed: bool = False, depth: int = 0, reason: str | None = None
                      ) -> CheckoutPayment:
        """Apply what the PaymentIntent says. Only definitive states close the payment."""
        status = intent.status
        if status == "succeeded":
            if intent.amount != p.amount_cents:
                log.error("PaymentIntent amount differs from the payment", intent_amount=intent.amount,
                          amount_cents=p.amount_cents)
            return await self._succeed(p, intent.id)
        if status == "requires_payment_method":  # the charge was declined
            return await self._fail(p, intent.failure or "the card was declined", intent.id)
        if status == "canceled":
            return await self._fail(p, reason or "the payment was cancelled at the provider; nothing was charged",
                                    intent.id)
        if depth >= 3:
            return await self._reload(p)
        if status == "requires_confirmation" and may_confirm:
            return await self._provider_step(p, intent.id, "confirm", depth=depth)
        if status == "requires_action":
            return await self._provider_step(
                p, intent.id, "cancel", depth=depth,
                reason="the card requires authentication (3-D Secure), which checkout does not support yet; "
                       "nothing was charged")
        if status == "requires_confirmation" and give_up_unconfirmed:
            return await self._provider_step(
                p, intent.id, "cancel", depth=depth,
                reason="the payment provider refused to confirm the payment; nothing was charged")
        # processing (the charge is in flight), requires_capture (never asked for), or an unconfirmed
        # intent on the request path: leave the payment open, the recovery loop looks again.
        log.info("payment left open", intent_id=intent.id, intent_status=status)
        return await self._reload(p)

    async def _succeed(self, p: CheckoutPayment, intent_id: str) -> CheckoutPayment:
        now = self.now()
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            if not await repo.finish_payment(p.payment_id, SUCCEEDED, from_statuses=(PROCESSING,),
                                             failure_reason=None, now=now):
                await uow.session.rollback()
                current = await self._reload(p)
                if current.status == FAILED:
                    log.critical("money captured for a payment already marked failed; refund it",
                                 intent_id=intent_id, payment_id=p.payment_id)
                return current
            rows = await repo.mark_orders_paid(p.payment_id, now)
            expected = order_ids_of(p)
            if sorted(r.order_id for r in rows) != sorted(expected):
                log.error("orders of a successful payment were not all payment_pending",
                          expected=expected, found=[r.order_id for r in rows])
            quote = Quote.model_validate_json(p.quote_json)
            method = PaymentMethod(p.method)
            for r in rows:
                order = DroplineOrder.model_validate_json(r.order_json)
                uow.publish(order_paid_event(order=order, correlation_id=r.correlation_id, payment_id=p.payment_id,
                                             method=method, provider=p.provider, provider_reference=intent_id,
                                             quote=quote, paid_at=now),
                            T.ORDER_PAID, key=r.order_id)
            await uow.commit()
        log.info("payment succeeded", intent_id=intent_id, orders=len(rows))
        return await self._reload(p)

    async def _fail(self, p: CheckoutPayment, reason: str, intent_id: str | None) -> CheckoutPayment:
        now = self.now()
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            if not await repo.finish_payment(p.payment_id, FAILED, from_statuses=OPEN, failure_reason=reason,
                                             now=now):
                await uow.session.rollback()
                return await self._reload(p)
            rows = await repo.release_orders(p.payment_id, reason, now)
            for r in rows:
                uow.publish(order_payment_failed_event(order_id=r.order_id, retailer_id=r.retailer_id,
                                                       correlation_id=r.correlation_id, payment_id=p.payment_id,
                                                       reason=reason, provider_reference=intent_id),
                            T.ORDER_PAYMENT_FAILED, key=r.order_id)
                if r.pending_change_json:  # the store changed it while this payment held it: apply it now
                    apply_store_change(uow, r, StoreOrderChangedData.model_validate_json(r.pending_change_json),
                                       causation_id=p.payment_id, now=now, after_failed_payment=True)
            await uow.commit()
        log.info("payment failed; orders released", reason=reason, intent_id=intent_id, orders=len(rows))
        return await self._reload(p)

    async def _reload(self, p: CheckoutPayment) -> CheckoutPayment:
        async with self.db.uow() as uow:
            current = await Repository(uow.session).payment(p.payment_id)
        assert current is not None
        return current

    # ------------------------------------------------------------------ recovery

    async def recover_once(self) -> int:
        """Finish payments left open longer than payment_recovery_after_seconds. Returns how many
        were looked at."""
        cutoff = self.now() - timedelta(seconds=self.settings.payment_recovery_after_seconds)
        async with self.db.uow() as uow:
            stuck = await Repository(uow.session).stuck_payments(cutoff)
        handled = 0
        for p in stuck:
            async with self.db.uow() as uow:
                leased = await Repository(uow.session).lease_payment(p.payment_id, p.status, cutoff, self.now())
                await uow.commit()
            if not leased:
                continue  # another replica (or the request itself) moved it meanwhile
            handled += 1
            with bound(payment_id=p.payment_id, tenant_id=p.retailer_id):
                await self._recover(p)
        return handled

    async def _recover(self, p: CheckoutPayment) -> None:
        if p.status == CREATED:
            # Crashed (or gave up) before the PaymentIntent id was saved: that intent, if it exists,
            # was never confirmed, so no money moved.
            log.warning("recovering a payment that never got its PaymentIntent id; releasing the orders")
            await self._fail(p, "the checkout was interrupted before the card was charged; nothing was charged",
                             None)
            return
        intent_id = p.provider_reference
        assert intent_id
        try:
            intent = await self.provider.retrieve_intent(intent_id)
        except NotFoundAtProvider:
            # Not ours to guess (wrong key or account?): money may have moved elsewhere. An operator looks.
            log.error("PaymentIntent of an open payment not found at the provider; left open", intent_id=intent_id)
            return
        except (Rejected, ProviderUnavailable) as exc:
            log.warning("cannot reach the payment provider; will retry", intent_id=intent_id, error=str(exc))
            return
        log.info("recovering an open payment", intent_id=intent_id, intent_status=intent.status)
        await self._settle(p, intent, may_confirm=True)

    async def run_recovery(self) -> None:
        """Background loop (registered in Service.background)."""
        interval = self.settings.payment_recovery_interval_seconds
        while True:
            try:
                await self.recover_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001  (a database hiccup must not end the loop)
                log.warning("payment recovery sweep failed; retrying", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(interval)

