"""The ECB reference-rates stand-in serves the ECB's XML documents (over httpx.ASGITransport)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import httpx
import pytest

from dropline_testsupport.ecb_standin import (
    ECB_NAMESPACE,
    GESMES_NAMESPACE,
    business_days,
    create_app,
    rates_for,
)
from dropline_testsupport.ecb_standin.app import BASE_RATES, easter, is_business_day

DAILY = "/stats/eurofxref/eurofxref-daily.xml"
HIST = "/stats/eurofxref/eurofxref-hist-90d.xml"
NS = {"g": GESMES_NAMESPACE, "e": ECB_NAMESPACE}


@pytest.fixture
async def ecb():
    app = create_app(today=date(2026, 11, 30))  # a Monday
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ecb") as http:
        yield http


def days_of(text: str) -> list[tuple[str, dict[str, str]]]:
    root = ET.fromstring(text)
    assert root.tag == f"{{{GESMES_NAMESPACE}}}Envelope"
    assert root.findtext("g:subject", namespaces=NS) == "Reference rates"
    assert root.findtext("g:Sender/g:name", namespaces=NS) == "European Central Bank"
    return [(d.get("time"), {c.get("currency"): c.get("rate") for c in d.findall("e:Cube", NS)})
            for d in root.findall("e:Cube/e:Cube", NS)]


async def test_daily_is_todays_rates_in_the_ecb_format(ecb):
    r = await ecb.get(DAILY)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    days = days_of(r.text)
    assert [d for d, _ in days] == ["2026-11-30"]
    rates = days[0][1]
    assert set(rates) == set(BASE_RATES) and "EUR" not in rates
    assert rates == rates_for(date(2026, 11, 30))
    usd = float(rates["USD"])
    assert 1.07 < usd < 1.10  # realistic, around the base rate
    assert len(rates["USD"].split(".")[1]) == 4  # the ECB's decimals


async def test_a_weekend_serves_fridays_rates(ecb):
    await ecb.put("/control", json={"today": "2026-11-29"})  # Sunday
    assert [d for d, _ in days_of((await ecb.get(DAILY)).text)] == ["2026-11-27"]


async def test_hist_90d_lists_business_days_newest_first_without_weekends(ecb):
    days = days_of((await ecb.get(HIST)).text)
    dates = [date.fromisoformat(d) for d, _ in days]
    assert dates[0] == date(2026, 11, 30) and dates == sorted(dates, reverse=True)
    assert all(d.weekday() < 5 for d in dates)
    assert (dates[0] - dates[-1]).days < 90
    assert len(dates) == len(business_days(date(2026, 11, 30), 90))
    assert days[1][1] == rates_for(date(2026, 11, 27))  # deterministic: the same figures every time
    assert days[0][1] != days[1][1]  # and they move from day to day


def test_target_holidays_have_no_rates():
    assert easter(2026) == date(2026, 4, 5)
    assert not is_business_day(date(2026, 4, 3))  # Good Friday
    assert not is_business_day(date(2026, 4, 6))  # Easter Monday
    assert not is_business_day(date(2026, 5, 1)) and not is_business_day(date(2026, 12, 25))
    assert not is_business_day(date(2027, 1, 1)) and is_business_day(date(2026, 12, 24))


async def test_control_sets_the_rates_and_the_date(ecb):
    state = (await ecb.put("/control", json={"today": "2026-11-20", "rates": {"USD": "1.2000", "GBP": "0.8"}})).json()
    assert state["today"] == "2026-11-20" and state["newest_day"] == "2026-11-20"
    days = days_of((await ecb.get(HIST)).text)
    assert days[0][0] == "2026-11-20" and days[0][1]["USD"] == "1.2000" and days[0][1]["GBP"] == "0.8"
    assert days[1][1]["USD"] == rates_for(date(2026, 11, 19))["USD"]  # only the newest day is overridden
    assert (await ecb.get("/control")).json()["requests"]["hist-90d"] == 1
    await ecb.post("/control/reset")
    assert days_of((await ecb.get(DAILY)).text)[0][0] == "2026-11-30"


async def test_control_serves_malformed_and_truncated_documents_and_503(ecb):
    await ecb.put("/control", json={"mode": "malformed"})
    r = await ecb.get(DAILY)
    assert r.status_code == 200 and days_of(r.text)[0][1]["USD"] == "n/a"
    await ecb.put("/control", json={"mode": "truncated"})
    with pytest.raises(ET.ParseError):
        ET.fromstring((await ecb.get(HIST)).text)
    await ecb.put("/control", json={"mode": "unavailable"})
    assert (await ecb.get(DAILY)).status_code == 503
    await ecb.put("/control", json={"mode": "ok"})
    assert (await ecb.get(DAILY)).status_code == 200


async def test_without_a_fixed_date_it_serves_the_real_today():
    app = create_app(real_today=lambda: date(2026, 12, 1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ecb") as http:
        assert days_of((await http.get(DAILY)).text)[0][0] == "2026-12-01"
