// Refunds as the retailer reads them, on the receipt and on the order page. Amounts are decimal
// strings from the API; sums are done in exact decimals (no float drift on "0.10" + "0.20").
import { money, moneyWithCode } from "../format";

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

/** What a payment's refunds add up to (failed refunds gave nothing back) and what stays charged. */
export function refundSummary(charged: string, refunds: readonly { amount_usd: string; status: string }[]):
  { refunded: string; net: string; orders: number } | null {
  const back = refunds.filter((r) => r.status !== "failed").map((r) => r.amount_usd);
  if (back.length === 0) return null;
  const refunded = sumDecimals(back);
  return { refunded, net: subtractDecimals(charged, refunded), orders: back.length };
}
