// The Orders selection: kept across pages, filters and a trip to checkout (sessionStorage), so
// that after paying one supplier of a mixed selection the other orders are still selected.
import { useSyncExternalStore } from "react";
import type { OrderSummary } from "../api/types";

const KEY = "dropline.selection.v1";
type Selection = ReadonlyMap<string, OrderSummary>;

function load(): Selection {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return new Map();
    return new Map((JSON.parse(raw) as OrderSummary[]).map((o) => [o.order_id, o]));
  } catch {
    return new Map();
  }
}

let current: Selection = typeof sessionStorage === "undefined" ? new Map() : load();
const listeners = new Set<() => void>();

function set(next: Selection) {
  current = next;
  try {
    sessionStorage.setItem(KEY, JSON.stringify([...next.values()]));
  } catch {
    /* private mode: the selection still works for this page */
  }
  listeners.forEach((l) => l());
}

export const selection = {
  get: () => current,
  subscribe(l: () => void) {
    listeners.add(l);
    return () => listeners.delete(l);
  },
  toggle(order: OrderSummary, selected: boolean) {
    const next = new Map(current);
    if (selected) next.set(order.order_id, order);
    else next.delete(order.order_id);
    set(next);
  },
  setMany(orders: readonly OrderSummary[], selected: boolean) {
    const next = new Map(current);
    for (const o of orders) {
      if (selected) next.set(o.order_id, o);
      else next.delete(o.order_id);
    }
    set(next);
  },
  keepOnly(ids: readonly string[]) {
    const keep = new Set(ids);
    set(new Map([...current].filter(([id]) => keep.has(id))));
  },
  clear() {
    set(new Map());
  },
};

/** Live updates keep the selected orders' status current (what is payable changes with it). */
export function updateSelectedSnapshot(order: OrderSummary) {
  const old = current.get(order.order_id);
  if (!old) return;
  set(new Map(current).set(order.order_id, { ...old, ...order }));
}

export function useSelection(): Selection {
  return useSyncExternalStore(selection.subscribe, selection.get, selection.get);
}
