"""Carrier detection per carrier (real-format numbers, right and wrong check digits), tracking URLs,
and the name each platform gets."""

from __future__ import annotations

import pytest

from dropline_integrations.carriers import (
    bigcommerce_fields,
    detect,
    detect_carrier,
    display_name,
    library_match,
    s10_check_digit,
    shopify_company,
    tracking_url,
    wix_provider,
)

VALID = [
    # (number, carrier, detected by)
    ("1Z999AA10123456784", "UPS", "tracking-numbers"),
    ("1Z5R89390357567127", "UPS", "tracking-numbers"),
    ("9400111202555842332669", "USPS", "tracking-numbers"),
    ("EA123456785US", "USPS", "tracking-numbers"),
    ("986578788855", "FedEx", "tracking-numbers"),
    ("449044304137821", "FedEx", "tracking-numbers"),
    ("3318810025", "DHL Express", "tracking-numbers"),
    ("73891051146", "DHL Express", "tracking-numbers"),
    ("GM2951173225174494", "DHL eCommerce", "dropline"),
    ("AA473124829GB", "Royal Mail", "dropline"),
    ("RR123456785GB", "Royal Mail", "tracking-numbers"),
    ("RR123456785CA", "Canada Post", "tracking-numbers"),
    ("7023210039414604", "Canada Post", "dropline"),
    ("RR123456785AU", "Australia Post", "tracking-numbers"),
    ("RR123456785CN", "China Post", "tracking-numbers"),
    ("EA123456785CN", "China Post", "tracking-numbers"),  # China Post EMS
    ("LX473124829CN", "China Post", "tracking-numbers"),  # ePacket
    ("LP00724622449605", "Cainiao", "dropline"),
    ("YT2107421272062530", "YunExpress", "dropline"),
    ("4PX3000123456789CN", "4PX", "dropline"),
    ("UG123456789YP", "Yanwen", "dropline"),
    ("RR123456785DE", "Deutsche Post", "tracking-numbers"),
    ("RR123456785SE", "Postal service SE", "tracking-numbers"),  # any other UPU S10 post
]

WRONG_CHECK_DIGIT = [
    "1Z999AA10123456785",  # UPS mod 10
    "9400111202555842332668",  # USPS mod 10
    "986578788856",  # FedEx Express 3-1-7 weights
    "449044304137822",  # FedEx Ground mod 10
    "3318810026",  # DHL Express mod 7
    "73891051147",  # DHL Express mod 7 (11 digits)
    "AA473124828GB",  # S10 mod 11 (Royal Mail)
    "RR123456784CA",
    "RR123456784AU",
    "RR123456786CN",
    "EA123456784US",
    "RR123456780SE",
]


@pytest.mark.parametrize(("number", "carrier", "source"), VALID)
def test_valid_numbers_name_their_carrier(number: str, carrier: str, source: str) -> None:
    found = detect(number)
    assert found is not None and found.carrier.name == carrier and found.source == source
    assert detect_carrier(number) == carrier


@pytest.mark.parametrize("number", WRONG_CHECK_DIGIT)
def test_a_wrong_check_digit_is_not_recognised(number: str) -> None:
    assert detect(number) is None


def test_printed_numbers_are_the_same_number() -> None:
    assert detect_carrier("1z 999aa1 0123456784") == "UPS"
    assert detect_carrier("rr 123 456 785-gb") == "Royal Mail"
    assert detect("1z 999aa1 0123456784").number == "1Z999AA10123456784"


@pytest.mark.parametrize("number", ["", "   ", "hello", "12345", "1Z", "LP123", "YT123", "ABCDEFGHIJKLM"])
def test_unknown_formats_are_none(number: str) -> None:
    assert detect(number) is None and detect_carrier(number) is None


def test_s10_check_digit() -> None:
    # weights 8 6 4 2 3 5 9 7, 11 - sum mod 11; 10 -> 0 and 11 -> 5
    assert s10_check_digit("47312482") == 9  # AA 47312482 9 GB
    assert s10_check_digit("12345678") == 5
    assert s10_check_digit("00000000") == 5  # sum 0 -> 11 -> 5
    assert s10_check_digit("00000010") == 2  # sum 9 -> 11 - 9
    with pytest.raises(ValueError):
        s10_check_digit("1234567")


def test_s10_remainder_rules() -> None:
    # find serials whose weighted sum mod 11 is 1 (check 10 -> 0) and 0 (check 11 -> 5)
    weights = (8, 6, 4, 2, 3, 5, 9, 7)
    by_remainder: dict[int, str] = {}
    for i in range(200):
        serial = f"{i:08d}"
        by_remainder.setdefault(sum(int(d) * w for d, w in zip(serial, weights, strict=True)) % 11, serial)
    assert s10_check_digit(by_remainder[1]) == 0
    assert s10_check_digit(by_remainder[0]) == 5
    assert s10_check_digit(by_remainder[2]) == 9


def test_the_library_is_behind_one_function() -> None:
    assert library_match("1Z999AA10123456784") == ("ups", "UPS")
    assert library_match("1Z999AA10123456785") is None
    assert library_match("YT2107421272062530") is None  # what the library lacks is in patterns.py


@pytest.mark.parametrize(("carrier", "number", "url"), [
    ("UPS", "1Z999AA10123456784", "https://www.ups.com/track?tracknum=1Z999AA10123456784"),
    ("ups", "1z999aa10123456784", "https://www.ups.com/track?tracknum=1Z999AA10123456784"),
    ("USPS", "9400111202555842332669", "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111202555842332669"),
    ("FedEx", "986578788855", "https://www.fedex.com/fedextrack/?trknbr=986578788855"),
    ("DHL", "3318810025", "https://www.dhl.com/en/express/tracking.html?AWB=3318810025"),
    ("Royal Mail", "AA473124829GB", "https://www.royalmail.com/track-your-item#/tracking-results/AA473124829GB"),
    ("china ems", "EA123456785CN", "https://t.17track.net/en#nums=EA123456785CN"),
    ("Cainiao", "LP00724622449605", "https://global.cainiao.com/newDetail.htm?mailNoList=LP00724622449605"),
    ("Postal service SE", "RR123456785SE", "https://t.17track.net/en#nums=RR123456785SE"),
])
def test_tracking_urls(carrier: str, number: str, url: str) -> None:
    assert tracking_url(carrier, number) == url


def test_every_detected_carrier_has_a_url() -> None:
    for number, _, _ in VALID:
        found = detect(number)
        assert found is not None and found.tracking_url and found.number in found.tracking_url


def test_unknown_carrier_has_no_url() -> None:
    assert tracking_url(None, "1Z999AA10123456784") is None
    assert tracking_url("Some Courier", "X1") is None
    assert tracking_url("DPD", "X1") is None  # known by name, no deep link


@pytest.mark.parametrize(("given", "shopify"), [
    ("UPS", "UPS"), ("usps", "USPS"), ("fedex", "FedEx"), ("DHL", "DHL Express"), ("DHL Express", "DHL Express"),
    ("dhl ecommerce", "DHL eCommerce"), ("royal mail", "Royal Mail"), ("CANADA POST", "Canada Post"),
    ("AusPost", "Australia Post"), ("China EMS", "China Post"), ("cainiao", "Cainiao"),
    ("Yun Express", "YunExpress"), ("4px", "4PX"), ("yanwen", "Yanwen"), ("Japan Post", "Japan Post (EN)"),
    ("Some Courier", "Some Courier"),
])
def test_shopify_company_names(given: str, shopify: str) -> None:
    assert shopify_company(given) == shopify


def test_bigcommerce_fields() -> None:
    assert bigcommerce_fields("UPS") == ("ups", "")
    assert bigcommerce_fields("Royal Mail") == ("royalmail", "")
    assert bigcommerce_fields("Australia Post") == ("auspost", "")
    assert bigcommerce_fields("Canada Post") == ("canadapost", "")
    assert bigcommerce_fields("DHL") == ("", "dhl")
    assert bigcommerce_fields("DHL eCommerce") == ("", "dhl-global-mail")
    assert bigcommerce_fields("YunExpress") == ("", "yunexpress")
    assert bigcommerce_fields("Yanwen") == ("", "yanwen")
    assert bigcommerce_fields("Some Courier") == ("", "")
    assert bigcommerce_fields(None) == ("", "")


def test_wix_providers() -> None:
    assert [wix_provider(c) for c in ("FedEx", "ups", "USPS", "DHL Express", "DHL eCommerce", "Canada Post")] == [
        "fedex", "ups", "usps", "dhl", "dhl", "canadaPost"]
    assert wix_provider("Royal Mail") is None and wix_provider("Cainiao") is None and wix_provider(None) is None


def test_display_name() -> None:
    assert display_name("ups") == "UPS" and display_name(" Some Courier ") == "Some Courier"
    assert display_name("") is None
