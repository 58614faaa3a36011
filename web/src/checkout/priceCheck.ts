// The price check (checkout's guardrail) as the retailer reads it: which orders are flagged, in which
// words, and whether the pay button may work. The rules themselves live in checkout; this only
// presents its answer.
import type { components } from "../api/schema";
import { money } from "../format";

export type PriceCheck = components["schemas"]["PriceCheckOut"];
export type Guardrail = components["schemas"]["GuardrailOut"];

/** The badge of each flag, in the order they are shown. */
export const FLAG_LABELS: ReadonlyArray<readonly [string, string]> = [
  ["loss", "Loses money"],
  ["over_max_buy_price", "Above your max buy price"],
  ["unconverted_currency", "Margin unknown"],
];

export function flagLabels(g: Pick<Guardrail, "flags">): string[] {
  const known = FLAG_LABELS.filter(([flag]) => g.flags.includes(flag)).map(([, label]) => label);
  const unknown = g.flags.filter((f) => !FLAG_LABELS.some(([flag]) => flag === f)).map((f) => `Flagged: ${f}`);
  return [...known, ...unknown];
}

/** order_id → its price check (the unpaid list's, for the Orders page rows). */
export function guardrailsById(check: PriceCheck | null | undefined): Map<string, Guardrail> {
  return new Map((check?.orders ?? []).map((g) => [g.order_id, g]));
}

export function flaggedOrders(check: PriceCheck | null | undefined): Guardrail[] {
  return (check?.orders ?? []).filter((g) => g.flagged);
}

/** Paying waits for the retailer's confirmation when any order is flagged. */
export function payBlocked(check: PriceCheck | null | undefined, confirmed: boolean): boolean {
  return Boolean(check?.requires_confirmation) && !confirmed;
}

/** "$2.03", "−$4.89", or "unknown" when a figure could not be worked out. */
export function usd(amount: string | null | undefined): string {
  if (amount === null || amount === undefined) return "unknown";
  const negative = amount.trim().startsWith("-");
  const text = money(negative ? amount.trim().slice(1) : amount, "USD");
  return negative ? `−${text}` : text;
}

/** One line for a row of the Orders page: "Paid $15.00 · cost $19.89 · margin −$4.89". */
export function figuresLine(g: Guardrail): string {
  return `Paid ${usd(g.revenue_usd)} · cost ${usd(g.cost_usd)} · margin ${usd(g.margin_usd)}`;
}
