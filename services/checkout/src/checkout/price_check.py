"""The price guardrail's reads: the orders and the ECB rates its pure rules (guardrail.py) need, for
the unpaid list, a quote and a payment. The only I/O of the guardrail lives here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from dropline_infra.db import Database
from dropline_schemas.events import DroplineOrder

from . import guardrail
from .domain import USD, Quote
from .guardrail import PriceCheck
from .repository import RatesRepository, Repository
from .views import PaymentRequest


async def _rates(session: AsyncSession, currencies: set[str], today: date, max_age_days: int,
                 known: dict | None = None) -> dict[str, guardrail.Rate]:
    wanted = {c for c in currencies if not (known and c in known)}
    stored = await RatesRepository(session).recent(sorted(wanted | {USD}), today) if wanted - {USD} else []
    return guardrail.usd_rates(currencies, today, stored, max_age_days=max_age_days, known=known)


async def for_quote(session: AsyncSession, quote: Quote, orders: Sequence[DroplineOrder], *, today: date,
                    max_age_days: int, max_buy_price_usd: Decimal | None) -> PriceCheck:
    """Each quoted order's guardrail: the quote's rate for the supplier currency, the current ECB rate
    for any other store currency."""
    known = {quote.fx.from_currency.upper(): quote.fx}
    rates = await _rates(session, guardrail.store_currencies(orders), today, max_age_days, known)
    return guardrail.for_quote(quote, orders, rates, max_buy_price_usd)


async def for_unpaid(session: AsyncSession, orders: Sequence[DroplineOrder], *, today: date, max_age_days: int,
                     max_buy_price_usd: Decimal | None) -> PriceCheck:
    """Each unpaid order's guardrail (the Orders page shows the flags), at today's rates."""
    currencies = guardrail.store_currencies(orders) | {o.supplier.currency.upper() for o in orders if o.supplier}
    rates = await _rates(session, currencies, today, max_age_days)
    return guardrail.for_orders(orders, rates, max_buy_price_usd)


async def check_payment(db: Database, req: PaymentRequest, quote: Quote, *, today: date,
                        max_age_days: int) -> PriceCheck:
    """Before a payment claims its orders: refuse flagged orders the retailer did not confirm
    (CheckoutError price_check_failed, nothing charged)."""
    async with db.uow() as uow:
        states = await Repository(uow.session).order_states(req.retailer_id, req.order_ids)
        check = await for_quote(uow.session, quote, [s.order for s in states.values()], today=today,
                                max_age_days=max_age_days, max_buy_price_usd=req.max_buy_price_usd)
    guardrail.check_guardrail(check, req.confirm_flagged)
    return check
