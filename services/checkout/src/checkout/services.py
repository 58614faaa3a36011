"""checkout's use cases: list unpaid orders, quote, pay, look up a payment, cancel an order,
carry a payment on when the buyer comes back, take provider webhooks, and the sweep.

`pay` claims the orders and records the payment in one transaction (step 1 of paying exactly once);
payments.py takes it from there (steps 2-5), refunds.py gives money back, provider_events.py takes
the providers' webhooks.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from dropline_infra.db import Database
from dropline_infra.observability import bound
from dropline_schemas import topics as T
from dropline_schemas.events import DroplineOrder, PaymentMethod

from . import fx, price_check
from .adapters.port import PaymentProvider
from .amendments import cancel_by_retailer
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
    order_payment_started_event,
    price_order,
    sum_amounts,
)
from .models import CheckoutOrder, CheckoutPayment, CheckoutRefund
from .observability import log
from .payments import PaymentFlow, action_of
from .provider_events import ProviderWebhooks
from .refunds import Refunds
from .repository import CREATED, OPEN, RatesRepository, Repository, order_ids_of
from .settings import Settings
from .views import PaymentRequest, PaymentView, QuoteView, RefundView, SupplierUnpaid, UnpaidView


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _today() -> date:
    return datetime.now(UTC).date()


def payment_view(p: CheckoutPayment, refunds: Sequence[CheckoutRefund] = ()) -> PaymentView:
    quote = Quote.read(p.quote_json)
    action = action_of(p)
    status = "requires_action" if action else "processing" if p.status in OPEN else p.status
    return PaymentView(
        payment_id=p.payment_id, retailer_id=p.retailer_id, request_id=p.request_id,
        status=status, method=PaymentMethod(p.method),
        order_ids=order_ids_of(p), supplier=quote.supplier, orders=quote.orders, total=quote.total,
        charge=quote.charge, fx=quote.fx, provider=p.provider, provider_reference=p.provider_reference,
        next_action=action, refunds=[RefundView.of(r, quote) for r in refunds],
        failure_reason=p.failure_reason, created_at=p.created_at, completed_at=p.completed_at)


class Checkout:
    def __init__(self, db: Database, providers: Mapping[PaymentMethod, PaymentProvider], settings: Settings, *,
                 now: Callable[[], datetime] = _utcnow, today: Callable[[], date] = _today):
        self.db = db
        self.providers = dict(providers)
        by_name = {p.name: p for p in self.providers.values()}
        self.settings = settings
        self.now = now
        self.today = today
        self.flow = PaymentFlow(db, by_name, settings, now=now)
        self.refunds = Refunds(db, by_name, settings, now=now)
        self.webhooks = ProviderWebhooks(db, by_name, self.flow, settings, now=now)

    # ------------------------------------------------------------------ reads

    async def unpaid(self, retailer_id: str, max_buy_price_usd: Decimal | None = None) -> UnpaidView:
        """The retailer's unpaid orders grouped by supplier, with totals in the supplier's currency,
        and each order's price guardrail."""
        async with self.db.uow() as uow:
            rows = await Repository(uow.session).unpaid_orders(retailer_id)
            checked = await price_check.for_unpaid(
                uow.session, [DroplineOrder.read(r.order_json) for r in rows], today=self.today(),
                max_age_days=self.settings.fx_max_age_days, max_buy_price_usd=max_buy_price_usd)
        groups: dict[tuple[str, str], list[DroplineOrder]] = {}
        for r in rows:
            order = DroplineOrder.read(r.order_json)
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
        return UnpaidView(retailer_id=retailer_id, suppliers=suppliers, price_check=checked)

    async def quote(self, retailer_id: str, order_ids: Sequence[str],
                    max_buy_price_usd: Decimal | None = None) -> QuoteView:
        check_order_ids(order_ids, self.settings.max_orders_per_payment)
        async with self.db.uow() as uow:
            quote, states = await self._quote(Repository(uow.session), retailer_id, order_ids)
            checked = await price_check.for_quote(
                uow.session, quote, [s.order for s in states], today=self.today(),
                max_age_days=self.settings.fx_max_age_days, max_buy_price_usd=max_buy_price_usd)
        return QuoteView(retailer_id=retailer_id, price_check=checked, **quote.model_dump())

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

    async def order(self, order_id: str) -> CheckoutOrder:
        async with self.db.uow() as uow:
            row = await Repository(uow.session).order(order_id)
        if row is None:
            raise CheckoutError("order_not_found", "no such order", order_id=order_id)
        return row

    async def payment(self, retailer_id: str, payment_id: str) -> PaymentView:
        return await self._view(await self._own_payment(retailer_id, payment_id))

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
                try:
                    quote, _ = await self._quote(repo, retailer_id, req.order_ids)
                except CheckoutError as exc:
                    # The same request_id may have claimed these orders a moment ago (two identical
                    # requests at once): then this one answers with that payment, not 409.
                    if exc.code not in ("not_payable", "payment_in_progress", "already_paid"):
                        raise
                    earlier = await repo.payment_for_request(retailer_id, req.request_id)
                    if earlier is None:
                        raise
        if earlier is not None:
            return await self._view(self._replay(earlier, req)), True
        method = check_method(quote, req.method, req.payment_method)
        provider = self.providers.get(method)
        if provider is None:
            raise CheckoutError("method_not_available", f"{method.value} payments are not configured here")
        if method is PaymentMethod.PAYPAL and not (req.return_url and req.cancel_url):
            raise CheckoutError("return_url_required", "a PayPal payment needs return_url and cancel_url (where "
                                "PayPal sends the buyer back)")
        check_charge_limits(quote)
        await price_check.check_payment(self.db, req, quote, today=self.today(),
                                        max_age_days=self.settings.fx_max_age_days)

        now = self.now()
        payment = CheckoutPayment(
            payment_id=str(uuid.uuid4()), retailer_id=retailer_id, request_id=req.request_id,
            supplier_id=quote.supplier.supplier_id, status=CREATED, method=method.value,
            payment_method=req.payment_method, order_ids=json.dumps(list(req.order_ids)),
            quote_json=quote.model_dump_json(), amount_cents=quote.charge.amount_minor, provider=provider.name,
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
                return await self._view(await self._claim_lost(req, duplicate_request)), True
            log.info("checkout started", order_ids=list(req.order_ids), amount_cents=payment.amount_cents,
                     currency=quote.supplier.currency, rate=str(quote.fx.rate), rate_date=quote.fx.rate_date)
            charged = await self.flow.charge(payment, return_url=req.return_url, cancel_url=req.cancel_url)
            return await self._view(charged), False

    def _replay(self, earlier: CheckoutPayment, req: PaymentRequest) -> CheckoutPayment:
        same = (sorted(order_ids_of(earlier)) == sorted(req.order_ids) and earlier.method == req.method
                and (earlier.payment_method or None) == (req.payment_method or None))
        if not same:
            raise CheckoutError("request_id_reused", "this request_id was used for a different payment request; "
                                "use a new request_id for a new payment", payment_id=earlier.payment_id)
        log.info("payment request replayed", payment_id=earlier.payment_id, request_id=req.request_id)
        return earlier

    async def _claim_lost(self, req: PaymentRequest, duplicate_request: bool) -> CheckoutPayment:
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

    # ------------------------------------------------------------------ after the start

    async def complete(self, retailer_id: str, payment_id: str) -> PaymentView:
        """The buyer is back from the provider (PayPal approval, 3-D Secure): carry the payment on."""
        p = await self._own_payment(retailer_id, payment_id)
        with bound(payment_id=payment_id, tenant_id=retailer_id):
            return await self._view(await self.flow.complete(p))

    async def cancel_payment(self, retailer_id: str, payment_id: str) -> PaymentView:
        """The buyer cancelled at the provider's page (or closed it): release the orders now,
        after making sure the payment can never charge."""
        p = await self._own_payment(retailer_id, payment_id)
        with bound(payment_id=payment_id, tenant_id=retailer_id):
            return await self._view(await self.flow.cancel_by_buyer(p))

    async def provider_webhook(self, provider: str, headers: dict[str, str], body: bytes) -> tuple[bool, str]:
        return await self.webhooks.receive(provider, headers, body)

    async def _own_payment(self, retailer_id: str, payment_id: str) -> CheckoutPayment:
        async with self.db.uow() as uow:
            p = await Repository(uow.session).payment(payment_id)
        if p is None or p.retailer_id != retailer_id:
            raise CheckoutError("payment_not_found", "no such payment", payment_id=payment_id)
        return p

    async def _view(self, p: CheckoutPayment) -> PaymentView:
        async with self.db.uow() as uow:
            refunds = await Repository(uow.session).refunds_of(p.payment_id)
        return payment_view(p, refunds)

    # ------------------------------------------------------------------ the sweep

    async def recover_once(self) -> int:
        """One sweep: open payments finished, abandoned checkouts released, stored webhooks
        applied, pending refunds sent. Returns how many payments were looked at."""
        handled = await self.flow.recover_once()
        await self.webhooks.apply_pending()
        await self.refunds.process_due()
        return handled

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
