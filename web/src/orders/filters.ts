// The Orders filters live in the URL query, so a filtered view can be bookmarked and shared.

export interface OrderFilters {
  supplier_id: string;
  status: string;
  store_id: string;
  created_from: string;
  created_to: string;
  q: string;
  /** An alert flag: "late", "not_synced", or "" for every order. */
  flag: string;
  page: number;
  page_size: number;
}

export const PAGE_SIZES = [25, 50, 100];
const FILTER_KEYS = ["supplier_id", "status", "store_id", "created_from", "created_to", "q", "flag"] as const;

/** The alert flags the list can be filtered on (the gateway answers 422 to anything else). */
export const FLAGS = [
  { value: "late", label: "Late" },
  { value: "not_synced", label: "Not synced" },
] as const;

function knownFlag(v: string | null): string {
  return FLAGS.some((f) => f.value === v) ? (v as string) : "";
}

export function filtersFromParams(params: URLSearchParams): OrderFilters {
  const size = Number(params.get("page_size"));
  const page = Number(params.get("page"));
  return {
    supplier_id: params.get("supplier_id") ?? "",
    status: params.get("status") ?? "",
    store_id: params.get("store_id") ?? "",
    created_from: params.get("created_from") ?? "",
    created_to: params.get("created_to") ?? "",
    q: params.get("q") ?? "",
    flag: knownFlag(params.get("flag")),
    page: Number.isInteger(page) && page > 0 ? page : 0,
    page_size: PAGE_SIZES.includes(size) ? size : PAGE_SIZES[0],
  };
}

/** The URL query for a set of filters: only what is set, so URLs stay short. */
export function filtersToParams(f: OrderFilters): URLSearchParams {
  const p = new URLSearchParams();
  for (const k of FILTER_KEYS) if (f[k]) p.set(k, f[k]);
  if (f.page) p.set("page", String(f.page));
  if (f.page_size !== PAGE_SIZES[0]) p.set("page_size", String(f.page_size));
  return p;
}

/** The filter part of the API query (shared by the list and the CSV export). */
export function apiFilterQuery(f: OrderFilters): Record<string, string> {
  const q: Record<string, string> = {};
  for (const k of FILTER_KEYS) {
    const v = f[k].trim();
    if (v) q[k] = v;
  }
  return q;
}

export function toApiQuery(f: OrderFilters) {
  return { ...apiFilterQuery(f), limit: f.page_size, offset: f.page * f.page_size };
}

export function exportCsvUrl(f: OrderFilters): string {
  const q = new URLSearchParams(apiFilterQuery(f)).toString();
  return `/api/v1/orders/export.csv${q ? `?${q}` : ""}`;
}
