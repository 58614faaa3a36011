import { describe, expect, it } from "vitest";
import { canCorrect, chosenLines, correctedBy, leftToShip } from "./shipments";

const lines = [
  { line_id: "a", title: "Mug", quantity: 3 },
  { line_id: "b", title: "Plate", quantity: 1 },
];

describe("leftToShip", () => {
  it("is every line's quantity before any shipment", () => {
    expect(leftToShip(lines, [])).toEqual({ a: 3, b: 1 });
  });
  it("subtracts what each shipment carried", () => {
    expect(leftToShip(lines, [{ lines: [{ line_id: "a", quantity: 2 }] }])).toEqual({ a: 1, b: 1 });
    expect(leftToShip(lines, [{ lines: [{ line_id: "a", quantity: 2 }] }, { lines: [{ line_id: "a", quantity: 1 }, { line_id: "b", quantity: 1 }] }]))
      .toEqual({ a: 0, b: 0 });
  });
  it("counts a corrected shipment once, through its replacement", () => {
    const wrong = { lines: [{ line_id: "a", quantity: 2 }], superseded_at: "2026-12-01T10:00:00Z" };
    const right = { lines: [{ line_id: "a", quantity: 2 }], superseded_at: null };
    expect(leftToShip(lines, [wrong, right])).toEqual({ a: 1, b: 1 });
    expect(leftToShip(lines, [wrong])).toEqual({ a: 3, b: 1 });
  });
  it("treats a shipment without lines (an older report) as every line", () => {
    expect(leftToShip(lines, [{ lines: null }])).toEqual({ a: 0, b: 0 });
  });
});

describe("chosenLines", () => {
  it("keeps lines with a quantity, capped at what is left", () => {
    expect(chosenLines({ a: 5, b: 0 }, { a: 3, b: 1 })).toEqual([{ line_id: "a", quantity: 3 }]);
  });
  it("is null when nothing is chosen", () => {
    expect(chosenLines({ a: 0, b: 0 }, { a: 3, b: 1 })).toBeNull();
  });
});

describe("canCorrect", () => {
  it("offers a correction for a live shipment of an open order only", () => {
    expect(canCorrect("shipped", { lines: null })).toBe(true);
    expect(canCorrect("synced", { lines: null, superseded_at: "2026-12-01T10:00:00Z" })).toBe(false);
    expect(canCorrect("refunded", { lines: null })).toBe(false);
    expect(canCorrect("cancelled", { lines: null })).toBe(false);
  });
});

describe("correctedBy", () => {
  it("names the signed-in user, an API key or the supplier", () => {
    expect(correctedBy("retailer:ann@example.com")).toBe("ann@example.com");
    expect(correctedBy("retailer:api key")).toBe("an API key");
    expect(correctedBy("supplier:sup_1")).toBe("the supplier");
  });
});
