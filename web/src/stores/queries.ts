// The Stores screen's query: every connected store with its sync health, refetched periodically
// so the health stays current while the screen is open.
import { useQuery } from "@tanstack/react-query";
import { client, unwrap } from "../api/client";

export const REFRESH_MS = 30_000;

export const storeKeys = {
  health: ["stores", "health"] as const,
};

export function useStoresHealth() {
  return useQuery({
    queryKey: storeKeys.health,
    queryFn: ({ signal }) => unwrap(client.GET("/api/v1/stores", { signal })).then((r) => r.stores),
    refetchInterval: REFRESH_MS,
  });
}
