// Dropline status codes (API) and the words the retailer sees.

export const STATUS_LABELS: Record<string, string> = {
  unpaid: "Unpaid",
  payment_pending: "Payment pending",
  paid: "Paid",
  forwarded: "Forwarded",
  partially_shipped: "Partially shipped",
  shipped: "Shipped",
  synced: "Synced",
  non_auto_order: "Non auto-order",
  unmatched: "Unmatched",
  cancelled: "Cancelled",
  refunded: "Refunded",
  failed: "Failed",
};

export const STATUSES = Object.keys(STATUS_LABELS);

export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? status;
}

type ChipColor = "default" | "primary" | "secondary" | "error" | "info" | "success" | "warning";

export function statusColor(status: string): ChipColor {
  switch (status) {
    case "unpaid": return "warning";
    case "payment_pending": return "info";
    case "paid": case "forwarded": case "partially_shipped": return "primary";
    case "shipped": case "synced": return "success";
    case "unmatched": case "failed": return "error";
    case "non_auto_order": return "secondary";
    default: return "default";
  }
}
