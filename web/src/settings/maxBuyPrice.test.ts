import { describe, expect, it } from "vitest";
import { parseMaxBuyPrice } from "./maxBuyPrice";

describe("the max buy price field", () => {
  it("empty means no maximum", () => {
    expect(parseMaxBuyPrice("")).toEqual({ ok: true, value: null });
    expect(parseMaxBuyPrice("   ")).toEqual({ ok: true, value: null });
  });

  it("takes dollars as people type them", () => {
    expect(parseMaxBuyPrice("40")).toEqual({ ok: true, value: "40" });
    expect(parseMaxBuyPrice(" $25.50 ")).toEqual({ ok: true, value: "25.50" });
    expect(parseMaxBuyPrice("1,250.5")).toEqual({ ok: true, value: "1250.5" });
  });

  it("refuses what is not an amount, with a reason", () => {
    for (const bad of ["abc", "-5", "12.345", "1e3", "1234567", "12.", ".5"]) {
      const r = parseMaxBuyPrice(bad);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/US dollars/);
    }
    const zero = parseMaxBuyPrice("0.00");
    expect(zero.ok).toBe(false);
    if (!zero.ok) expect(zero.error).toMatch(/more than \$0/);
  });
});
