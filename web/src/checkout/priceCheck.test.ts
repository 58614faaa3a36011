import { describe, expect, it } from "vitest";
import { figuresLine, flaggedOrders, flagLabels, guardrailsById, payBlocked, usd, type Guardrail, type PriceCheck } from "./priceCheck";

function guardrail(order_id: string, flags: string[], over: Partial<Guardrail> = {}): Guardrail {
  return {
    order_id, order_number: `D-${order_id}`, store_currency: "USD", revenue: "15.00", revenue_usd: "15.00",
    cost_usd: "19.89", margin_usd: "-4.89", revenue_fx: null, max_buy_price_usd: null, flags, reasons: [],
    flagged: flags.length > 0, ...over,
  };
}

function check(...orders: Guardrail[]): PriceCheck {
  const flagged = orders.filter((g) => g.flagged).map((g) => g.order_id);
  return { max_buy_price_usd: null, basis: "", orders, flagged_order_ids: flagged, requires_confirmation: flagged.length > 0 };
}

describe("price check badges", () => {
  it("names each flag in the app's words, loss first", () => {
    expect(flagLabels(guardrail("a", ["over_max_buy_price", "loss"]))).toEqual(["Loses money", "Above your max buy price"]);
    expect(flagLabels(guardrail("a", ["unconverted_currency"]))).toEqual(["Margin unknown"]);
    expect(flagLabels(guardrail("a", []))).toEqual([]);
  });

  it("still shows a flag it does not know yet", () => {
    expect(flagLabels(guardrail("a", ["something_new"]))).toEqual(["Flagged: something_new"]);
  });
});

describe("paying flagged orders", () => {
  it("needs the confirmation only when an order is flagged", () => {
    const flagged = check(guardrail("a", ["loss"]), guardrail("b", [], { margin_usd: "2.00" }));
    expect(payBlocked(flagged, false)).toBe(true);
    expect(payBlocked(flagged, true)).toBe(false);
    expect(payBlocked(check(guardrail("b", [])), false)).toBe(false);
    expect(payBlocked(undefined, false)).toBe(false);
    expect(flaggedOrders(flagged).map((g) => g.order_id)).toEqual(["a"]);
  });

  it("finds an order's check by its id", () => {
    const byId = guardrailsById(check(guardrail("a", ["loss"]), guardrail("b", [])));
    expect(byId.get("a")?.flags).toEqual(["loss"]);
    expect(byId.get("zzz")).toBeUndefined();
    expect(guardrailsById(null).size).toBe(0);
  });
});

describe("figures", () => {
  it("writes USD amounts with a real minus sign, and says when one is unknown", () => {
    expect(usd("-4.89")).toBe("−$4.89");
    expect(usd("2.03")).toBe("$2.03");
    expect(usd("0.00")).toBe("$0.00");
    expect(usd(null)).toBe("unknown");
    expect(figuresLine(guardrail("a", ["loss"]))).toBe("Paid $15.00 · cost $19.89 · margin −$4.89");
    expect(figuresLine(guardrail("a", ["unconverted_currency"], { revenue_usd: null, margin_usd: null })))
      .toBe("Paid unknown · cost $19.89 · margin unknown");
  });
});
