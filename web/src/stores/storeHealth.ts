// What the Stores screen says about a store's sync health: pure functions of the API's
// StoreHealthOut (GET /api/v1/stores), so the rules are unit-tested apart from the page.
import type { components } from "../api/schema";
import { platformLabel } from "../format";

type S = components["schemas"];
export type StoreWithHealth = S["StoreOut"];
export type StoreHealth = S["StoreHealthOut"];
export type Reconciliation = S["Reconciliation"];

/** The platform as its owner names it (the Stores screen spells Ecwid's full product name). */
export function platformName(platform: string): string {
  return platform === "ecwid" ? "Ecwid by Lightspeed" : platformLabel(platform);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** What the last reconciliation came to, as a sentence: what it found, or its error. */
export function reconciliationSentence(rec: Reconciliation | null | undefined): string {
  if (!rec) return "Not run yet";
  if (rec.error) return `Failed: ${rec.error}`;
  if (rec.found > 0) return `Found ${plural(rec.found, "order")} no webhook brought`;
  return "Nothing missing";
}

/** "12 orders checked": how many orders the store listed since the run before. */
export function reconciliationExamined(rec: Reconciliation | null | undefined): string | null {
  if (!rec || rec.error) return null;
  return `${plural(rec.examined, "order")} checked`;
}

export type HealthLevel = "ok" | "warning" | "idle";

export interface HealthAssessment {
  level: HealthLevel;
  /** Short status text shown next to its icon: never colour alone. */
  label: string;
  /** Why the store needs attention (empty unless level is "warning"). */
  problems: string[];
}

function time(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/** The newest successful sync: the last write-back, or the last reconciliation that did not fail. */
export function lastSuccessAt(h: StoreHealth): number | null {
  const candidates = [time(h.last_write_back_at), h.last_reconciliation?.error ? null : time(h.last_reconciliation?.at)]
    .filter((t): t is number => t !== null);
  return candidates.length ? Math.max(...candidates) : null;
}

/**
 * A store needs attention when its last reconciliation failed, or when its last failure is newer
 * than its last successful write-back or reconciliation (it has not recovered since). A store with
 * no webhook, reconciliation, write-back or failure yet is idle, not unhealthy.
 */
export function assessHealth(h: StoreHealth): HealthAssessment {
  const problems: string[] = [];
  const rec = h.last_reconciliation;
  if (rec?.error) problems.push(`The last reconciliation failed: ${rec.error}`);

  const failure = h.last_failure;
  const failedAt = time(failure?.at);
  if (failure && failedAt !== null) {
    const success = lastSuccessAt(h);
    // The failed reconciliation is usually the last failure too ("reconciliation: <its error>").
    const sameAsReconciliation = !!rec?.error && (failure.reason.includes(rec.error) || rec.error.includes(failure.reason));
    if ((success === null || failedAt > success) && !sameAsReconciliation) {
      problems.push(`Failing since the last successful sync: ${failure.reason}`);
    }
  }
  if (problems.length) return { level: "warning", label: "Needs attention", problems };

  const anything = h.last_webhook_at || rec || h.last_write_back_at || failure;
  if (!anything) return { level: "idle", label: "No activity yet", problems };
  return { level: "ok", label: "Healthy", problems };
}

const relative = new Intl.RelativeTimeFormat("en", { numeric: "always" });
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 24 * 3600], ["month", 30 * 24 * 3600], ["week", 7 * 24 * 3600], ["day", 24 * 3600],
  ["hour", 3600], ["minute", 60],
];

/** "just now", "5 minutes ago", "3 hours ago", "2 days ago" (whole units, rounded down). */
export function relativeTime(iso: string | null | undefined, now: number = Date.now()): string {
  const t = time(iso);
  if (t === null) return iso ?? "";
  const seconds = (now - t) / 1000;
  // A clock a little ahead of the browser's is not "in 20 seconds".
  if (Math.abs(seconds) < 60) return "just now";
  const abs = Math.abs(seconds);
  for (const [unit, size] of UNITS) {
    if (abs >= size) {
      const n = Math.floor(abs / size);
      return relative.format(seconds > 0 ? -n : n, unit);
    }
  }
  return "just now";
}
