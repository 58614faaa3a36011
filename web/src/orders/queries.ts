// Queries of the orders screens, with their cache keys in one place (live updates patch them).
import { useEffect } from "react";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { client, unwrap } from "../api/client";
import type { OrderDetail, OrderPage } from "../api/types";
import type { OrderFilters } from "./filters";
import { toApiQuery } from "./filters";

export const orderKeys = {
  lists: ["orders", "list"] as const,
  list: (f: OrderFilters) => ["orders", "list", f] as const,
  detail: (id: string) => ["orders", "detail", id] as const,
  overview: ["overview"] as const,
};

export function useOrderList(filters: OrderFilters) {
  return useQuery({
    queryKey: orderKeys.list(filters),
    queryFn: ({ signal }) =>
      unwrap<OrderPage>(client.GET("/api/v1/orders", { params: { query: toApiQuery(filters) }, signal })),
    placeholderData: keepPreviousData,
  });
}

export function useOrder(orderId: string) {
  return useQuery({
    queryKey: orderKeys.detail(orderId),
    queryFn: ({ signal }) =>
      unwrap<OrderDetail>(client.GET("/api/v1/orders/{order_id}", { params: { path: { order_id: orderId } }, signal })),
  });
}

export function useSuppliers() {
  return useQuery({
    queryKey: ["suppliers"],
    queryFn: ({ signal }) => unwrap(client.GET("/api/v1/suppliers", { signal })).then((r) => r.suppliers),
    staleTime: 5 * 60_000,
  });
}

export function useStores() {
  return useQuery({
    queryKey: ["stores"],
    queryFn: ({ signal }) => unwrap(client.GET("/api/v1/stores", { signal })).then((r) => r.stores),
    staleTime: 5 * 60_000,
  });
}

/** The retailer's counts (late, not synced, unpaid); refetched whenever the orders list is. */
export function useOverview(listUpdatedAt: number) {
  const queryClient = useQueryClient();
  const query = useQuery({
    queryKey: orderKeys.overview,
    queryFn: ({ signal }) => unwrap(client.GET("/api/v1/overview", { signal })),
    staleTime: 5_000,
  });
  useEffect(() => {
    if (listUpdatedAt) void queryClient.invalidateQueries({ queryKey: orderKeys.overview });
  }, [listUpdatedAt, queryClient]);
  return query.data;
}
