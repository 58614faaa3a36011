// Partial shipments: how much of each line is still to ship, and the lines a new tracking number covers.

export interface OrderLine { line_id: string; sku?: string | null; title: string; quantity: number }
export interface Shipment { lines?: { line_id: string; quantity?: number | null }[] | null }
export interface ShippedLine { line_id: string; quantity: number }

/** Units of each line not covered by a shipment yet (a shipment without lines covered every line). */
export function leftToShip(lines: OrderLine[], shipments: Shipment[]): Record<string, number> {
  const left: Record<string, number> = Object.fromEntries(lines.map((l) => [l.line_id, l.quantity]));
  for (const s of shipments) {
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
