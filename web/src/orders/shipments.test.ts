import { describe, expect, it } from "vitest";
import { chosenLines, leftToShip } from "./shipments";

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
