// The price check of every unpaid order (checkout's unpaid list, with the retailer's max buy price),
// so the Orders page can flag rows that lose money. Refetched whenever the orders list is.
import { useEffect } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { client, unwrap } from "../api/client";
import { guardrailsById } from "../checkout/priceCheck";

export const priceCheckKey = ["unpaid", "price-check"] as const;

export function usePriceChecks(listUpdatedAt: number) {
  const queryClient = useQueryClient();
  const query = useQuery({
    queryKey: priceCheckKey,
    queryFn: ({ signal }) => unwrap(client.GET("/api/v1/unpaid", { signal })).then((r) => guardrailsById(r.price_check)),
    staleTime: 5_000,
  });
  useEffect(() => {
    if (listUpdatedAt) void queryClient.invalidateQueries({ queryKey: priceCheckKey });
  }, [listUpdatedAt, queryClient]);
  return query.data;
}
