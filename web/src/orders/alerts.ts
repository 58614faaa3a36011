// tracking-sync's alerts on an order (late: no tracking within the supplier's handling days; not
// synced: writing the tracking back to the store keeps failing), as badges and as the Orders page's counts.
import { localDateTime } from "../format";

export interface AlertFlags {
  late_since?: string | null;
  not_synced_since?: string | null;
}

export interface AlertBadge {
  flag: "late" | "not_synced";
  label: string;
  color: "warning" | "error";
  title: string;
}

export function alertBadges(o: AlertFlags): AlertBadge[] {
  const out: AlertBadge[] = [];
  if (o.late_since) {
    out.push({ flag: "late", label: "Late", color: "warning",
      title: `Late since ${localDateTime(o.late_since)}: no tracking within the supplier's handling days` });
  }
  if (o.not_synced_since) {
    out.push({ flag: "not_synced", label: "Not synced", color: "error",
      title: `Not synced since ${localDateTime(o.not_synced_since)}: the store has not taken the tracking yet` });
  }
  return out;
}

export interface OverviewCounts {
  late: number;
  not_synced: number;
}

/** "3 late", "1 not synced": only the flags some order has. */
export function overviewLinks(c: OverviewCounts | undefined): { flag: "late" | "not_synced"; text: string }[] {
  if (!c) return [];
  const out: { flag: "late" | "not_synced"; text: string }[] = [];
  if (c.late > 0) out.push({ flag: "late", text: `${c.late} late` });
  if (c.not_synced > 0) out.push({ flag: "not_synced", text: `${c.not_synced} not synced` });
  return out;
}
