"""The buyer's approval page (what ``rel: approve`` / ``payer-action`` points at): plain, accessible HTML with
no script. One form, two buttons: "Approve payment" (the order becomes APPROVED, then 303 to return_url
``?token=ORDER_ID&PayerID=…``) and "Cancel and return" (303 to cancel_url ``?token=ORDER_ID``; the order
stays as it was, as on PayPal)."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from .state import Order, resolve_payee
from .validation import format_value

STYLE = """
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
body { margin: 0; background: #f5f7fa; color: #1b1f24; }
main { max-width: 32rem; margin: 3rem auto; padding: 2rem; background: #fff; border-radius: 12px;
       box-shadow: 0 1px 4px rgba(0,0,0,.12); }
h1 { font-size: 1.5rem; margin-top: 0; }
h2 { font-size: 1.1rem; }
.note { background: #fff8e1; border-left: 4px solid #b26a00; padding: .5rem .75rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .4rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
input { font: inherit; padding: .5rem; width: 100%; box-sizing: border-box; border: 1px solid #5f6b7a;
        border-radius: 6px; }
.actions { display: flex; gap: .75rem; margin-top: 1.5rem; flex-wrap: wrap; }
button { font: inherit; font-weight: 600; padding: .7rem 1.2rem; border-radius: 24px; border: 2px solid #003087;
         cursor: pointer; }
button.primary { background: #003087; color: #fff; }
button.secondary { background: #fff; color: #003087; }
button:focus-visible, input:focus-visible { outline: 3px solid #0070e0; outline-offset: 2px; }
[role=alert] { background: #fdecea; border-left: 4px solid #b3261e; padding: .5rem .75rem; }
"""


def with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, f"{parts.query}&{query}" if parts.query else query,
                       parts.fragment))


def _page(title: str, body: str) -> str:
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<main aria-labelledby=\"page-title\">\n{body}\n</main>\n</body>\n</html>\n")


def _summary(order: Order) -> str:
    rows = []
    for unit in order.request.purchase_units:
        payee = resolve_payee(unit["payee"])
        rows.append(f"<dt>Pay to</dt><dd>{escape(payee['email_address'] or payee['merchant_id'])}</dd>")
        if unit["description"]:
            rows.append(f"<dt>For</dt><dd>{escape(unit['description'])}</dd>")
        breakdown: dict[str, Any] = unit["amount"].get("breakdown") or {}
        labels = {"item_total": "Items", "shipping": "Shipping", "handling": "Handling", "tax_total": "Tax",
                  "insurance": "Insurance", "shipping_discount": "Shipping discount", "discount": "Discount"}
        for key, label in labels.items():
            if key in breakdown:
                rows.append(f"<dt>{label}</dt><dd>{escape(breakdown[key]['value'])} "
                            f"{escape(breakdown[key]['currency_code'])}</dd>")
        rows.append(f"<dt>Total</dt><dd><strong>{format_value(unit['total'], unit['currency'])} "
                    f"{escape(unit['currency'])}</strong></dd>")
    return "<dl>" + "".join(rows) + "</dl>"


def approval_page(order: Order, *, error: str | None = None) -> str:
    alert = f'<p role="alert">{escape(error)}</p>\n' if error else ""
    body = (
        f'<h1 id="page-title">Review your payment</h1>\n{alert}'
        '<p class="note">PayPal stand-in for Dropline development and tests: no real money moves.</p>\n'
        f'<section aria-labelledby="summary-title">\n<h2 id="summary-title">Order {escape(order.id)}</h2>\n'
        f"{_summary(order)}\n</section>\n"
        '<form method="post" action="/checkoutnow">\n'
        f'<input type="hidden" name="token" value="{escape(order.id)}">\n'
        '<label for="payer-email">PayPal account email</label>\n'
        '<input id="payer-email" name="payer_email" type="email" autocomplete="email" '
        'value="buyer@personal.example.com" aria-describedby="payer-email-hint">\n'
        '<p id="payer-email-hint">The stand-in accepts any address; it becomes the payer.</p>\n'
        '<div class="actions">\n'
        '<button type="submit" class="primary" name="action" value="approve">Approve payment</button>\n'
        '<button type="submit" class="secondary" name="action" value="cancel" formnovalidate>Cancel and return</button>\n'
        "</div>\n</form>"
    )
    return _page(f"Pay with PayPal – order {order.id}", body)


def message_page(title: str, text: str, *, link: str | None = None, link_text: str = "Return to the merchant"
                 ) -> str:
    extra = f'\n<p><a href="{escape(link)}">{escape(link_text)}</a></p>' if link else ""
    return _page(title, f'<h1 id="page-title">{escape(title)}</h1>\n<p>{escape(text)}</p>{extra}')
