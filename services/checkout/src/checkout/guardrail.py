"""The price guardrail (pure): before paying, is an order worth paying for?

For each priced order it compares what the supplier charges (in USD, exactly as checkout charges it)
with what the customer paid in the store for those lines (converted to USD with the same ECB rates),
and with the retailer's optional maximum buy price. An order that would lose money, has a product
above the maximum buy price, or whose margin cannot be worked out is *flagged*; paying a flagged
order needs the retailer's explicit confirmation (`check_guardrail`). No I/O here: the rates come in
as `FxRecord`s (or the reason there is none), from fx.py's `current_usd_rate`.

What counts, and why (deliberately conservative: when in doubt an order looks LESS profitable, so a
losing order is never waved through):

- **Cost** = the order's total in USD as checkout charges it: product cost + the supplier's
  shipping fee + VAT, each converted and rounded as `to_usd` does (the quote's per-order USD total).
- **Customer paid** = Σ unit price × quantity over the order's matched lines — the lines this
  supplier is paid for — in the store's currency (`store_totals.currency`):
  - the store's **shipping charge is NOT counted**: it belongs to the whole store order (which may be
    split over several suppliers and Dropline orders), there is no honest way to apportion it, and
    the retailer often has shipping costs of its own. Leaving it out can only make an order look
    less profitable, never more;
  - when the store's prices **include tax** (`taxes_included`), the tax is not the retailer's money:
    the lines' share of the store order's tax (tax × these lines ÷ subtotal; all of it when the
    subtotal is unknown) is taken off. Tax added on top of net prices is not counted either way;
  - order-level discounts are not in the normalised order; line prices are what the store reports.
- Converted to USD with the newest ECB reference rate (the same source and age limit as the charge);
  the same currency as the supplier's uses the quote's very rate. A currency that cannot be
  converted (no rate, stale rate, unknown code) is its own flag, `unconverted_currency`: the order
  is flagged as "margin unknown" rather than guessed at or crashed on.
- **Margin** = customer paid (USD) − cost (USD). `loss` when the cost is above what the customer
  paid (strictly: exactly break-even is not a loss).
- **Maximum buy price** (the retailer's setting, USD; none = no check) applies **per unit**: a
  product is over it when its supplier unit cost, converted to USD (before shipping and VAT, as the
  listing's unit cost), is above the maximum (equal is fine). Per unit rather than per order because
  it is a ceiling on what a product may cost — an order of ten cheap items must not trip it, one
  overpriced item must, whatever the quantity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from dropline_schemas.events import DroplineOrder, FxRecord

from . import fx
from .domain import USD, Amounts, CheckoutError, Quote, exact_money, price_order, round_money, to_usd

LOSS = "loss"
OVER_MAX_BUY_PRICE = "over_max_buy_price"
UNCONVERTED_CURRENCY = "unconverted_currency"
FLAGS = (LOSS, OVER_MAX_BUY_PRICE, UNCONVERTED_CURRENCY)

REVENUE_BASIS = ("Customer paid = the order's line prices × quantities in the store's currency, without the "
                 "store's shipping charge (not split between suppliers), without tax included in the prices; "
                 "converted to USD at the ECB reference rate. Cost = the order's USD total (product cost, "
                 "shipping fee, VAT). The maximum buy price applies to each product's unit cost in USD.")

# A currency's USD rate, or the reason there is none (for the flag's words).
Rate = FxRecord | str


class Guardrail(BaseModel):
    """One order's price check. Amounts are decimals (JSON strings); None when not computable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: str
    order_number: str
    store_currency: str
    revenue: Decimal = Field(description="What the customer paid for these lines, store currency (see basis).")
    revenue_usd: Decimal | None = Field(description="The same in USD; null when the store currency has no rate.")
    cost_usd: Decimal | None = Field(description="What the supplier is paid, USD (product cost + shipping + VAT).")
    margin_usd: Decimal | None = Field(description="revenue_usd − cost_usd; null when either is unknown.")
    revenue_fx: FxRecord | None = Field(description="The rate revenue was converted at.")
    max_buy_price_usd: Decimal | None = Field(description="The retailer's maximum buy price per unit, if set.")
    flags: list[str] = Field(description="loss | over_max_buy_price | unconverted_currency (empty: fine).")
    reasons: list[str] = Field(description="One sentence per flag, for people.")
    flagged: bool = Field(description="Paying this order needs the retailer's explicit confirmation.")


class PriceCheck(BaseModel):
    """The guardrail of every order of a quote (or of the unpaid list)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_buy_price_usd: Decimal | None
    basis: str = REVENUE_BASIS
    orders: list[Guardrail]
    flagged_order_ids: list[str]
    requires_confirmation: bool = Field(description="Some order is flagged: paying needs confirm_flagged=true.")


# --------------------------------------------------------------------------- rates


def usd_rates(currencies: Iterable[str], today, stored: Sequence[fx.StoredRate], *, max_age_days: int,
              known: Mapping[str, FxRecord] | None = None) -> dict[str, Rate]:
    """Each currency's current USD rate (fx.current_usd_rate on the stored ECB days), or the reason
    there is none. `known` rates (the quote's own) are used as they are."""
    out: dict[str, Rate] = {}
    for c in {c.upper() for c in currencies}:
        if known and c in known:
            out[c] = known[c]
            continue
        try:
            out[c] = fx.current_usd_rate(c, today, stored, max_age_days=max_age_days)
        except fx.FxError as exc:
            out[c] = str(exc)
    return out


# --------------------------------------------------------------------------- one order


def _usd(amount: Decimal) -> str:
    sign = "−" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


@exact_money
def customer_paid(order: DroplineOrder) -> Decimal:
    """What the customer paid for the order's matched lines, store currency (rules in the module doc)."""
    totals = order.store_totals
    currency = (totals.currency or "").upper()
    gross = sum((line.unit_price * line.quantity for line in order.lines if line.matched), Decimal(0))
    tax_share = Decimal(0)
    if totals.taxes_included and totals.tax and totals.tax > 0:
        share = Decimal(1)
        if totals.subtotal is not None and totals.subtotal > 0 and gross < totals.subtotal:
            share = gross / totals.subtotal
        tax_share = min(totals.tax * share, max(gross, Decimal(0)))
    return round_money(gross - tax_share, currency)


@exact_money
def assess(order: DroplineOrder, cost: Amounts | None, supplier_rate: Rate, store_rate: Rate,
           max_buy_price_usd: Decimal | None) -> Guardrail:
    """The guardrail of one order. `cost` is price_order(order) (None: it could not be priced)."""
    store_currency = (order.store_totals.currency or "").upper() or "?"
    revenue = customer_paid(order)
    flags: list[str] = []
    reasons: list[str] = []

    cost_usd = None
    if cost is not None and isinstance(supplier_rate, FxRecord):
        cost_usd = to_usd(cost, supplier_rate).total
    revenue_fx = store_rate if isinstance(store_rate, FxRecord) else None
    revenue_usd = round_money(revenue * revenue_fx.rate, USD) if revenue_fx is not None else None

    unconverted = []
    if revenue_fx is None:
        unconverted.append(f"what the customer paid ({store_currency}) cannot be converted to USD: {store_rate}")
    if cost is not None and not isinstance(supplier_rate, FxRecord):
        unconverted.append(f"the supplier cost ({cost.currency}) cannot be converted to USD: {supplier_rate}")
    if cost is None:
        unconverted.append("the order cannot be priced, so its cost is unknown")
    if unconverted:
        flags.append(UNCONVERTED_CURRENCY)
        reasons.append("Margin unknown: " + "; ".join(unconverted) + ".")

    margin = revenue_usd - cost_usd if revenue_usd is not None and cost_usd is not None else None
    if margin is not None and margin < 0:
        flags.append(LOSS)
        reasons.append(f"Loses money: the customer paid {_usd(revenue_usd)} for these items, the supplier costs "
                       f"{_usd(cost_usd)} (margin {_usd(margin)}).")

    if max_buy_price_usd is not None and isinstance(supplier_rate, FxRecord):
        over = []
        for line in order.lines:
            if not line.matched or line.unit_cost is None:
                continue
            unit_usd = round_money(line.unit_cost * supplier_rate.rate, USD)
            if unit_usd > max_buy_price_usd:
                over.append(f"{line.sku or line.title} costs {_usd(unit_usd)} per unit")
        if over:
            flags.append(OVER_MAX_BUY_PRICE)
            reasons.append(f"Above your max buy price of {_usd(max_buy_price_usd)}: " + "; ".join(over) + ".")

    return Guardrail(order_id=order.order_id, order_number=order.order_number, store_currency=store_currency,
                     revenue=revenue, revenue_usd=revenue_usd, cost_usd=cost_usd, margin_usd=margin,
                     revenue_fx=revenue_fx, max_buy_price_usd=max_buy_price_usd, flags=flags, reasons=reasons,
                     flagged=bool(flags))


# --------------------------------------------------------------------------- many orders


def store_currencies(orders: Iterable[DroplineOrder]) -> set[str]:
    return {(o.store_totals.currency or "").upper() for o in orders}


def summarise(guardrails: list[Guardrail], max_buy_price_usd: Decimal | None) -> PriceCheck:
    flagged = [g.order_id for g in guardrails if g.flagged]
    return PriceCheck(max_buy_price_usd=max_buy_price_usd, orders=guardrails, flagged_order_ids=flagged,
                      requires_confirmation=bool(flagged))


def for_quote(quote: Quote, orders: Sequence[DroplineOrder], rates: Mapping[str, Rate],
              max_buy_price_usd: Decimal | None) -> PriceCheck:
    """The guardrail of each order of a quote: cost is the quote's own USD figure (same rate, same
    rounding), revenue converted with `rates` (which should hold the quote's rate for its currency)."""
    by_id = {o.order_id: o for o in orders}
    out = []
    for line in quote.orders:
        order = by_id.get(line.order_id)
        if order is None:
            raise CheckoutError("checkout_conflict", "these orders changed while the checkout started; try again")
        store = (order.store_totals.currency or "").upper()
        store_rate = quote.fx if store == quote.fx.from_currency.upper() else rates.get(store, "no rate looked up")
        out.append(assess(order, line.supplier_currency, quote.fx, store_rate, max_buy_price_usd))
    return summarise(out, max_buy_price_usd)


def for_orders(orders: Sequence[DroplineOrder], rates: Mapping[str, Rate],
               max_buy_price_usd: Decimal | None) -> PriceCheck:
    """The guardrail of orders without a quote (the unpaid list): each priced with its own terms, its
    cost converted at its supplier currency's current rate."""
    out = []
    for order in orders:
        if order.supplier is None:
            continue
        try:
            cost: Amounts | None = price_order(order)
        except CheckoutError:
            cost = None
        supplier_rate = rates.get(order.supplier.currency.upper(), "no rate looked up")
        store_rate = rates.get((order.store_totals.currency or "").upper(), "no rate looked up")
        out.append(assess(order, cost, supplier_rate, store_rate, max_buy_price_usd))
    return summarise(out, max_buy_price_usd)


def check_guardrail(check: PriceCheck, confirmed: bool) -> None:
    """Refuse to pay flagged orders unless the retailer confirmed them (nothing is charged)."""
    if not check.requires_confirmation or confirmed:
        return
    flagged = [g for g in check.orders if g.flagged]
    listed = "; ".join(f"{g.order_number}: " + " ".join(g.reasons) for g in flagged)
    raise CheckoutError(
        "price_check_failed",
        f"{len(flagged)} of these orders {'is' if len(flagged) == 1 else 'are'} flagged by the price check. "
        f"{listed} Nothing was charged; to pay anyway, confirm the flagged orders (confirm_flagged=true).",
        orders=[{"order_id": g.order_id, "order_number": g.order_number, "flags": g.flags, "reasons": g.reasons,
                 "revenue_usd": _str(g.revenue_usd), "cost_usd": _str(g.cost_usd),
                 "margin_usd": _str(g.margin_usd)} for g in flagged])


def _str(d: Decimal | None) -> str | None:
    return None if d is None else str(d)
