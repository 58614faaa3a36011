"""What the tracking-numbers library does not recognise, in one table, with check digits where defined.

tracking-numbers 0.1.8 (the tracking_number_data definitions) knows UPS, USPS, FedEx, DHL Express,
OnTrac, Amazon and UPU S10 — but its S10 rule accepts only some service indicators (e.g. not the
T*, J*, S*, K*, W*, X*, Y* ranges posts use for domestic tracked items). It knows nothing of DHL
eCommerce, Cainiao, YunExpress, 4PX, Yanwen or Canada Post's domestic numbers. Those are here.

Checked against a check digit only where the carrier publishes one: UPU S10 (mod 11, weights
8 6 4 2 3 5 9 7). The other rows are format-only — the carriers define no check digit — so they
are kept specific (a fixed prefix or suffix) and tried after the library.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def s10_check_digit(serial: str) -> int:
    """UPU S10 check digit of the eight-digit serial: 11 - (weighted sum mod 11); 10 -> 0, 11 -> 5."""
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError(f"an S10 serial is eight digits: {serial!r}")
    check = 11 - sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(check, check)


def _s10_ok(match: re.Match[str]) -> bool:
    return s10_check_digit(match["serial"]) == int(match["check"])


@dataclass(frozen=True)
class Pattern:
    carrier: str  # a code in catalogue.CARRIERS, or "s10" (the post named by the country suffix)
    regex: re.Pattern[str]
    check: Callable[[re.Match[str]], bool] | None = None  # None: the carrier defines no check digit
    note: str = ""


# Tried in order on the canonical number (no spaces or hyphens, upper case), after the library.
PATTERNS: tuple[Pattern, ...] = (
    Pattern("yunexpress", re.compile(r"YT\d{16}"), note="YT + 16 digits"),
    Pattern("4px", re.compile(r"4PX\d{13}CN"), note="4PX + 13 digits + CN"),
    Pattern("cainiao", re.compile(r"LP\d{14}"), note="LP + 14 digits (AliExpress / Cainiao)"),
    Pattern("yanwen", re.compile(r"[A-Z]{2}\d{9}YP"),
            note="two letters, 9 digits, YP (Yanwen's own suffix; YP is no ISO country)"),
    Pattern("dhl-ecommerce", re.compile(r"GM\d{16,18}"), note="GM + 16 to 18 digits"),
    Pattern("canada-post", re.compile(r"\d{16}"), note="16-digit domestic number"),
    Pattern("s10", re.compile(r"(?P<service>[A-Z]{2})(?P<serial>\d{8})(?P<check>\d)(?P<country>[A-Z]{2})"),
            check=_s10_ok, note="UPU S10: two letters, 8 digits + check digit, issuing country"),
)


def match_table(number: str) -> tuple[Pattern, re.Match[str]] | None:
    """The first row whose format matches and whose check digit (if it has one) is right."""
    for row in PATTERNS:
        found = row.regex.fullmatch(number)
        if found and (row.check is None or row.check(found)):
            return row, found
    return None
