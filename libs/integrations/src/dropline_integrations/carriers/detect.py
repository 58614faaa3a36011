"""Carrier detection: the tracking-numbers library first, then Dropline's table (patterns.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tracking_numbers import get_tracking_number

from .catalogue import BY_CODE, Carrier, canonical_number, post_of
from .patterns import match_table

# tracking-numbers courier codes -> catalogue codes ("s10" is resolved by the country suffix)
_LIBRARY_COURIERS = {"ups": "ups", "usps": "usps", "fedex": "fedex", "dhl": "dhl-express", "ontrac": "ontrac"}


@dataclass(frozen=True)
class Detection:
    carrier: Carrier
    number: str  # canonical: no spaces or hyphens, upper case
    source: Literal["tracking-numbers", "dropline"]
    product: str  # what the format is, e.g. "UPS", "USPS 91", "S10", "YT + 16 digits"

    @property
    def tracking_url(self) -> str | None:
        return self.carrier.tracking_url(self.number)


def library_match(number: str) -> tuple[str, str] | None:
    """(courier code, product name) of a number tracking-numbers recognises with a valid check digit.

    The one place the library is called: ``get_tracking_number`` returns the first definition whose
    format matches and whose checksum and additional validations pass, or None."""
    found = get_tracking_number(number)
    if found is None or not found.valid:
        return None
    return found.courier.code, found.product.name


def detect(number: str) -> Detection | None:
    n = canonical_number(number)
    if not n:
        return None
    lib = library_match(n)
    if lib:
        courier, product = lib
        if courier == "s10":
            return Detection(post_of(n[-2:]), n, "tracking-numbers", product)
        if courier in _LIBRARY_COURIERS:
            return Detection(BY_CODE[_LIBRARY_COURIERS[courier]], n, "tracking-numbers", product)
        # a courier we have no row for (Amazon Logistics, CDL): let the table have a go
    table = match_table(n)
    if table is None:
        return None
    row, found = table
    carrier = post_of(found["country"]) if row.carrier == "s10" else BY_CODE[row.carrier]
    return Detection(carrier, n, "dropline", row.note)
