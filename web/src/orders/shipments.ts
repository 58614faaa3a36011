// Partial shipments: how much of each line is still to ship, and the lines a new tracking number covers.

export interface OrderLine { line_id: string; sku?: string | null; title: string; quantity: number }
export interface Shipment {
  lines?: { line_id: string; quantity?: number | null }[] | null;
  superseded_at?: string | null; // corrected: the number was wrong, another shipment replaced it
}
export interface ShippedLine { line_id: string; quantity: number }

/** A shipment that counts: not replaced by a correction. */
export function isLive(s: Shipment): boolean {
  return !s.superseded_at;
}

/** Units of each line not covered by a shipment yet (a shipment without lines covered every line; a
 * corrected one counts through its replacement only). */
export function leftToShip(lines: OrderLine[], shipments: Shipment[]): Record<string, number> {
  const left: Record<string, number> = Object.fromEntries(lines.map((l) => [l.line_id, l.quantity]));
  for (const s of shipments.filter(isLive)) {
    if (!s.lines) return Object.fromEntries(lines.map((l) => [l.line_id, 0]));
    for (const l of s.lines) {
      if (l.line_id in left) left[l.line_id] = Math.max(0, left[l.line_id] - (l.quantity ?? left[l.line_id]));
    }
  }
  return left;
}

/** The lines to send for a new tracking number: only lines with a quantity; null when nothing is chosen. */
export function chosenLines(chosen: Record<string, number>, left: Record<string, number>): ShippedLine[] | null {
  const out: ShippedLine[] = [];
  for (const [line_id, q] of Object.entries(chosen)) {
    const max = left[line_id] ?? 0;
    const quantity = Math.min(Math.max(0, Math.floor(q)), max);
    if (quantity > 0) out.push({ line_id, quantity });
  }
  return out.length ? out : null;
}

/** Whether the retailer may correct this shipment's number: a live shipment of an order that is not closed. */
export function canCorrect(orderStatus: string, s: Shipment): boolean {
  return isLive(s) && !["refunded", "cancelled"].includes(orderStatus);
}

/** Who corrected a number, in words: "retailer:ann@example.com" → "ann@example.com", a supplier's or an
 * API key's change → "the supplier" / "an API key". */
export function correctedBy(changedBy: string): string {
  const [who, ...rest] = changedBy.split(":");
  const detail = rest.join(":").trim();
  if (who === "supplier") return "the supplier";
  if (who === "retailer") return !detail || detail === "api key" ? "an API key" : detail;
  return changedBy;
}
