"""The ECB's euro foreign exchange reference rates in their published XML form (pure: no I/O).

`eurofxref-daily.xml` holds one day, `eurofxref-hist-90d.xml` the last 90 days (newest first):

    <gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
                     xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
      <gesmes:subject>Reference rates</gesmes:subject>
      <gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
      <Cube>
        <Cube time="2026-11-30">
          <Cube currency="USD" rate="1.0534"/> ...
        </Cube>
      </Cube>
    </gesmes:Envelope>

Rates are units of the currency per 1 EUR, published around 16:00 CET on TARGET working days.
Parsing is strict: a document that is not exactly this shape is refused as a whole (never half
used), because a wrong rate is charged to someone.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

GESMES_NS = "http://www.gesmes.org/xml/2002-08-01"
EUROFXREF_NS = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"
ENVELOPE = f"{{{GESMES_NS}}}Envelope"
CUBE = f"{{{EUROFXREF_NS}}}Cube"
DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
# The last 90 publication days in the same format (about 40 KB): a checkout that was down for days
# fills its gap on the next fetch, so the default.
HIST_90D_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml"
MAX_DOCUMENT_BYTES = 2_000_000  # hist-90d is ~70 kB; anything far larger is not what we asked for

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_RATE = re.compile(r"\d{1,12}(\.\d{1,12})?")


class MalformedRates(ValueError):
    """The document is not a complete ECB reference-rates document; nothing of it is used."""


@dataclass(frozen=True)
class ReferenceDay:
    day: date
    rates: Mapping[str, Decimal]  # currency → units per 1 EUR


def _refuse(why: str) -> MalformedRates:
    return MalformedRates(f"not an ECB reference-rates document: {why}")


def parse(body: bytes | str) -> list[ReferenceDay]:
    """Every day of the document, newest first. Raises MalformedRates for anything unexpected:
    not well-formed or truncated XML, a DTD, another root or namespace, a day without a valid date,
    a repeated day or currency, a rate that is not a positive plain decimal, a day without USD."""
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise _refuse(f"{len(raw)} bytes is far larger than any ECB rates document")
    if b"<!doctype" in raw.lower() or b"<!entity" in raw.lower():
        raise _refuse("it declares a DTD or entities")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise _refuse(f"not well-formed XML ({exc})") from exc
    if root.tag != ENVELOPE:
        raise _refuse(f"the root element is {root.tag}, not gesmes:Envelope")
    outer = [el for el in root if el.tag == CUBE]
    if len(outer) != 1:
        raise _refuse(f"expected one eurofxref Cube in the envelope, found {len(outer)}")
    days: dict[date, ReferenceDay] = {}
    for day_cube in outer[0]:
        if day_cube.tag != CUBE:
            raise _refuse(f"unexpected element {day_cube.tag} among the days")
        when = day_cube.get("time", "")
        if not _DATE.fullmatch(when):
            raise _refuse(f"a day's time is {when!r}, not YYYY-MM-DD")
        try:
            day = date.fromisoformat(when)
        except ValueError as exc:
            raise _refuse(f"a day's time {when!r} is not a date") from exc
        if day in days:
            raise _refuse(f"{when} appears twice")
        days[day] = ReferenceDay(day, _rates(day_cube, when))
    if not days:
        raise _refuse("it contains no day")
    return sorted(days.values(), key=lambda d: d.day, reverse=True)


def _rates(day_cube: ET.Element, when: str) -> dict[str, Decimal]:
    rates: dict[str, Decimal] = {}
    for cube in day_cube:
        if cube.tag != CUBE or len(cube):
            raise _refuse(f"unexpected element {cube.tag} in {when}")
        currency, text = cube.get("currency", ""), cube.get("rate", "")
        if not _CURRENCY.fullmatch(currency) or currency == "EUR":
            raise _refuse(f"{when}: {currency!r} is not a currency code quoted against the euro")
        if currency in rates:
            raise _refuse(f"{when}: {currency} appears twice")
        if not _RATE.fullmatch(text):
            raise _refuse(f"{when}: the {currency} rate {text!r} is not a plain decimal")
        try:
            rate = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover (the pattern already excludes it)
            raise _refuse(f"{when}: the {currency} rate {text!r} is not a number") from exc
        if rate <= 0:
            raise _refuse(f"{when}: the {currency} rate is {text}")
        rates[currency] = rate
    if not rates:
        raise _refuse(f"{when} has no rates")
    if "USD" not in rates:
        raise _refuse(f"{when} has no USD rate (a partial document?)")
    return rates

