import { describe, expect, it } from "vitest";
import {
  canPayNow, describeSkipped, payability, planPayment, remainingAfterPaying, type SelectableOrder,
} from "./selection";

const berlin = { supplier_id: "sup_berlin", name: "Berlin Gadgets GmbH", auto_order: true };
const lisbon = { supplier_id: "sup_lisbon", name: "Lisbon Lamps", auto_order: true };
const crafts = { supplier_id: "sup_crafts", name: "Crafts Co (no auto-order)", auto_order: false };

let n = 100000;
function order(status: string, supplier: SelectableOrder["supplier"], extra: Partial<SelectableOrder> = {}): SelectableOrder {
  n += 1;
  return { order_id: `ord_${n}`, order_number: `D${n}`, status, supplier, unmatched_line_count: 0, ...extra };
}

describe("payability", () => {
  it("an unpaid order of an auto-order supplier is payable", () => {
    expect(payability(order("unpaid", berlin))).toEqual({ payable: true });
  });

  it.each([
    ["paid", "already paid"], ["forwarded", "already paid"], ["shipped", "already paid"], ["synced", "already paid"],
    ["payment_pending", "payment in progress"], ["non_auto_order", "non auto-order"], ["unmatched", "unmatched"],
    ["cancelled", "cancelled"], ["refunded", "refunded"], ["failed", "failed"],
  ])("a %s order is not payable: %s", (status, reason) => {
    expect(payability(order(status, berlin))).toEqual({ payable: false, reason });
  });

  it("an order of a supplier without auto-order is not payable even if it looks unpaid", () => {
    expect(payability(order("unpaid", crafts))).toEqual({ payable: false, reason: "non auto-order" });
  });

  it("an order with unmatched lines is not payable", () => {
    expect(payability(order("unpaid", berlin, { unmatched_line_count: 1 }))).toEqual({ payable: false, reason: "unmatched" });
  });

  it("an order without a supplier is not payable", () => {
    expect(payability(order("unpaid", null))).toEqual({ payable: false, reason: "no supplier" });
  });
});

describe("planPayment", () => {
  it("nothing selected: Pay now disabled", () => {
    const plan = planPayment([]);
    expect(plan.kind).toBe("empty");
    expect(canPayNow(plan)).toBe(false);
  });

  it("one payment covers the unpaid orders of one supplier", () => {
    const a = order("unpaid", berlin), b = order("unpaid", berlin);
    const plan = planPayment([a, b]);
    expect(plan).toEqual({
      kind: "one_supplier", skipped: [],
      group: { supplier_id: "sup_berlin", name: "Berlin Gadgets GmbH", order_ids: [a.order_id, b.order_id] },
    });
    expect(canPayNow(plan)).toBe(true);
  });

  it("orders that cannot be paid are left out of the payment, with the reason", () => {
    const a = order("unpaid", berlin), paid = order("paid", berlin), manual = order("non_auto_order", crafts);
    const plan = planPayment([a, paid, manual]);
    expect(plan.kind).toBe("one_supplier");
    if (plan.kind !== "one_supplier") return;
    expect(plan.group.order_ids).toEqual([a.order_id]);
    expect(plan.skipped).toEqual([
      { reason: "already paid", order_numbers: [paid.order_number] },
      { reason: "non auto-order", order_numbers: [manual.order_number] },
    ]);
  });

  it("a payment never mixes suppliers: a mixed selection asks which supplier to pay", () => {
    const a = order("unpaid", lisbon), b = order("unpaid", berlin), c = order("unpaid", lisbon);
    const plan = planPayment([a, b, c]);
    expect(plan.kind).toBe("choose_supplier");
    expect(canPayNow(plan)).toBe(true);
    if (plan.kind !== "choose_supplier") return;
    expect(plan.groups.map((g) => [g.name, g.order_ids])).toEqual([
      ["Berlin Gadgets GmbH", [b.order_id]],
      ["Lisbon Lamps", [a.order_id, c.order_id]],
    ]);
  });

  it("a selection with nothing payable says why and keeps Pay now disabled", () => {
    const paid = order("shipped", berlin), pending = order("payment_pending", berlin), un = order("unmatched", null);
    const plan = planPayment([paid, pending, un]);
    expect(plan.kind).toBe("nothing_payable");
    expect(canPayNow(plan)).toBe(false);
    if (plan.kind !== "nothing_payable") return;
    const text = describeSkipped(plan.skipped);
    expect(text).toContain("already paid");
    expect(text).toContain("payment in progress");
    expect(text).toContain("unmatched");
    expect(text).toContain(paid.order_number);
  });
});

describe("remainingAfterPaying", () => {
  it("choosing one supplier leaves the other orders selected", () => {
    const a = order("unpaid", lisbon), b = order("unpaid", berlin), c = order("paid", berlin);
    const plan = planPayment([a, b, c]);
    if (plan.kind !== "choose_supplier") throw new Error(plan.kind);
    const berlinGroup = plan.groups.find((g) => g.supplier_id === "sup_berlin")!;
    expect(remainingAfterPaying([a.order_id, b.order_id, c.order_id], berlinGroup)).toEqual([a.order_id, c.order_id]);
  });
});
