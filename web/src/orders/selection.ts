// What a selection of orders can pay, as pure functions (unit-tested in selection.test.ts).
// Rules (docs: web-app.md, product.md): a payment covers unpaid orders of ONE auto-order supplier;
// a selection that mixes suppliers asks which supplier to pay and keeps the rest selected;
// orders that cannot be paid say why.

/** The fields of an order summary that decide whether it can be paid. */
export interface SelectableOrder {
  order_id: string;
  order_number: string | null;
  status: string;
  unmatched_line_count?: number;
  supplier: { supplier_id: string; name: string; auto_order: boolean } | null;
}

export type NotPayableReason =
  | "already paid"
  | "payment in progress"
  | "non auto-order"
  | "unmatched"
  | "no supplier"
  | "cancelled"
  | "refunded"
  | "failed";

export type Payability = { payable: true } | { payable: false; reason: NotPayableReason };

const ALREADY_PAID = new Set(["paid", "forwarded", "partially_shipped", "shipped", "synced"]);

export function payability(order: SelectableOrder): Payability {
  const s = order.status;
  if (ALREADY_PAID.has(s)) return { payable: false, reason: "already paid" };
  if (s === "payment_pending") return { payable: false, reason: "payment in progress" };
  if (s === "cancelled" || s === "refunded" || s === "failed") return { payable: false, reason: s };
  if (s === "non_auto_order" || (order.supplier && !order.supplier.auto_order)) {
    return { payable: false, reason: "non auto-order" };
  }
  if (s === "unmatched" || (order.unmatched_line_count ?? 0) > 0) return { payable: false, reason: "unmatched" };
  if (!order.supplier) return { payable: false, reason: "no supplier" };
  if (s !== "unpaid") return { payable: false, reason: "already paid" };
  return { payable: true };
}

export interface SupplierGroup {
  supplier_id: string;
  name: string;
  order_ids: string[];
}

export interface Skipped {
  reason: NotPayableReason;
  order_numbers: string[];
}

export type PaymentPlan =
  /** Nothing selected. */
  | { kind: "empty" }
  /** Something selected, none of it payable. */
  | { kind: "nothing_payable"; skipped: Skipped[] }
  /** Payable orders of exactly one supplier: Pay now goes straight to checkout. */
  | { kind: "one_supplier"; group: SupplierGroup; skipped: Skipped[] }
  /** Payable orders of several suppliers: Pay now asks which one ("Choose the supplier to pay"). */
  | { kind: "choose_supplier"; groups: SupplierGroup[]; skipped: Skipped[] };

export function planPayment(selected: readonly SelectableOrder[]): PaymentPlan {
  if (selected.length === 0) return { kind: "empty" };
  const groups = new Map<string, SupplierGroup>();
  const skipped = new Map<NotPayableReason, string[]>();
  for (const order of selected) {
    const p = payability(order);
    if (p.payable && order.supplier) {
      const g = groups.get(order.supplier.supplier_id) ??
        { supplier_id: order.supplier.supplier_id, name: order.supplier.name, order_ids: [] };
      g.order_ids.push(order.order_id);
      groups.set(g.supplier_id, g);
    } else if (!p.payable) {
      skipped.set(p.reason, [...(skipped.get(p.reason) ?? []), order.order_number ?? order.order_id]);
    }
  }
  const skippedList = [...skipped].map(([reason, order_numbers]) => ({ reason, order_numbers }));
  const groupList = [...groups.values()].sort((a, b) => a.name.localeCompare(b.name));
  if (groupList.length === 0) return { kind: "nothing_payable", skipped: skippedList };
  if (groupList.length === 1) return { kind: "one_supplier", group: groupList[0], skipped: skippedList };
  return { kind: "choose_supplier", groups: groupList, skipped: skippedList };
}

/** "Pay now" is enabled when it can lead to a payment (directly or after choosing the supplier). */
export function canPayNow(plan: PaymentPlan): boolean {
  return plan.kind === "one_supplier" || plan.kind === "choose_supplier";
}

/** The selection that stays after paying one supplier's orders: everything else, untouched. */
export function remainingAfterPaying(selectedIds: readonly string[], group: SupplierGroup): string[] {
  const paying = new Set(group.order_ids);
  return selectedIds.filter((id) => !paying.has(id));
}

/** One plain sentence on why (some of) the selection is not in the payment. */
export function describeSkipped(skipped: readonly Skipped[]): string {
  if (skipped.length === 0) return "";
  const parts = skipped.map(({ reason, order_numbers }) =>
    `${order_numbers.join(", ")}: ${reason}`);
  return `Cannot be paid — ${parts.join("; ")}.`;
}
