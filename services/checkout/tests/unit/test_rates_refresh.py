"""The rates refresher against the ECB stand-in (httpx.ASGITransport): the durable job fetches and
stores the reference rates; quotes and payments use them, record their date and source, and refuse
a stale rate without charging anything."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from sqlmodel import select

from checkout import handlers
from checkout.app import build
from checkout.models import CheckoutOrder, CheckoutPayment, CheckoutReferenceRate
from checkout.rates import JOB_KEY, REFRESH_ECB_RATES
from dropline_infra.jobs import JobWorker
from dropline_infra.models import Job
from dropline_schemas import topics as T
from dropline_schemas.events import OrderReceivedV1
from dropline_testsupport.ecb_standin import create_app as ecb_app
from dropline_testsupport.ecb_standin import rates_for

TODAY = date(2026, 11, 30)  # a Monday
HIST_URL = "http://ecb.test/stats/eurofxref/eurofxref-hist-90d.xml"
DAILY_URL = "http://ecb.test/stats/eurofxref/eurofxref-daily.xml"


class Stack:
    def __init__(self, svc, ecb, ecb_http, provider, today):
        self.svc, self.ecb, self.ecb_http, self.provider, self.today = svc, ecb, ecb_http, provider, today
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="http://checkout")
        self.worker = JobWorker(svc.db, svc.job_kinds, concurrency=1, poll_interval=0.01)

    async def refresh(self) -> None:
        await self.svc.rates.schedule()
        assert await self.worker.run_one()

    async def rows(self) -> list[CheckoutReferenceRate]:
        async with self.svc.db.uow() as uow:
            return list((await uow.session.exec(select(CheckoutReferenceRate))).all())

    async def job(self) -> Job:
        async with self.svc.db.uow() as uow:
            return (await uow.session.exec(select(Job).where(Job.kind == REFRESH_ECB_RATES))).one()

    async def seed(self, o) -> str:
        event = OrderReceivedV1.create(data=o, producer="order-ingest", tenant_id=o.retailer_id,
                                       correlation_id=f"store-order-{o.platform_order_id}")
        assert await self.svc.consumers.process("checkout.order_received", T.ORDER_RECEIVED,
                                                event.model_dump_json().encode(), handlers.on_order_received,
                                                OrderReceivedV1) == "applied"
        return o.order_id

    async def control(self, **body) -> dict:
        return (await self.ecb_http.put("http://ecb.test/control", json=body)).json()


@pytest.fixture
async def stack_for(settings_for, fake_provider):
    made = []

    async def make(url: str = HIST_URL, today: date = TODAY, **overrides) -> Stack:
        ecb = ecb_app(today=today)
        ecb_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=ecb))
        days = {"value": today}
        svc = build(settings_for(ecb_rates_url=url, ecb_rates_refresh_interval_seconds=60,
                                 ecb_rates_retry_seconds=5, **overrides),
                    provider=fake_provider, today=lambda: days["value"], rates_http=ecb_http)
        stack = Stack(svc, ecb, ecb_http, fake_provider, days)
        made.append(stack)
        return stack

    yield make
    for s in made:
        await s.http.aclose()
        await s.ecb_http.aclose()
        await s.svc.db.dispose()


async def test_the_refresh_job_stores_the_90_days_once_and_recurs(stack_for):
    s = await stack_for()
    await s.refresh()
    rows = await s.rows()
    days = {r.rate_date for r in rows}
    assert max(days) == TODAY and all(d.weekday() < 5 for d in days) and len(days) > 55
    usd = {r.rate_date: r.rate_per_eur for r in rows if r.currency == "USD"}
    assert usd[TODAY] == rates_for(TODAY)["USD"]
    assert {r.source_url for r in rows} == {HIST_URL}
    job = await s.job()
    assert (job.key, job.status, job.attempts) == (JOB_KEY, "pending", 0)  # recurring: Again(interval)
    assert job.last_error is None
    # A second run stores nothing new (idempotent) and never rewrites a stored rate.
    await s.control(rates={"USD": "9.9999"})
    await s.refresh()
    again = await s.rows()
    assert len(again) == len(rows)
    assert {r.rate_date: r.rate_per_eur for r in again if r.currency == "USD"}[TODAY] == usd[TODAY]
    assert s.ecb.state.standin.requests["hist-90d"] == 2


async def test_new_days_are_added_by_later_fetches(stack_for):
    s = await stack_for(url=DAILY_URL, today=TODAY - timedelta(days=1))  # Sunday: Friday's document
    await s.refresh()
    assert {r.rate_date for r in await s.rows()} == {date(2026, 11, 27)}
    await s.control(today=TODAY.isoformat())
    await s.refresh()
    assert {r.rate_date for r in await s.rows()} == {date(2026, 11, 27), TODAY}


@pytest.mark.parametrize("mode", ["malformed", "truncated", "unavailable"])
async def test_a_bad_fetch_stores_nothing_and_retries_soon(stack_for, mode, capfd):
    s = await stack_for()
    await s.control(mode=mode)
    await s.refresh()
    assert await s.rows() == []
    job = await s.job()
    assert job.status == "pending" and job.attempts == 0  # the job never stops; it comes back after the retry
    assert "ECB reference rates not refreshed; nothing stored" in "".join(capfd.readouterr())  # logged
    await s.control(mode="ok")
    await s.refresh()  # schedule() makes it due now, as a restart does
    assert len(await s.rows()) > 0


async def test_a_quote_uses_the_fetched_rates_and_records_their_date_and_source(stack_for, make_order, make_terms):
    s = await stack_for()
    await s.control(rates={"USD": "1.2000", "GBP": "0.80000"})
    await s.refresh()
    eur = await s.seed(make_order(("10.00", 1)))
    r = await s.http.post("/internal/v1/quotes", json={"retailer_id": "ret-1", "order_ids": [eur]})
    assert r.status_code == 200, r.text
    fx = r.json()["fx"]
    assert (fx["from_currency"], fx["rate"], fx["rate_date"]) == ("EUR", "1.2", TODAY.isoformat())
    assert fx["source"] == f"ECB euro foreign exchange reference rates, fetched {HIST_URL}"
    gbp = await s.seed(make_order(("10.00", 1), supplier=make_terms("sup-uk", currency="GBP")))
    fx = (await s.http.post("/internal/v1/quotes", json={"retailer_id": "ret-1", "order_ids": [gbp]})).json()["fx"]
    assert (fx["rate"], fx["rate_date"]) == ("1.5", TODAY.isoformat())  # 1.2 USD/EUR ÷ 0.8 GBP/EUR


async def test_on_a_weekend_the_last_published_rate_is_used_and_paid(stack_for, make_order):
    s = await stack_for()
    await s.refresh()
    s.today["value"] = date(2026, 12, 5)  # Saturday; the newest stored day is Monday 30 November
    oid = await s.seed(make_order(("10.00", 1)))
    r = await s.http.post("/internal/v1/payments", json={
        "retailer_id": "ret-1", "order_ids": [oid], "method": "card", "payment_method": "pm_card_visa",
        "request_id": "req-weekend"})
    assert r.status_code == 201, r.text
    assert r.json()["fx"]["rate_date"] == TODAY.isoformat()
    assert r.json()["fx"]["rate"] == rates_for(TODAY)["USD"].rstrip("0")


async def test_a_stale_rate_refuses_the_quote_and_the_payment_and_charges_nothing(stack_for, make_order):
    s = await stack_for()
    await s.refresh()
    s.today["value"] = TODAY + timedelta(days=6)  # no fetch since: Monday's rate is 6 days old
    oid = await s.seed(make_order(("10.00", 1)))
    r = await s.http.post("/internal/v1/quotes", json={"retailer_id": "ret-1", "order_ids": [oid]})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "fx_rate_stale"
    assert (err["currency"], err["rate_date"], err["max_age_days"]) == ("EUR", TODAY.isoformat(), 5)
    assert "EUR" in err["message"] and TODAY.isoformat() in err["message"]
    r = await s.http.post("/internal/v1/payments", json={
        "retailer_id": "ret-1", "order_ids": [oid], "method": "card", "payment_method": "pm_card_visa",
        "request_id": "req-stale"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "fx_rate_stale"
    assert s.provider.calls == []  # nothing was charged, nothing was even created
    async with s.svc.db.uow() as uow:
        assert (await uow.session.exec(select(CheckoutPayment))).all() == []
        assert (await uow.session.get(CheckoutOrder, oid)).status == "unpaid"


async def test_the_max_age_is_configurable(stack_for, make_order):
    s = await stack_for(fx_max_age_days=10)
    await s.refresh()
    s.today["value"] = TODAY + timedelta(days=6)
    oid = await s.seed(make_order(("10.00", 1)))
    r = await s.http.post("/internal/v1/quotes", json={"retailer_id": "ret-1", "order_ids": [oid]})
    assert r.status_code == 200 and r.json()["fx"]["rate_date"] == TODAY.isoformat()


async def test_without_stored_rates_the_packaged_data_is_used_and_refused_when_stale(stack_for, make_order):
    s = await stack_for(today=date(2024, 1, 2))
    oid = await s.seed(make_order(("10.00", 1)))
    fx = (await s.http.post("/internal/v1/quotes", json={"retailer_id": "ret-1", "order_ids": [oid]})).json()["fx"]
    assert (fx["rate"], fx["rate_date"]) == ("1.0956", "2024-01-02") and fx["source"].endswith("packaged data)")
    s.today["value"] = date(2099, 1, 1)
    r = await s.http.post("/internal/v1/quotes", json={"retailer_id": "ret-1", "order_ids": [oid]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "fx_rate_stale"
