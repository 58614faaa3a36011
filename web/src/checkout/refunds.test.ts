import { describe, expect, it } from "vitest";
import { refundAmountLine, refundStatusLabel, refundSummary, subtractDecimals, sumDecimals } from "./refunds";

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
      { amount_usd: "15.71", status: "succeeded" },
      { amount_usd: "5.00", status: "pending" },
      { amount_usd: "9.99", status: "failed" },  // gave nothing back
    ];
    expect(refundSummary("47.13", refunds)).toEqual({ refunded: "20.71", net: "26.42", orders: 2 });
  });

  it("are nothing to show when none gave money back", () => {
    expect(refundSummary("47.13", [])).toBeNull();
    expect(refundSummary("47.13", [{ amount_usd: "9.99", status: "failed" }])).toBeNull();
  });
});
