"""ECB reference-rates stand-in: serves the ECB's published XML documents

- ``GET /stats/eurofxref/eurofxref-daily.xml``: the newest business day on or before today;
- ``GET /stats/eurofxref/eurofxref-hist-90d.xml``: every business day of the last 90 days, newest first;

in the ECB's format (gesmes envelope, eurofxref namespace, units per 1 EUR). Rates are generated
deterministically around realistic values for each TARGET business day (no weekends, no 1 Jan,
Good Friday, Easter Monday, 1 May, 25/26 Dec), so two processes serve the same figures.

Control API (tests and demos):
- ``PUT /control`` ``{"today": "2026-11-20" | null, "rates": {"USD": "1.2"}, "mode": "ok"}``: serve as if
  today were that date (null: the real UTC date); exact rates for the newest day served; ``mode``
  ``ok`` | ``malformed`` (well-formed XML with rates that are not numbers) | ``truncated`` (the
  document cut in the middle) | ``unavailable`` (503);
- ``POST /control/reset``; ``GET /control`` (the state and how many documents were requested).

Run: ``python -m dropline_testsupport.ecb_standin --port 8108``; in-process: ``create_app()`` with
``httpx.ASGITransport``.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

GESMES_NAMESPACE = "http://www.gesmes.org/xml/2002-08-01"
ECB_NAMESPACE = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"
DAILY_PATH = "/stats/eurofxref/eurofxref-daily.xml"
HIST_90D_PATH = "/stats/eurofxref/eurofxref-hist-90d.xml"

# Realistic units per 1 EUR (late 2026), written with the ECB's number of decimals per currency.
BASE_RATES: dict[str, str] = {
    "USD": "1.0850", "JPY": "162.45", "BGN": "1.9558", "CZK": "25.120", "DKK": "7.4590", "GBP": "0.84210",
    "HUF": "398.55", "PLN": "4.2850", "RON": "4.9765", "SEK": "11.4120", "CHF": "0.9420", "ISK": "149.10",
    "NOK": "11.6540", "TRY": "37.2150", "AUD": "1.6520", "BRL": "6.1240", "CAD": "1.5010", "CNY": "7.8120",
    "HKD": "8.4410", "IDR": "17520.40", "ILS": "4.0110", "INR": "92.4350", "KRW": "1512.30", "MXN": "20.1540",
    "MYR": "4.8720", "NZD": "1.8210", "PHP": "63.410", "SGD": "1.4490", "THB": "38.120", "ZAR": "19.6120",
}
SWING = 0.006  # at most ±0.6 % around the base rate (a calm few months)


def easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def is_business_day(day: date) -> bool:
    """A TARGET working day: the ECB publishes reference rates on it."""
    if day.weekday() >= 5:
        return False
    if (day.month, day.day) in ((1, 1), (5, 1), (12, 25), (12, 26)):
        return False
    sunday = easter(day.year)
    return day not in (sunday - timedelta(days=2), sunday + timedelta(days=1))


def business_days(today: date, calendar_days: int) -> list[date]:
    """The business days among the `calendar_days` days up to and including `today`, newest first."""
    days = (today - timedelta(days=n) for n in range(calendar_days))
    return [d for d in days if is_business_day(d)]


def newest_business_day(today: date) -> date:
    day = today
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day


def rates_for(day: date) -> dict[str, str]:
    """Deterministic rates for `day`: each currency swings smoothly around its base rate."""
    out = {}
    for currency, base in BASE_RATES.items():
        phase = zlib.crc32(currency.encode()) % 1000 / 1000 * 2 * math.pi
        factor = 1 + SWING * math.sin(day.toordinal() / 9.0 + phase)
        exponent = Decimal(base).as_tuple().exponent
        out[currency] = str((Decimal(base) * Decimal(repr(factor))).quantize(Decimal(1).scaleb(exponent),
                                                                             rounding=ROUND_HALF_UP))
    return out


def render(days: list[tuple[date, dict[str, str]]]) -> str:
    """The ECB document for `days` (given newest first, as the ECB writes them)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<gesmes:Envelope xmlns:gesmes="{GESMES_NAMESPACE}" xmlns="{ECB_NAMESPACE}">',
             "\t<gesmes:subject>Reference rates</gesmes:subject>",
             "\t<gesmes:Sender>", "\t\t<gesmes:name>European Central Bank</gesmes:name>", "\t</gesmes:Sender>",
             "\t<Cube>"]
    for day, rates in days:
        lines.append(f"\t\t<Cube time='{day.isoformat()}'>")
        lines += [f"\t\t\t<Cube currency='{c}' rate='{r}'/>" for c, r in rates.items()]
        lines.append("\t\t</Cube>")
    lines += ["\t</Cube>", "</gesmes:Envelope>", ""]
    return "\n".join(lines)


Mode = Literal["ok", "malformed", "truncated", "unavailable"]


@dataclass
class Standin:
    real_today: Callable[[], date] = field(default=lambda: datetime.now(UTC).date())
    today: date | None = None  # fixed "today"; None = the real UTC date
    rates: dict[str, str] = field(default_factory=dict)  # exact rates of the newest day served
    mode: Mode = "ok"
    requests: dict[str, int] = field(default_factory=lambda: {"daily": 0, "hist-90d": 0})

    def current_day(self) -> date:
        return self.today or self.real_today()

    def days(self, calendar_days: int) -> list[tuple[date, dict[str, str]]]:
        days = business_days(self.current_day(), calendar_days) or [newest_business_day(self.current_day())]
        out = []
        for i, day in enumerate(days):
            rates = rates_for(day)
            if i == 0 and self.rates:
                rates = {**rates, **self.rates}
            out.append((day, rates))
        return out

    def document(self, calendar_days: int) -> Response:
        if self.mode == "unavailable":
            return Response("Service Temporarily Unavailable", status_code=503, media_type="text/plain")
        days = self.days(calendar_days)
        if self.mode == "malformed":
            days = [(d, {c: "n/a" for c in r}) for d, r in days]
        body = render(days)
        if self.mode == "truncated":
            body = body[: len(body) // 2]
        return Response(body, media_type="text/xml")


class ControlRequest(BaseModel):
    today: date | None = Field(default=None, description="Serve as if today were this date; null = real date.")
    rates: dict[str, str] | None = Field(default=None, description="Exact rates (per 1 EUR) of the newest day.")
    mode: Mode | None = None


def create_app(*, today: date | None = None, real_today: Callable[[], date] | None = None) -> FastAPI:
    state = Standin(today=today, **({"real_today": real_today} if real_today else {}))
    initial_today = today
    app = FastAPI(title="ECB reference rates stand-in")
    app.state.standin = state

    @app.get(DAILY_PATH)
    async def daily() -> Response:
        state.requests["daily"] += 1
        return state.document(1 + (state.current_day() - newest_business_day(state.current_day())).days)

    @app.get(HIST_90D_PATH)
    async def hist_90d() -> Response:
        state.requests["hist-90d"] += 1
        return state.document(90)

    def view() -> dict:
        return {"today": state.current_day().isoformat(), "fixed_today": state.today is not None,
                "newest_day": newest_business_day(state.current_day()).isoformat(), "rates": state.rates,
                "mode": state.mode, "requests": state.requests}

    @app.get("/control")
    async def control_state() -> dict:
        return view()

    @app.put("/control")
    async def control(body: ControlRequest) -> dict:
        fields = body.model_fields_set
        if "today" in fields:
            state.today = body.today
        if "rates" in fields:
            state.rates = dict(body.rates or {})
        if body.mode is not None:
            state.mode = body.mode
        return view()

    @app.post("/control/reset")
    async def reset() -> dict:
        state.today, state.rates, state.mode = initial_today, {}, "ok"
        state.requests.update({"daily": 0, "hist-90d": 0})
        return view()

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return app
