import { describe, expect, it } from "vitest";
import {
  assessHealth, lastSuccessAt, platformName, reconciliationExamined, reconciliationSentence, relativeTime,
  type StoreHealth,
} from "./storeHealth";

const health = (h: Partial<StoreHealth>): StoreHealth => ({ writes_waiting: 0, ...h });
const rec = (at: string, found = 0, error: string | null = null, examined = 10) => ({ at, examined, found, error });

describe("Store names and the reconciliation sentence", () => {
  it("names each platform as its owner does", () => {
    expect(["shopify", "ecwid", "bigcommerce", "wix"].map(platformName))
      .toEqual(["Shopify", "Ecwid by Lightspeed", "BigCommerce", "Wix"]);
  });

  it("says what the last reconciliation found, or its error", () => {
    expect(reconciliationSentence(null)).toBe("Not run yet");
    expect(reconciliationSentence(rec("2024-05-01T10:00:00+00:00", 0))).toBe("Nothing missing");
    expect(reconciliationSentence(rec("2024-05-01T10:00:00+00:00", 1))).toBe("Found 1 order no webhook brought");
    expect(reconciliationSentence(rec("2024-05-01T10:00:00+00:00", 3))).toBe("Found 3 orders no webhook brought");
    expect(reconciliationSentence(rec("2024-05-01T10:00:00+00:00", 0, "store API answered 401")))
      .toBe("Failed: store API answered 401");
  });

  it("counts the orders a reconciliation checked, not for a failed one", () => {
    expect(reconciliationExamined(rec("2024-05-01T10:00:00+00:00", 0, null, 1))).toBe("1 order checked");
    expect(reconciliationExamined(rec("2024-05-01T10:00:00+00:00", 0, null, 12))).toBe("12 orders checked");
    expect(reconciliationExamined(rec("2024-05-01T10:00:00+00:00", 0, "timeout"))).toBeNull();
    expect(reconciliationExamined(undefined)).toBeNull();
  });
});

describe("A store's health", () => {
  it("is idle before anything happened, healthy once webhooks arrive", () => {
    expect(assessHealth(health({}))).toEqual({ level: "idle", label: "No activity yet", problems: [] });
    expect(assessHealth(health({ last_webhook_at: "2024-05-01T10:00:00+00:00" })).level).toBe("ok");
  });

  it("needs attention when the last failure is newer than the last write-back and reconciliation", () => {
    const a = assessHealth(health({
      last_write_back_at: "2024-05-01T10:00:00+00:00",
      last_reconciliation: rec("2024-05-01T10:05:00+00:00"),
      last_failure: { at: "2024-05-01T10:06:00+00:00", reason: "write-back answered 503" },
    }));
    expect(a.level).toBe("warning");
    expect(a.label).toBe("Needs attention");
    expect(a.problems).toEqual(["Failing since the last successful sync: write-back answered 503"]);
  });

  it("has recovered when a write-back or reconciliation succeeded after the failure", () => {
    const failure = { at: "2024-05-01T10:00:00+02:00", reason: "timeout" }; // 08:00 UTC
    expect(assessHealth(health({ last_failure: failure, last_write_back_at: "2024-05-01T09:00:00+00:00" })).level)
      .toBe("ok");
    expect(assessHealth(health({ last_failure: failure, last_reconciliation: rec("2024-05-01T08:30:00Z") })).level)
      .toBe("ok");
    // Compared as instants, not as strings: 07:30 UTC is before the failure.
    expect(assessHealth(health({ last_failure: failure, last_write_back_at: "2024-05-01T09:30:00+02:00" })).level)
      .toBe("warning");
  });

  it("needs attention on a failure with no success at all", () => {
    expect(assessHealth(health({ last_failure: { at: "2024-05-01T10:00:00Z", reason: "bad token" } })).problems)
      .toEqual(["Failing since the last successful sync: bad token"]);
  });

  it("needs attention when the last reconciliation failed, which is no success", () => {
    const h = health({
      last_write_back_at: "2024-05-01T09:00:00Z",
      last_reconciliation: rec("2024-05-01T10:00:00Z", 0, "store API answered 401"),
      last_failure: { at: "2024-05-01T10:00:00Z", reason: "store API answered 401" },
    });
    expect(lastSuccessAt(h)).toBe(Date.parse("2024-05-01T09:00:00Z"));
    // The same failure is said once, also as order-ingest words it ("reconciliation: …").
    expect(assessHealth(h).problems).toEqual(["The last reconciliation failed: store API answered 401"]);
    expect(assessHealth({ ...h, last_failure: { at: "2024-05-01T10:00:00Z", reason: "reconciliation: store API answered 401" } })
      .problems).toEqual(["The last reconciliation failed: store API answered 401"]);
    expect(assessHealth(health({ ...h, last_failure: { at: "2024-05-01T10:01:00Z", reason: "write-back 500" } })).problems)
      .toEqual(["The last reconciliation failed: store API answered 401",
        "Failing since the last successful sync: write-back 500"]);
  });
});

describe("Relative times", () => {
  const now = Date.parse("2024-05-10T12:00:00Z");
  it("round down to whole units", () => {
    expect(relativeTime("2024-05-10T11:59:30Z", now)).toBe("just now");
    expect(relativeTime("2024-05-10T12:00:20Z", now)).toBe("just now"); // a clock slightly ahead
    expect(relativeTime("2024-05-10T11:59:00Z", now)).toBe("1 minute ago");
    expect(relativeTime("2024-05-10T11:01:00Z", now)).toBe("59 minutes ago");
    expect(relativeTime("2024-05-10T09:00:00Z", now)).toBe("3 hours ago");
    expect(relativeTime("2024-05-08T12:00:00+00:00", now)).toBe("2 days ago");
    expect(relativeTime("2024-04-20T12:00:00Z", now)).toBe("2 weeks ago");
    expect(relativeTime("2023-05-01T12:00:00Z", now)).toBe("1 year ago");
  });
  it("leave what is not a time as it is", () => {
    expect(relativeTime(null, now)).toBe("");
    expect(relativeTime("soon", now)).toBe("soon");
  });
});
