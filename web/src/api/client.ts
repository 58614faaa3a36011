// The one HTTP client of the app: typed by the gateway's OpenAPI schema (openapi-fetch), same origin
// (the gateway serves this app), the session cookie is sent by the browser; every state-changing
// request carries the session's CSRF token, which lives only in memory.
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";
import type { ApiErrorBody } from "./types";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  readonly body: unknown;

  constructor(status: number, body: unknown) {
    const b = (body ?? {}) as Partial<ApiErrorBody> & Record<string, unknown>;
    const message =
      typeof b.message === "string" && b.message
        ? b.message
        : typeof b.failure_reason === "string" && b.failure_reason
          ? b.failure_reason
          : status === 0
            ? "The server cannot be reached. Check your connection and try again."
            : `The server answered ${status}. Please try again.`;
    super(message);
    this.status = status;
    this.code = typeof b.error === "string" ? b.error : `http_${status}`;
    this.details = (b.details as Record<string, unknown>) ?? {};
    this.body = body;
  }
}

/** A readable sentence for any error thrown by a query or mutation. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error && e.message) return e.message;
  return "Something went wrong. Please try again.";
}

let csrfToken: string | null = null;
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

type UnauthorizedListener = () => void;
let onUnauthorized: UnauthorizedListener = () => {};
/** Called on any 401 outside the session endpoints: the session has expired. */
export function setUnauthorizedListener(fn: UnauthorizedListener): void {
  onUnauthorized = fn;
}

const sessionMiddleware: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET" && request.method !== "HEAD" && csrfToken) {
      request.headers.set("X-CSRF-Token", csrfToken);
    }
    return request;
  },
  onResponse({ request, response }) {
    const isSessionCall = new URL(request.url).pathname === "/api/v1/session";
    if (response.status === 401 && !isSessionCall) onUnauthorized();
    return response;
  },
};

export const client = createClient<paths>({ baseUrl: window.location.origin, credentials: "same-origin" });
client.use(sessionMiddleware);

/** openapi-fetch answers {data, error, response}; the app wants the data or an ApiError. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (e) {
    throw new ApiError(0, { message: e instanceof Error && e.name === "AbortError" ? "Cancelled" : undefined });
  }
  if (!result.response.ok) throw new ApiError(result.response.status, result.error);
  return result.data as T;
}
