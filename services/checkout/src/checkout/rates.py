"""The ECB reference-rates refresher: a recurring durable job (`refresh_ecb_rates`, one per
service, key "ecb") that fetches CHECKOUT_ECB_RATES_URL, parses it strictly (ecb.py) and stores the
days not stored yet (idempotent: a day is stored once, never rewritten).

One job row for all replicas: the job worker's row lock means one fetch at a time. It never gives
up: a failed fetch (unreachable, not 200, malformed or partial document) is logged, nothing of it
is stored, and the next attempt comes after CHECKOUT_ECB_RATES_RETRY_SECONDS; a good one
after CHECKOUT_ECB_RATES_REFRESH_INTERVAL_SECONDS. Every start makes the job due at once, so a
freshly started checkout has today's rates within a poll interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel import select

from dropline_infra.db import Database, UnitOfWork, utcnow
from dropline_infra.jobs import Again, JobKind, enqueue
from dropline_infra.models import Job

from . import ecb
from .observability import log
from .repository import RatesRepository
from .settings import Settings

REFRESH_ECB_RATES = "refresh_ecb_rates"
JOB_KEY = "ecb"


class FetchFailed(Exception):
    pass


@dataclass(frozen=True)
class Refreshed:
    url: str
    days: int
    newest: str
    added: int


class RatesRefresher:
    def __init__(self, db: Database, http: httpx.AsyncClient, settings: Settings):
        self.db = db
        self.http = http
        self.settings = settings

    async def fetch(self) -> list[ecb.ReferenceDay]:
        url = self.settings.ecb_rates_url
        try:
            resp = await self.http.get(url, timeout=self.settings.ecb_rates_timeout_seconds,
                                       headers={"Accept": "application/xml, text/xml"})
        except httpx.HTTPError as exc:
            raise FetchFailed(f"could not fetch {url}: {type(exc).__name__}: {exc}") from exc
        if resp.status_code != 200:
            raise FetchFailed(f"{url} answered {resp.status_code}: {resp.text[:200]}")
        return ecb.parse(resp.content)

    async def refresh(self, uow: UnitOfWork) -> Refreshed:
        """Fetch and store in `uow` (committed by the caller). Raises FetchFailed or
        ecb.MalformedRates, having stored nothing."""
        days = await self.fetch()
        url = self.settings.ecb_rates_url
        added, differences = await RatesRepository(uow.session).add_days(days, source_url=url, now=utcnow())
        if differences:
            log.warning("ECB document disagrees with rates stored earlier; the stored ones are kept",
                        url=url, differences=differences[:10])
        return Refreshed(url=url, days=len(days), newest=days[0].day.isoformat(), added=added)

    async def run_job(self, uow: UnitOfWork, _payload: dict[str, Any]) -> Again:
        try:
            result = await self.refresh(uow)
        except (FetchFailed, ecb.MalformedRates) as exc:
            log.warning("ECB reference rates not refreshed; nothing stored", url=self.settings.ecb_rates_url,
                        error=str(exc)[:500], retry_in=self.settings.ecb_rates_retry_seconds)
            return Again(self.settings.ecb_rates_retry_seconds)
        log.info("ECB reference rates refreshed", url=result.url, days=result.days, newest=result.newest,
                 added=result.added)
        return Again(self.settings.ecb_rates_refresh_interval_seconds)

    async def gave_up(self, _uow: UnitOfWork, _payload: dict[str, Any], reason: str) -> None:
        log.error("ECB rates refresher stopped; quotes will refuse stale rates until it runs again", reason=reason)

    def job_kind(self) -> JobKind:
        return JobKind(REFRESH_ECB_RATES, handler=self.run_job, on_give_up=self.gave_up, max_attempts=1000,
                       base_delay=self.settings.ecb_rates_retry_seconds,
                       max_delay=self.settings.ecb_rates_refresh_interval_seconds)

    async def schedule(self) -> None:
        """Create the recurring job, or make the existing one due now (also after it stopped)."""
        async with self.db.uow() as uow:
            job = (await uow.session.exec(select(Job).where(Job.kind == REFRESH_ECB_RATES,
                                                            Job.key == JOB_KEY))).first()
            if job is None:
                await enqueue(uow, REFRESH_ECB_RATES, JOB_KEY, {})
            else:
                job.status, job.attempts, job.next_attempt_at, job.completed_at = "pending", 0, utcnow(), None
                uow.session.add(job)
                uow.job_enqueued()
            await uow.commit()
