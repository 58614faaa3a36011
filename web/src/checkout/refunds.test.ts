import { describe, expect, it } from "vitest";
import { refundAmountLine, refundNotice, refundStatusLabel, refundSummary, subtractDecimals, sumDecimals } from "./refunds";

describe("Refund amounts", () => {
  it("add up exactly, whatever their decimals", () => {
    expect(sumDecimals(["0.10", "0.20"])).toBe("0.30");
    expect(sumDecimals(["15.71", "0.29"])).toBe("16.00");
    expect(sumDecimals(["1", "2.5", "0.125"])).toBe("3.625");
    expect(sumDecimals([])).toBe("0");
    expect(subtractDecimals("31.42", "15.71")).toBe("15.71");
    expect(subtractDecimals("10", "10.00")).toBe("0.00");
    expect(subtractDecimals("1.00", "1.50")).toBe("-0.50");
  });

  it("refuse something that is not an amount", () => {
    expect(() => sumDecimals(["12,30"])).toThrow(/not a decimal amount/);
    expect(() => subtractDecimals("abc", "1")).toThrow(/not a decimal amount/);
  });

  it("read as the USD given back with the supplier-currency amount", () => {
    expect(refundAmountLine({ usd: "15.71", supplier: "14.28", currency: "EUR" })).toBe("$15.71 (€14.28 EUR)");
    expect(refundAmountLine({ usd: "15.71", supplier: "15.71", currency: "USD" })).toBe("$15.71");
  });

  it("name each refund's state", () => {
    expect(refundStatusLabel("succeeded")).toBe("Refunded");
    expect(refundStatusLabel("pending")).toBe("Refund pending");
    expect(refundStatusLabel("failed")).toBe("Refund failed");
  });
});

describe("A payment's refunds", () => {
  it("say what was given back and what stays charged (a bulk payment refunded per order)", () => {
    const refunds = [
      { amount_usd: "15.71", status: "succeeded", order_id: "o-1" },
      { amount_usd: "5.00", status: "pending", order_id: "o-2" },
      { amount_usd: "9.99", status: "failed", order_id: "o-3" },  // gave nothing back
    ];
    const summary = refundSummary("47.13", refunds);
    expect(summary).toEqual({ refunded: "20.71", net: "26.42", orders: 2, whole: false });
    expect(refundNotice(summary!, "card"))
      .toBe("Refunded $20.71 of this payment to the Credit/Debit Card for 2 orders the supplier rejected.");
    expect(refundNotice({ ...summary!, orders: 1 }, "paypal")).toMatch(/to PayPal for 1 order the supplier/);
  });

  it("say so when the whole payment went back", () => {
    const summary = refundSummary("31.42", [{ amount_usd: "31.42", status: "succeeded", order_id: null }]);
    expect(summary).toEqual({ refunded: "31.42", net: "0.00", orders: 0, whole: true });
    expect(refundNotice(summary!, "paypal")).toBe("This payment was refunded: $31.42 back to PayPal.");
  });

  it("are nothing to show when none gave money back", () => {
    expect(refundSummary("47.13", [])).toBeNull();
    expect(refundSummary("47.13", [{ amount_usd: "9.99", status: "failed" }])).toBeNull();
  });
});
