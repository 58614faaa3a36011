import { describe, expect, it } from "vitest";
import { exportCsvUrl, filtersFromParams, filtersToParams, toApiQuery } from "./filters";

describe("Orders filters in the URL", () => {
  it("round-trip through the query string, so a filtered view can be bookmarked", () => {
    const params = new URLSearchParams("supplier_id=sup_1&status=unpaid&store_id=st_1&created_from=2024-01-01&created_to=2024-01-31&q=D1000&page=2&page_size=50");
    const f = filtersFromParams(params);
    expect(f).toMatchObject({ supplier_id: "sup_1", status: "unpaid", page: 2, page_size: 50, q: "D1000" });
    expect(filtersToParams(f).toString()).toBe(params.toString());
  });

  it("page sizes other than 25/50/100 fall back to 25; defaults stay out of the URL", () => {
    const f = filtersFromParams(new URLSearchParams("page_size=7&page=-3"));
    expect(f.page_size).toBe(25);
    expect(f.page).toBe(0);
    expect(filtersToParams(f).toString()).toBe("");
  });

  it("page and size become offset and limit for the API", () => {
    const f = filtersFromParams(new URLSearchParams("status=unpaid&page=3&page_size=100"));
    expect(toApiQuery(f)).toEqual({ status: "unpaid", limit: 100, offset: 300 });
  });

  it("the alert flag round-trips and goes to the list and the CSV export", () => {
    const f = filtersFromParams(new URLSearchParams("flag=not_synced&page=1"));
    expect(f.flag).toBe("not_synced");
    expect(filtersToParams(f).toString()).toBe("flag=not_synced&page=1");
    expect(toApiQuery(f)).toEqual({ flag: "not_synced", limit: 25, offset: 25 });
    expect(exportCsvUrl(filtersFromParams(new URLSearchParams("status=shipped&flag=late"))))
      .toBe("/api/v1/orders/export.csv?status=shipped&flag=late");
  });

  it("a flag the gateway does not know is dropped instead of answering 422", () => {
    for (const bad of ["overdue", "LATE", ""]) {
      const f = filtersFromParams(new URLSearchParams({ flag: bad }));
      expect(f.flag).toBe("");
      expect(toApiQuery(f)).toEqual({ limit: 25, offset: 0 });
    }
  });

  it("the CSV export carries exactly the filters, not the page", () => {
    const f = filtersFromParams(new URLSearchParams("supplier_id=sup_1&status=unpaid&q=%20mug%20&page=4"));
    expect(exportCsvUrl(f)).toBe("/api/v1/orders/export.csv?supplier_id=sup_1&status=unpaid&q=mug");
    expect(exportCsvUrl(filtersFromParams(new URLSearchParams()))).toBe("/api/v1/orders/export.csv");
  });
});
