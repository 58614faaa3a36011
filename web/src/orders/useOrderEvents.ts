// Live order updates: the gateway's server-sent events (one `order` event per change, carrying the
// order summary). A row on screen is patched in place; an order no cached page holds (a new one,
// or one that now matches a filter) makes the lists refetch, which puts it where it belongs.
import { useEffect } from "react";
import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import type { OrderPage, OrderSummary } from "../api/types";
import { orderKeys } from "./queries";
import { updateSelectedSnapshot } from "./selectionStore";

export function applyOrderEvent(queryClient: QueryClient, order: OrderSummary): void {
  let known = false;
  queryClient.setQueriesData<OrderPage>({ queryKey: orderKeys.lists }, (page) => {
    if (!page) return page;
    const i = page.orders.findIndex((o) => o.order_id === order.order_id);
    if (i < 0) return page;
    known = true;
    const orders = page.orders.slice();
    orders[i] = { ...orders[i], ...order };
    return { ...page, orders };
  });
  // Filters (status, dates…) may no longer match, and new orders belong at the top: the lists
  // are marked stale, and refetched when an order on no cached page arrived (once per burst).
  void queryClient.invalidateQueries({ queryKey: orderKeys.lists, refetchType: "none" });
  if (!known) refetchListsSoon(queryClient);
  void queryClient.invalidateQueries({ queryKey: orderKeys.detail(order.order_id) });
  updateSelectedSnapshot(order);
}

let refetchTimer: ReturnType<typeof setTimeout> | undefined;
function refetchListsSoon(queryClient: QueryClient): void {
  if (refetchTimer !== undefined) return;
  refetchTimer = setTimeout(() => {
    refetchTimer = undefined;
    void queryClient.refetchQueries({ queryKey: orderKeys.lists, type: "active" });
  }, 200);
}

export function useOrderEvents(enabled: boolean): void {
  const queryClient = useQueryClient();
  useEffect(() => {
    if (!enabled || typeof EventSource === "undefined") return;
    const source = new EventSource("/api/v1/orders/events");
    const onOrder = (e: MessageEvent<string>) => {
      try {
        applyOrderEvent(queryClient, JSON.parse(e.data) as OrderSummary);
      } catch (err) {
        console.warn("ignored a malformed order event", err);
      }
    };
    source.addEventListener("order", onOrder as EventListener);
    // EventSource reconnects by itself and resumes from Last-Event-ID.
    return () => {
      source.removeEventListener("order", onOrder as EventListener);
      source.close();
    };
  }, [enabled, queryClient]);
}
