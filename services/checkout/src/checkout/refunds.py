"""Giving money back: a supplier that rejects a paid order gets that order's share of the payment
refunded through the provider it was paid with; a late payment for orders paid meanwhile is
refunded whole (payments.py).

Once, whatever happens:
- the rejection (a Kafka event, consumed idempotently) records a `pending` refund row, unique per
  (payment, order), in the consumer's transaction — no HTTP call on the consumer path;
- the refund sweep leases a pending refund, asks the provider (idempotency key = refund id; the
  adapter looks before it writes, since localstripe ignores keys), and records the outcome and
  OrderRefunded in one transaction, conditionally on the refund still being pending. A crash in
  between leaves it pending: the next sweep asks again and the provider answers with the same
  refund.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from dropline_infra.db import Database, UnitOfWork
from dropline_infra.observability import bound
from dropline_schemas import topics as T
from dropline_schemas.events import OrderForwardingFailedV1, PaymentMethod

from .adapters.port import NotFoundAtProvider, PaymentProvider, ProviderUnavailable, RefundRequest, Rejected
from .domain import Amounts, Quote, order_refunded_event
from .models import CheckoutPayment, CheckoutRefund
from .observability import log
from .payments import LONG_AGO
from .repository import (
    REFUND_FAILED,
    REFUND_PENDING,
    REFUND_SUCCEEDED,
    REFUNDED,
    SUCCEEDED,
    WHOLE_PAYMENT,
    Repository,
)
from .settings import Settings


async def request_refund_for_rejection(uow: UnitOfWork, event: OrderForwardingFailedV1, now: datetime) -> bool:
    """The supplier rejected a paid order: record its refund (once). False when there is nothing to
    refund (not rejected by the supplier, not paid through checkout, refunded already)."""
    data = event.data
    if not getattr(data, "rejected_by_supplier", False):
        return False  # Dropline could not forward it: an operator retries; the order stays paid
    repo = Repository(uow.session)
    row = await repo.order(data.order_id, for_update=True)
    if row is None or row.payment_id is None:
        log.warning("supplier rejected an order checkout has no payment for; nothing to refund",
                    order_id=data.order_id)
        return False
    payment = await repo.payment(row.payment_id)
    if payment is None or payment.status != SUCCEEDED:
        log.warning("supplier rejected an order whose payment is not succeeded; nothing to refund",
                    order_id=data.order_id, payment_status=payment.status if payment else None)
        return False
    if await repo.refund_for(payment.payment_id, data.order_id) is not None:
        return False
    quote = Quote.read(payment.quote_json)
    line = quote.for_order(data.order_id)
    repo.add_refund(CheckoutRefund(
        refund_id=str(uuid.uuid4()), payment_id=payment.payment_id, order_id=data.order_id,
        retailer_id=payment.retailer_id, status=REFUND_PENDING, amount_cents=line.usd.minor_total(),
        usd_json=line.usd.model_dump_json(), supplier_json=line.supplier_currency.model_dump_json(),
        reason=f"the supplier rejected the order: {data.reason}"[:2000], created_at=now, updated_at=LONG_AGO))
    log.info("refund requested: the supplier rejected the order", order_id=data.order_id,
             payment_id=payment.payment_id, amount=str(line.usd.total))
    return True


class Refunds:
    def __init__(self, db: Database, providers: Mapping[str, PaymentProvider], settings: Settings, *,
                 now: Callable[[], datetime]):
        self.db = db
        self.providers = providers
        self.settings = settings
        self.now = now

    async def process_due(self) -> int:
        cutoff = self.now() - timedelta(seconds=self.settings.payment_recovery_after_seconds)
        async with self.db.uow() as uow:
            due = await Repository(uow.session).due_refunds(cutoff)
        handled = 0
        for refund in due:
            async with self.db.uow() as uow:
                leased = await Repository(uow.session).lease_refund(refund.refund_id, cutoff, self.now())
                await uow.commit()
            if not leased:
                continue
            handled += 1
            with bound(payment_id=refund.payment_id, order_id=refund.order_id, tenant_id=refund.retailer_id):
                await self._send(refund)
        return handled

    async def _send(self, refund: CheckoutRefund) -> None:
        async with self.db.uow() as uow:
            payment = await Repository(uow.session).payment(refund.payment_id)
        assert payment is not None and payment.provider_reference
        provider = self.providers[payment.provider]
        try:
            result = await provider.refund(RefundRequest(
                refund_id=refund.refund_id, payment_id=payment.payment_id, reference=payment.provider_reference,
                capture_reference=payment.capture_reference, amount_minor=refund.amount_cents, reason=refund.reason))
        except (ProviderUnavailable, NotFoundAtProvider) as exc:
            log.warning("refund not sent; will retry", error=str(exc))
            return
        except Rejected as exc:
            await self._finish(payment, refund, REFUND_FAILED, None, str(exc))
            log.error("the provider refused the refund; an operator must look", error=str(exc))
            return
        if result.status == "pending":
            log.info("refund pending at the provider; will look again", provider_refund=result.reference)
            return
        status = REFUND_SUCCEEDED if result.status == "succeeded" else REFUND_FAILED
        await self._finish(payment, refund, status, result.reference, result.reason)

    async def _finish(self, payment: CheckoutPayment, refund: CheckoutRefund, status: str,
                      provider_reference: str | None, failure: str | None) -> None:
        now = self.now()
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            if not await repo.finish_refund(refund.refund_id, status, provider_reference=provider_reference,
                                            failure_reason=failure, now=now):
                await uow.session.rollback()
                return
            if status == REFUND_SUCCEEDED and refund.order_id != WHOLE_PAYMENT:
                quote = Quote.read(payment.quote_json)
                for r in await repo.mark_orders_refunded(payment.payment_id, [refund.order_id], refund.reason, now):
                    uow.publish(order_refunded_event(
                        order_id=r.order_id, retailer_id=r.retailer_id, correlation_id=r.correlation_id,
                        payment_id=payment.payment_id, refund_id=refund.refund_id,
                        method=PaymentMethod(payment.method), provider=payment.provider,
                        provider_reference=provider_reference or "", reason=refund.reason,
                        usd=Amounts.read(refund.usd_json),
                        supplier=Amounts.read(refund.supplier_json), fx=quote.fx, refunded_at=now),
                        T.ORDER_REFUNDED, key=r.order_id)
            await uow.commit()
        log.info("refund finished", status=status, provider_refund=provider_reference, failure=failure,
                 whole_payment=refund.order_id == WHOLE_PAYMENT or None, payment_status=payment.status,
                 refunded_payment=payment.status == REFUNDED or None)
