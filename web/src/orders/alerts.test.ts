import { describe, expect, it } from "vitest";
import { alertBadges, overviewLinks } from "./alerts";
import { localDateTime } from "../format";

describe("alert badges", () => {
  it("an order without flags has none", () => {
    expect(alertBadges({ late_since: null, not_synced_since: null })).toEqual([]);
    expect(alertBadges({})).toEqual([]);
  });

  it("each flag is a badge that says since when", () => {
    const since = "2026-12-01T10:00:00Z";
    const badges = alertBadges({ late_since: since, not_synced_since: since });
    expect(badges.map((b) => [b.flag, b.label, b.color])).toEqual([
      ["late", "Late", "warning"], ["not_synced", "Not synced", "error"]]);
    expect(badges[0].title).toBe(`Late since ${localDateTime(since)}: no tracking within the supplier's handling days`);
    expect(badges[1].title.startsWith(`Not synced since ${localDateTime(since)}`)).toBe(true);
  });
});

describe("overview counts", () => {
  it("show only the flags some order has, in words", () => {
    expect(overviewLinks({ late: 3, not_synced: 1 })).toEqual([
      { flag: "late", text: "3 late" }, { flag: "not_synced", text: "1 not synced" }]);
    expect(overviewLinks({ late: 0, not_synced: 2 })).toEqual([{ flag: "not_synced", text: "2 not synced" }]);
    expect(overviewLinks({ late: 0, not_synced: 0 })).toEqual([]);
    expect(overviewLinks(undefined)).toEqual([]);
  });
});
