// Cancelling an order (the retailer's decision, before anything is paid). Rules (product.md): an
// order nobody has paid and no payment holds can be cancelled — unpaid, non auto-order, unmatched;
// Dropline never cancels with the supplier or refunds, and the store order itself is not changed.
// Pure (no API client import), so the rule is unit-tested as is.

export const CANCELLABLE_STATUSES: ReadonlySet<string> = new Set(["unpaid", "non_auto_order", "unmatched"]);

/** Whether the order page offers "Cancel order" for an order in this Dropline status. */
export function canCancel(status: string): boolean {
  return CANCELLABLE_STATUSES.has(status);
}

/** What the dialog says when the gateway refuses, in words the retailer can act on. */
export function cancelErrorMessage(e: unknown): string {
  const err = (typeof e === "object" && e !== null ? e : {}) as { code?: unknown; message?: unknown };
  if (typeof err.code === "string") {
    switch (err.code) {
      case "payment_in_progress":
        return "A payment for this order is in progress, so it cannot be cancelled now. If the payment goes "
          + "through, cancel the order with the supplier.";
      case "already_paid":
        return "This order is already paid, so Dropline cannot cancel it. Cancel it with the supplier "
          + "(and refund the customer in your store).";
      case "not_cancellable":
        return `This order cannot be cancelled: ${String(err.message)}.`;
      case "not_ready_yet":
        return "This order has just arrived and is still being set up. Try again in a second.";
      case "not_found":
        return "This order no longer exists.";
    }
  }
  return typeof err.message === "string" && err.message ? err.message : "Something went wrong. Please try again.";
}
