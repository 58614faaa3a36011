"""The carriers Dropline knows: display name, tracking URL, and the name each store platform understands.

One row per carrier. ``name`` is what Dropline stores, shows and sends where a platform takes free
text; it is Shopify's spelling whenever Shopify lists the carrier.

Platform fields (platforms.md §1.3, §2.3, §3.3, §4.3):

- ``shopify``: ``trackingInfo.company``. Shopify builds links and updates shipment status only for
  names on its supported-tracking-companies list, spelled exactly (capitalisation matters). Cainiao
  and Yanwen are not on that list: their name is still sent, with our URL, which Shopify then uses.
- ``bigcommerce``: ``(shipping_provider, tracking_carrier)``. ``shipping_provider`` takes only
  BigCommerce's own providers (auspost, canadapost, endicia, usps, fedex, royalmail, ups, upsready,
  shipperhq, carrier_{id}, ""); ``tracking_carrier`` an AfterShip courier slug or "". One of the two
  is set so BigCommerce builds ``generated_tracking_link``; ("", "") means only our link is written.
- ``wix``: a predefined ``shippingProvider`` (fedex, ups, usps, dhl, canadaPost — Wix fills the link
  itself), or None: then the name goes in ``shippingProvider`` and our URL in ``trackingLink``.
- Ecwid has no carrier field: the name goes in the merchant-visible ledger, the URL in ``trackingUrl``.

Tracking URLs are the carriers' public tracking pages with the number in the query or fragment;
``{n}`` is replaced by the URL-quoted number. China Post and "other posts" use 17TRACK, which tracks
every UPU S10 number (China Post's own site has no deep link).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote

UNIVERSAL_POST_URL = "https://t.17track.net/en#nums={n}"


@dataclass(frozen=True)
class Carrier:
    code: str  # Dropline's stable id
    name: str  # display name (Shopify's spelling where Shopify lists it)
    url: str | None  # tracking page template, {n} = the number
    shopify: str
    bigcommerce: tuple[str, str] = ("", "")
    wix: str | None = None
    aliases: tuple[str, ...] = field(default=())

    def tracking_url(self, number: str) -> str | None:
        return self.url.format(n=quote(canonical_number(number), safe="")) if self.url else None


def canonical_number(number: str) -> str:
    """Carriers and stores print numbers with spaces, hyphens and mixed case; this is the number."""
    return re.sub(r"[\s-]+", "", number).upper()


def name_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _c(code: str, name: str, url: str | None, shopify: str | None = None, bigcommerce: tuple[str, str] = ("", ""),
       wix: str | None = None, aliases: tuple[str, ...] = ()) -> Carrier:
    return Carrier(code=code, name=name, url=url, shopify=shopify or name, bigcommerce=bigcommerce, wix=wix,
                   aliases=aliases)


CARRIERS: tuple[Carrier, ...] = (
    # detected from the number (tracking-numbers, or the table in patterns.py)
    _c("ups", "UPS", "https://www.ups.com/track?tracknum={n}", bigcommerce=("ups", ""), wix="ups",
       aliases=("United Parcel Service", "UPS Ground", "UPS Mail Innovations")),
    _c("usps", "USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={n}", bigcommerce=("usps", ""),
       wix="usps", aliases=("United States Postal Service", "US Postal Service", "Endicia")),
    _c("fedex", "FedEx", "https://www.fedex.com/fedextrack/?trknbr={n}", bigcommerce=("fedex", ""), wix="fedex",
       aliases=("Federal Express", "FedEx Ground", "FedEx SmartPost")),
    _c("dhl-express", "DHL Express", "https://www.dhl.com/en/express/tracking.html?AWB={n}",
       bigcommerce=("", "dhl"), wix="dhl", aliases=("DHL",)),
    _c("dhl-ecommerce", "DHL eCommerce",
       "https://www.dhl.com/us-en/home/tracking/tracking-ecommerce.html?submit=1&tracking-id={n}",
       bigcommerce=("", "dhl-global-mail"), wix="dhl", aliases=("DHL Global Mail", "DHL eCommerce Solutions")),
    _c("royal-mail", "Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/{n}",
       bigcommerce=("royalmail", ""), aliases=("RoyalMail",)),
    _c("canada-post", "Canada Post", "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={n}",
       bigcommerce=("canadapost", ""), wix="canadaPost", aliases=("Postes Canada",)),
    _c("australia-post", "Australia Post", "https://auspost.com.au/mypost/track/details/{n}",
       bigcommerce=("auspost", ""), aliases=("AusPost",)),
    _c("china-post", "China Post", UNIVERSAL_POST_URL, bigcommerce=("", "china-post"),
       aliases=("China EMS", "EMS", "China Post EMS", "ePacket", "China Post Air Mail")),
    _c("cainiao", "Cainiao", "https://global.cainiao.com/newDetail.htm?mailNoList={n}",
       bigcommerce=("", "cainiao"), aliases=("AliExpress Standard Shipping", "Cainiao Super Economy")),
    _c("yunexpress", "YunExpress", "https://www.yuntrack.com/parcelTracking?id={n}",
       bigcommerce=("", "yunexpress"), aliases=("Yun Express",)),
    _c("4px", "4PX", "https://track.4px.com/#/result/0/{n}", bigcommerce=("", "4px"),
       aliases=("4PX Worldwide Express",)),
    _c("yanwen", "Yanwen", "https://track.yw56.com.cn/en/querydel?nums={n}", bigcommerce=("", "yanwen"),
       aliases=("Yanwen Express",)),
    _c("ontrac", "OnTrac", "https://www.ontrac.com/tracking/?number={n}", bigcommerce=("", "ontrac")),
    # other national posts, recognised from their UPU S10 numbers
    _c("deutsche-post", "Deutsche Post", UNIVERSAL_POST_URL, bigcommerce=("", "deutsch-post")),
    _c("postnl", "PostNL", UNIVERSAL_POST_URL, bigcommerce=("", "postnl")),
    _c("la-poste", "La Poste", UNIVERSAL_POST_URL),
    _c("singapore-post", "Singapore Post", UNIVERSAL_POST_URL, bigcommerce=("", "singapore-post"),
       aliases=("SingPost",)),
    _c("hongkong-post", "Hongkong Post", UNIVERSAL_POST_URL, bigcommerce=("", "hong-kong-post"),
       aliases=("Hong Kong Post",)),
    _c("japan-post", "Japan Post", UNIVERSAL_POST_URL, shopify="Japan Post (EN)", bigcommerce=("", "japan-post")),
    _c("new-zealand-post", "New Zealand Post", UNIVERSAL_POST_URL, bigcommerce=("", "new-zealand-post"),
       aliases=("NZ Post",)),
    _c("swiss-post", "Swiss Post", UNIVERSAL_POST_URL, bigcommerce=("", "swiss-post")),
    # named by suppliers, never detected (no format of theirs is distinctive enough)
    _c("dhl-parcel", "DHL Parcel", None, bigcommerce=("", "dhl-parcel-nl")),
    _c("dpd", "DPD", None, bigcommerce=("", "dpd")),
    _c("gls", "GLS", None, bigcommerce=("", "gls")),
    _c("tnt", "TNT", None, bigcommerce=("", "tnt")),
)

BY_CODE: dict[str, Carrier] = {c.code: c for c in CARRIERS}
_BY_KEY: dict[str, Carrier] = {}
for _carrier in CARRIERS:
    for _name in (_carrier.code, _carrier.name, _carrier.shopify, *_carrier.aliases):
        _BY_KEY.setdefault(name_key(_name), _carrier)

# UPU S10 numbers end in the ISO 3166 country of the post that issued them.
S10_COUNTRY: dict[str, str] = {
    "US": "usps", "GB": "royal-mail", "CA": "canada-post", "AU": "australia-post", "CN": "china-post",
    "DE": "deutsche-post", "NL": "postnl", "FR": "la-poste", "SG": "singapore-post", "HK": "hongkong-post",
    "JP": "japan-post", "NZ": "new-zealand-post", "CH": "swiss-post",
}


def carrier_named(name: str | None) -> Carrier | None:
    """The carrier a name means, whatever its case or punctuation ("ups", "Royal-Mail", "china ems")."""
    if not name or not name.strip():
        return None
    key = name_key(name)
    generic = re.fullmatch(r"postalservice([a-z]{2})", key)
    return post_of(generic.group(1).upper()) if generic else _BY_KEY.get(key)


def post_of(country: str) -> Carrier:
    """The post that issued an S10 number; a post we have no row for is named after its country."""
    code = S10_COUNTRY.get(country)
    if code:
        return BY_CODE[code]
    name = f"Postal service {country}"
    return Carrier(code=f"post-{country.lower()}", name=name, url=UNIVERSAL_POST_URL, shopify=name)
