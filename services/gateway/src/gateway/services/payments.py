"""Paying suppliers, as the retailer sees it: checkout prices and charges (it owns the rule that an
order is paid at most once); the gateway adds who the retailer is, and turns checkout's "unknown
order" into "not ready yet" for an order the retailer can already see but checkout has not
received yet (the read model and checkout consume OrderReceived independently)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from dropline_infra.db import Database

from ..adapters.checkout import CheckoutApi, path_segment
from ..errors import GatewayError, not_found
from ..repository import Repository
from ..settings import Settings
from ..views import CheckoutConfig, PaymentOut, QuoteOut, RetailerSettings, UnpaidOut
from .accounts import Principal

# The web app's PayPal return page: …/approved (PayPal's return_url) and …/cancelled (its cancel_url).
PAYPAL_RETURN_PATH = "/checkout/paypal"


class ProviderWebhookAck(BaseModel):
    received: bool = True
    duplicate: bool = Field(description="True: checkout had this provider event already (nothing done again).")
    outcome: str = Field(description="What checkout did with it, in words.")


class CancelOut(BaseModel):
    order_id: str
    status: Literal["cancelled"] = "cancelled"
    cancelled_now: bool = Field(description="False: the order was cancelled already (nothing changed).")


class Payments:
    def __init__(self, db: Database, checkout: CheckoutApi, settings: Settings):
        self.db = db
        self.checkout = checkout
        self.settings = settings

    def config(self) -> CheckoutConfig:
        return CheckoutConfig(stripe_publishable_key=self.settings.stripe_publishable_key,
                              stripe_js_url=self.settings.stripe_js_url)

    # ------------------------------------------------------------------ the price guardrail's setting

    async def retailer_settings(self, who: Principal) -> RetailerSettings:
        return RetailerSettings(max_buy_price_usd=await self._max_buy_price(who))

    async def update_retailer_settings(self, who: Principal, max_buy_price_usd: Decimal | None) -> RetailerSettings:
        if max_buy_price_usd is not None:
            max_buy_price_usd = max_buy_price_usd.quantize(Decimal("0.01"))  # "40" is kept as 40.00
        async with self.db.uow() as uow:
            retailer = await Repository(uow.session).retailer(who.retailer_id)
            if retailer is None:
                raise not_found("retailer")
            retailer.max_buy_price_usd = None if max_buy_price_usd is None else str(max_buy_price_usd)
            uow.session.add(retailer)
            await uow.commit()
        return RetailerSettings(max_buy_price_usd=max_buy_price_usd)

    async def _max_buy_price(self, who: Principal) -> Decimal | None:
        """The retailer's maximum buy price per unit (USD): checkout's price guardrail checks it."""
        async with self.db.uow() as uow:
            retailer = await Repository(uow.session).retailer(who.retailer_id)
        return Decimal(retailer.max_buy_price_usd) if retailer and retailer.max_buy_price_usd else None

    async def _guardrail_terms(self, who: Principal) -> dict[str, str]:
        limit = await self._max_buy_price(who)
        return {"max_buy_price_usd": str(limit)} if limit is not None else {}

    # ------------------------------------------------------------------ checkout

    async def unpaid(self, who: Principal) -> UnpaidOut:
        _, body = await self.checkout.call("GET", "/internal/v1/unpaid",
                                           params={"retailer_id": who.retailer_id, **await self._guardrail_terms(who)})
        return UnpaidOut.model_validate(body)

    async def quote(self, who: Principal, order_ids: list[str]) -> QuoteOut:
        try:
            _, body = await self.checkout.call("POST", "/internal/v1/quotes",
                                               json={"retailer_id": who.retailer_id, "order_ids": order_ids,
                                                     **await self._guardrail_terms(who)})
        except GatewayError as exc:
            raise await self._not_ready_yet(who, exc) from exc
        return QuoteOut.model_validate(body)

    async def pay(self, who: Principal, order_ids: list[str], method: str, payment_method: str | None,
                  idempotency_key: str | None, *, confirm_flagged: bool = False,
                  web_base_url: str | None = None) -> tuple[int, PaymentOut]:
        """(201 paid or processing | 402 declined, the payment). Orders the price check flags are paid
        only with `confirm_flagged` (checkout answers 409 price_check_failed otherwise)."""
        # Without a client key every request is a new attempt; the order-level claim still stops a double charge.
        request_id = idempotency_key or str(uuid.uuid4())
        try:
            status, body = await self.checkout.call("POST", "/internal/v1/payments", json={
                "retailer_id": who.retailer_id, "order_ids": order_ids, "method": method,
                "payment_method": payment_method, "request_id": request_id, "confirm_flagged": confirm_flagged,
                **self._return_urls(method, web_base_url), **await self._guardrail_terms(who)})
        except GatewayError as exc:
            raise await self._not_ready_yet(who, exc) from exc
        return status, PaymentOut.model_validate(body)

    async def cancel(self, who: Principal, order_id: str) -> CancelOut:
        """The retailer cancels an order nobody has paid (checkout decides, under the order's row lock:
        a payment in progress or a paid order is refused with 409). The order page follows through
        the live feed once checkout's OrderAmended reaches the read model."""
        try:
            _, body = await self.checkout.call("POST", f"/internal/v1/orders/{path_segment(order_id)}/cancel",
                                               json={"retailer_id": who.retailer_id})
        except GatewayError as exc:
            if exc.status != 404:
                raise
            answer = await self._not_ready_yet(who, exc)  # seen here, not yet in checkout: 409 not_ready_yet
            raise (answer if answer.error == "not_ready_yet" else not_found()) from exc
        return CancelOut(order_id=order_id, cancelled_now=bool(body.get("cancelled_now")))

    def _return_urls(self, method: str, web_base_url: str | None) -> dict[str, str]:
        """Where PayPal sends the browser back: the web app's return page, which reads the PayPal
        order id PayPal appends (`?token=<order id>&PayerID=…`) and finds the payment it started in
        that tab (the payment id does not exist yet when these are made)."""
        if method != "paypal":
            return {}
        base = (self.settings.public_url or web_base_url or "http://127.0.0.1:8000").rstrip("/")
        return {"return_url": f"{base}{PAYPAL_RETURN_PATH}/approved",
                "cancel_url": f"{base}{PAYPAL_RETURN_PATH}/cancelled"}

    async def complete(self, who: Principal, payment_id: str) -> PaymentOut:
        """The retailer is back (PayPal approved, or Stripe.js finished 3-D Secure): checkout asks the
        provider and captures or settles. Answers the payment as it is now (succeeded, failed with the
        reason and the orders unpaid again, or still requires_action)."""
        return await self._payment_action(who, payment_id, "complete")

    async def cancel_payment(self, who: Principal, payment_id: str) -> PaymentOut:
        """The retailer cancelled at PayPal: nothing is charged and the orders are unpaid again."""
        return await self._payment_action(who, payment_id, "cancel")

    async def _payment_action(self, who: Principal, payment_id: str, action: str) -> PaymentOut:
        try:
            _, body = await self.checkout.call("POST", f"/internal/v1/payments/{path_segment(payment_id)}/{action}",
                                               json={"retailer_id": who.retailer_id})
        except GatewayError as exc:
            if exc.status == 404:
                raise not_found("payment") from exc
            raise
        return PaymentOut.model_validate(body)

    async def provider_webhook(self, provider: str, body: bytes, headers: Mapping[str, str]) -> ProviderWebhookAck:
        """A payment provider's delivery, passed to checkout unchanged (it verifies the signature
        over these exact bytes). checkout's refusal (400 not genuine, 404 no such provider) is the
        answer; checkout down or failing is 503, so the provider delivers again later."""
        status, answer = await self.checkout.forward(f"/internal/v1/provider-webhooks/{path_segment(provider)}",
                                                     body, headers)
        if status == 200 and isinstance(answer, dict):
            return ProviderWebhookAck.model_validate(answer)
        err = answer.get("error") if isinstance(answer, dict) else None
        if status in (400, 404) and isinstance(err, dict):
            raise GatewayError(status, str(err.get("code") or "webhook_rejected"), str(err.get("message") or ""))
        raise GatewayError(503, "checkout_unavailable", f"checkout answered {status}; deliver again later",
                           headers={"Retry-After": "30"})

    async def payment(self, who: Principal, payment_id: str) -> PaymentOut:
        try:
            _, body = await self.checkout.call("GET", f"/internal/v1/payments/{path_segment(payment_id)}",
                                               params={"retailer_id": who.retailer_id})
        except GatewayError as exc:
            if exc.status == 404:
                raise not_found("payment") from exc
            raise
        return PaymentOut.model_validate(body)

    async def _not_ready_yet(self, who: Principal, exc: GatewayError) -> GatewayError:
        if exc.status != 404 or exc.error != "orders_not_found":
            return exc
        missing = exc.details.get("order_ids") or []
        async with self.db.uow() as uow:
            rows = await Repository(uow.session).orders_by_ids(who.retailer_id, missing)
        if missing and len(rows) == len(set(missing)):
            return GatewayError(409, "not_ready_yet", "these orders have just arrived and checkout is still "
                                "receiving them; try again in a second", headers={"Retry-After": "1"},
                                order_ids=missing, retry_after_seconds=1)
        return GatewayError(404, "not_found", "no such orders", order_ids=missing)
