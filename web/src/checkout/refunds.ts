// Refunds as the retailer reads them, on the receipt and on the order page. Amounts are decimal
// strings from the API; sums are done in exact decimals (no float drift on "0.10" + "0.20").
import { methodLabel, money, moneyWithCode } from "../format";

export interface RefundAmounts {
  usd: string;
  supplier: string;
  currency: string;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** Exact sum of decimal strings ("15.71" + "0.29" = "16.00"); keeps the largest number of decimals. */
export function sumDecimals(values: readonly string[]): string {
  let scale = 0;
  for (const v of values) {
    if (!DECIMAL.test(v)) throw new Error(`not a decimal amount: ${JSON.stringify(v)}`);
    scale = Math.max(scale, (v.split(".")[1] ?? "").length);
  }
  const total = values.reduce((acc, v) => acc + toUnits(v, scale), 0n);
  return fromUnits(total, scale);
}

/** a − b, exactly. */
export function subtractDecimals(a: string, b: string): string {
  if (!DECIMAL.test(a) || !DECIMAL.test(b)) throw new Error(`not a decimal amount: ${JSON.stringify(a)}, ${JSON.stringify(b)}`);
  const scale = Math.max((a.split(".")[1] ?? "").length, (b.split(".")[1] ?? "").length);
  return fromUnits(toUnits(a, scale) - toUnits(b, scale), scale);
}

function toUnits(v: string, scale: number): bigint {
  const negative = v.startsWith("-");
  const [whole, frac = ""] = (negative ? v.slice(1) : v).split(".");
  const units = BigInt(whole + frac.padEnd(scale, "0"));
  return negative ? -units : units;
}

function fromUnits(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const frac = scale ? `.${digits.slice(digits.length - scale)}` : "";
  return `${negative ? "-" : ""}${whole}${frac}`;
}

/** "Refunded", "Refund pending", "Refund failed" — the words next to each refund. */
export function refundStatusLabel(status: string): string {
  switch (status) {
    case "succeeded": return "Refunded";
    case "pending": return "Refund pending";
    case "failed": return "Refund failed";
    default: return status;
  }
}

/** "$15.71 (€14.28 EUR)": the USD amount given back, with the supplier-currency amount it stands for
 *  (just "$15.71" for a supplier that charges in USD). */
export function refundAmountLine(a: RefundAmounts): string {
  if (a.currency === "USD") return money(a.usd, "USD");
  return `${money(a.usd, "USD")} (${moneyWithCode(a.supplier, a.currency)})`;
}

export interface RefundSummary {
  refunded: string;  // USD given back (or on its way back)
  net: string;       // USD that stays charged
  orders: number;    // refunds of one order's share
  whole: boolean;    // the whole payment was refunded
}

/** What a payment's refunds add up to (failed refunds gave nothing back) and what stays charged. */
export function refundSummary(
  charged: string,
  refunds: readonly { amount_usd: string; status: string; order_id?: string | null }[],
): RefundSummary | null {
  const back = refunds.filter((r) => r.status !== "failed");
  if (back.length === 0) return null;
  const refunded = sumDecimals(back.map((r) => r.amount_usd));
  return { refunded, net: subtractDecimals(charged, refunded), orders: back.filter((r) => r.order_id).length,
    whole: back.some((r) => !r.order_id) };
}

/** Where refunded money goes: "the Credit/Debit Card" (card) or "PayPal". */
export function refundDestination(method: string): string {
  return method === "card" ? `the ${methodLabel(method)}` : methodLabel(method);
}

/** The receipt's one-line notice, e.g. "Refunded $15.71 of this payment to the Credit/Debit Card for 1 order
 *  the supplier rejected." `method`: the payment's method code (card, paypal). */
export function refundNotice(s: RefundSummary, method: string): string {
  const to = refundDestination(method);
  if (s.whole) return `This payment was refunded: ${money(s.refunded, "USD")} back to ${to}.`;
  const orders = s.orders === 1 ? "1 order" : `${s.orders} orders`;
  return `Refunded ${money(s.refunded, "USD")} of this payment to ${to} for ${orders} the supplier rejected.`;
}
