import { describe, expect, it } from "vitest";

// The shape of the app's ApiError (status, code = the gateway's "error", message).
class ApiError extends Error {
  readonly code: string;
  constructor(readonly status: number, body: { error: string; message: string; details: object }) {
    super(body.message);
    this.code = body.error;
  }
}
import { STATUSES } from "./status";
import { canCancel, cancelErrorMessage } from "./cancel";

describe("Cancel order", () => {
  it("is offered for an order nobody has paid and no payment holds", () => {
    expect(STATUSES.filter(canCancel)).toEqual(["unpaid", "non_auto_order", "unmatched"]);
  });

  it.each(["payment_pending", "paid", "forwarded", "shipped", "synced", "cancelled", "refunded", "failed"])(
    "is not offered for a %s order", (status) => {
      expect(canCancel(status)).toBe(false);
    });

  it("explains the refusals in words the retailer can act on", () => {
    const inProgress = new ApiError(409, { error: "payment_in_progress", message: "x", details: {} });
    expect(cancelErrorMessage(inProgress)).toMatch(/payment for this order is in progress/);
    const paid = new ApiError(409, { error: "already_paid", message: "x", details: {} });
    expect(cancelErrorMessage(paid)).toMatch(/already paid.*Cancel it with the supplier/);
    const later = new ApiError(409, { error: "not_ready_yet", message: "x", details: {} });
    expect(cancelErrorMessage(later)).toMatch(/Try again/);
  });

  it("shows the server's own message for anything else", () => {
    const other = new ApiError(503, { error: "checkout_unavailable", message: "checkout did not answer", details: {} });
    expect(cancelErrorMessage(other)).toBe("checkout did not answer");
  });
});
