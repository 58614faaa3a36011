"""Pure parts of the fetched ECB rates: strict parsing, choosing the day, cross rates, the age rule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from checkout import ecb, fx
from checkout.fx import StoredRate

# The ECB's documented daily sample (eurofxref-daily.xml, 28 June 2024), as published.
SAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
\t<gesmes:subject>Reference rates</gesmes:subject>
\t<gesmes:Sender>
\t\t<gesmes:name>European Central Bank</gesmes:name>
\t</gesmes:Sender>
\t<Cube>
\t\t<Cube time='2024-06-28'>
\t\t\t<Cube currency='USD' rate='1.0705'/>
\t\t\t<Cube currency='JPY' rate='171.94'/>
\t\t\t<Cube currency='BGN' rate='1.9558'/>
\t\t\t<Cube currency='CZK' rate='25.025'/>
\t\t\t<Cube currency='DKK' rate='7.4575'/>
\t\t\t<Cube currency='GBP' rate='0.84638'/>
\t\t\t<Cube currency='HUF' rate='395.10'/>
\t\t\t<Cube currency='PLN' rate='4.3090'/>
\t\t\t<Cube currency='RON' rate='4.9773'/>
\t\t\t<Cube currency='SEK' rate='11.3595'/>
\t\t\t<Cube currency='CHF' rate='0.9634'/>
\t\t\t<Cube currency='ISK' rate='148.90'/>
\t\t\t<Cube currency='NOK' rate='11.3965'/>
\t\t\t<Cube currency='TRY' rate='35.1868'/>
\t\t\t<Cube currency='AUD' rate='1.6079'/>
\t\t\t<Cube currency='BRL' rate='5.8915'/>
\t\t\t<Cube currency='CAD' rate='1.4670'/>
\t\t\t<Cube currency='CNY' rate='7.7748'/>
\t\t\t<Cube currency='HKD' rate='8.3594'/>
\t\t\t<Cube currency='IDR' rate='17487.21'/>
\t\t\t<Cube currency='ILS' rate='4.0200'/>
\t\t\t<Cube currency='INR' rate='89.2495'/>
\t\t\t<Cube currency='KRW' rate='1474.86'/>
\t\t\t<Cube currency='MXN' rate='19.5654'/>
\t\t\t<Cube currency='MYR' rate='5.0501'/>
\t\t\t<Cube currency='NZD' rate='1.7601'/>
\t\t\t<Cube currency='PHP' rate='62.560'/>
\t\t\t<Cube currency='SGD' rate='1.4513'/>
\t\t\t<Cube currency='THB' rate='39.319'/>
\t\t\t<Cube currency='ZAR' rate='19.4970'/>
\t\t</Cube>
\t</Cube>
</gesmes:Envelope>
"""

HEAD = ('<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
        'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><Cube>')
TAIL = "</Cube></gesmes:Envelope>"


def doc(*days: str) -> str:
    return HEAD + "".join(days) + TAIL


def day(when: str, **rates: str) -> str:
    return f"<Cube time='{when}'>" + "".join(f"<Cube currency='{c}' rate='{r}'/>" for c, r in rates.items()) + "</Cube>"


URL = "http://ecb/stats/eurofxref/eurofxref-hist-90d.xml"


def stored(days: dict[str, dict[str, str]]) -> list[StoredRate]:
    return [StoredRate(date.fromisoformat(d), c, Decimal(r), URL) for d, rates in days.items() for c, r in rates.items()]


# --------------------------------------------------------------------------- parsing


def test_the_documented_daily_sample_parses_exactly():
    [d] = ecb.parse(SAMPLE)
    assert d.day == date(2024, 6, 28)
    assert len(d.rates) == 30 and "EUR" not in d.rates
    assert d.rates["USD"] == Decimal("1.0705") and str(d.rates["HUF"]) == "395.10"
    assert d.rates["GBP"] == Decimal("0.84638") and d.rates["IDR"] == Decimal("17487.21")
    assert ecb.parse(SAMPLE.encode()) == [d]  # bytes as fetched


def test_hist_90d_days_come_newest_first():
    days = ecb.parse(doc(day("2024-06-27", USD="1.0713", GBP="0.84755"), day("2024-06-28", USD="1.0705")))
    assert [d.day for d in days] == [date(2024, 6, 28), date(2024, 6, 27)]


@pytest.mark.parametrize("body, why", [
    (SAMPLE[: len(SAMPLE) // 2], "not well-formed"),                       # truncated download
    ("", "not well-formed"),
    ("<html><body>Service Unavailable</body></html>", "root element"),      # an error page
    (SAMPLE.replace("eurofxref", "eurofxrev"), "one eurofxref Cube"),       # other namespace
    (HEAD + TAIL, "no day"),
    (doc(day("2024-06-28")), "has no rates"),
    (doc(day("2024-06-28", JPY="171.94")), "no USD rate"),                  # partial day
    (doc(day("28/06/2024", USD="1.07")), "not YYYY-MM-DD"),
    (doc(day("2024-02-30", USD="1.07")), "not a date"),
    (doc(day("2024-06-28", USD="1.07"), day("2024-06-28", USD="1.08")), "appears twice"),
    (doc(day("2024-06-28", USD="n/a")), "not a plain decimal"),
    (doc(day("2024-06-28", USD="-1.07")), "not a plain decimal"),
    (doc(day("2024-06-28", USD="1e3")), "not a plain decimal"),
    (doc(day("2024-06-28", USD="0")), "the USD rate is 0"),
    (doc(day("2024-06-28", USD="1.07", usd="1.07")), "not a currency code"),
    (doc(day("2024-06-28", USD="1.07", EUR="1")), "not a currency code"),
    (doc(day("2024-06-28", USD="1.07").replace("<Cube currency", "<Rate currency", 1)), "unexpected element"),
    ('<!DOCTYPE x [<!ENTITY a "1.07">]>' + doc(day("2024-06-28", USD="&a;")), "DTD"),
])
def test_malformed_or_partial_documents_are_refused_whole(body, why):
    with pytest.raises(ecb.MalformedRates, match=why):
        ecb.parse(body)


def test_a_repeated_currency_in_a_day_is_refused():
    body = doc("<Cube time='2024-06-28'><Cube currency='USD' rate='1.07'/><Cube currency='USD' rate='1.08'/></Cube>")
    with pytest.raises(ecb.MalformedRates, match="USD appears twice"):
        ecb.parse(body)


# --------------------------------------------------------------------------- choosing the rate


RATES = stored({
    "2024-06-26": {"USD": "1.0700", "GBP": "0.84700", "JPY": "171.00"},
    "2024-06-27": {"USD": "1.0713", "GBP": "0.84755"},
    "2024-06-28": {"USD": "1.0705", "GBP": "0.84638"},  # a Friday
})


def test_the_newest_day_on_or_before_today_is_used():
    r = fx.usd_rate_from_stored("GBP", date(2024, 6, 28), RATES)
    assert r.rate_date == "2024-06-28"
    assert fx.usd_rate_from_stored("GBP", date(2024, 6, 27), RATES).rate_date == "2024-06-27"  # not a later day
    assert r.source == f"ECB euro foreign exchange reference rates, fetched {URL}"


def test_a_weekend_falls_back_to_fridays_published_rate():
    for weekend in (date(2024, 6, 29), date(2024, 6, 30)):
        assert fx.usd_rate_from_stored("EUR", weekend, RATES).rate_date == "2024-06-28"


def test_a_currency_missing_on_the_newest_day_uses_its_last_day_with_both_rates():
    assert fx.usd_rate_from_stored("JPY", date(2024, 6, 28), RATES).rate_date == "2024-06-26"


def test_eur_is_the_usd_rate_itself():
    r = fx.usd_rate_from_stored("eur", date(2024, 6, 28), RATES)
    assert (r.from_currency, r.rate, r.to_currency) == ("EUR", Decimal("1.0705"), "USD")


def test_cross_rates_go_through_the_euro():
    r = fx.usd_rate_from_stored("GBP", date(2024, 6, 28), RATES)
    # USD per GBP = (USD per EUR) / (GBP per EUR) = 1.0705 / 0.84638, rounded once to 12 digits
    assert r.rate == Decimal("1.26479831754")
    assert abs(r.rate * Decimal("0.84638") - Decimal("1.0705")) < Decimal("1e-10")
    assert fx.cross_usd_rate(Decimal("1.2"), Decimal("0.8")) == Decimal("1.5")


def test_nothing_stored_for_the_currency_gives_none():
    assert fx.usd_rate_from_stored("CHF", date(2024, 6, 28), RATES) is None
    assert fx.usd_rate_from_stored("GBP", date(2024, 6, 25), RATES) is None  # only later days stored
    assert fx.usd_rate_from_stored("GBP", date(2024, 6, 28), []) is None


# --------------------------------------------------------------------------- the age rule and the fallback


def test_the_age_is_counted_from_today_not_from_the_newest_data():
    r = fx.usd_rate_from_stored("GBP", date(2024, 7, 3), RATES)  # newest stored day: Friday 28 June
    fx.check_age(r, date(2024, 7, 3), max_age_days=5)  # 5 days old: accepted
    with pytest.raises(fx.RateStale) as exc:
        fx.check_age(r, date(2024, 7, 4), max_age_days=5)  # 6 days old: refused, although it is the newest data
    assert exc.value.code == "fx_rate_stale"
    assert "GBP" in str(exc.value) and "2024-06-28" in str(exc.value)
    assert exc.value.details["rate_date"] == "2024-06-28" and exc.value.details["max_age_days"] == 5


def test_current_rate_prefers_stored_rates_and_refuses_stale_ones():
    r = fx.current_usd_rate("GBP", date(2024, 7, 1), RATES, max_age_days=5)  # Monday: Friday's rate
    assert r.rate_date == "2024-06-28" and r.source.endswith(URL)
    with pytest.raises(fx.RateStale):
        fx.current_usd_rate("GBP", date(2024, 7, 10), RATES, max_age_days=5)


def test_nothing_stored_falls_back_to_the_packaged_data_under_the_same_age_rule():
    r = fx.current_usd_rate("EUR", date(2024, 1, 2), [], max_age_days=5)
    assert (r.rate, r.rate_date) == (Decimal("1.0956"), "2024-01-02")
    assert r.source.endswith("packaged data)")
    last = fx.converter().bounds["USD"].last_date
    with pytest.raises(fx.RateStale, match=last.isoformat()):
        fx.current_usd_rate("EUR", date(2099, 1, 1), [], max_age_days=5)


def test_usd_needs_no_rate_and_is_never_stale():
    r = fx.current_usd_rate("USD", date(2099, 1, 1), [], max_age_days=0)
    assert r.rate == Decimal(1) and r.rate_date == "2099-01-01"


def test_the_default_max_age_covers_the_longest_regular_ecb_gap():
    from checkout.settings import Settings

    # Easter 2027 is 28 March: the rate of Thursday 25 March is the newest until Tuesday 30 March ~16:00 CET.
    thursday = fx.FxRecord(from_currency="EUR", rate=Decimal("1.08"), rate_date="2027-03-25", source="t")
    fx.check_age(thursday, date(2027, 3, 30), max_age_days=Settings.model_fields["fx_max_age_days"].default)
