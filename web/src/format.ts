// Display formats: amounts are decimal strings from the API, times ISO 8601 with an offset.

export function money(amount: string | number | null | undefined, currency: string | null | undefined): string {
  if (amount === null || amount === undefined || amount === "") return "—";
  const n = typeof amount === "number" ? amount : Number(amount);
  if (!Number.isFinite(n)) return `${amount} ${currency ?? ""}`.trim();
  if (!currency) return n.toFixed(2);
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency, currencyDisplay: "symbol" }).format(n);
  } catch {
    return `${n.toFixed(2)} ${currency}`;
  }
}

/** "€12.30" is ambiguous next to "$13.48"; the cost column spells the currency out. */
export function moneyWithCode(amount: string | null | undefined, currency: string | null | undefined): string {
  if (amount === null || amount === undefined) return "—";
  const formatted = money(amount, currency);
  return currency && !formatted.includes(currency) ? `${formatted} ${currency}` : formatted;
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateTimeSecondsFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export function localDateTime(iso: string | null | undefined, seconds = false): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return (seconds ? dateTimeSecondsFormat : dateTimeFormat).format(d);
}

const shortThisYear = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
const shortOtherYear = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });

/** Dense tables: "Dec 1, 8:01 PM" this year, "Dec 1, 2025" before. */
export function shortDateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return (d.getFullYear() === new Date().getFullYear() ? shortThisYear : shortOtherYear).format(d);
}

export function platformLabel(platform: string | null | undefined): string {
  switch (platform) {
    case "shopify": return "Shopify";
    case "ecwid": return "Ecwid";
    case "bigcommerce": return "BigCommerce";
    case "wix": return "Wix";
    default: return platform ?? "";
  }
}

export function methodLabel(method: string): string {
  return method === "card" ? "Credit/Debit Card" : method === "paypal" ? "PayPal" : method;
}

/** The rate line shown next to every USD amount, e.g. "1 EUR = 1.0956 USD · ECB reference rate of 2024-01-02". */
export function rateLine(fx: { from_currency: string; to_currency: string; rate: string; rate_date: string; source: string }): string {
  return `1 ${fx.from_currency} = ${fx.rate} ${fx.to_currency} · ${fx.source} of ${fx.rate_date}`;
}
