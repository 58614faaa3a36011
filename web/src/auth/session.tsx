// The signed-in session: read once at start (GET /api/v1/session, which also gives the CSRF token
// back after a reload), set by signing in, cleared by signing out or by any 401 (expired session).
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { useLocation, useNavigate } from "react-router-dom";
import { ApiError, client, setCsrfToken, setUnauthorizedListener, unwrap } from "../api/client";
import type { Session } from "../api/types";

type State = { status: "loading" } | { status: "signed_out"; expired: boolean } | { status: "signed_in"; session: Session };

interface SessionApi {
  state: State;
  signIn(email: string, password: string): Promise<Session>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionApi | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ status: "loading" });
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();

  useEffect(() => {
    let cancelled = false;
    unwrap(client.GET("/api/v1/session"))
      .then((session) => {
        if (cancelled) return;
        setCsrfToken(session.csrf_token);
        setState({ status: "signed_in", session });
      })
      .catch(() => !cancelled && setState({ status: "signed_out", expired: false }));
    return () => { cancelled = true; };
  }, []);

  // Any 401 from the API means the session is gone: back to sign-in, remembering where we were.
  const here = location.pathname + location.search;
  useEffect(() => {
    setUnauthorizedListener(() => {
      setCsrfToken(null);
      setState((s) => (s.status === "signed_in" ? { status: "signed_out", expired: true } : s));
      queryClient.clear();
      if (!window.location.pathname.startsWith("/sign-in")) {
        navigate(`/sign-in?next=${encodeURIComponent(window.location.pathname + window.location.search)}`, { replace: true });
      }
    });
  }, [navigate, queryClient, here]);

  const signIn = useCallback(async (email: string, password: string) => {
    const session = await unwrap(client.POST("/api/v1/session", { body: { email, password } }));
    setCsrfToken(session.csrf_token);
    queryClient.clear();
    setState({ status: "signed_in", session });
    return session;
  }, [queryClient]);

  const signOut = useCallback(async () => {
    try {
      await unwrap(client.DELETE("/api/v1/session"));
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
    } finally {
      setCsrfToken(null);
      queryClient.clear();
      setState({ status: "signed_out", expired: false });
    }
  }, [queryClient]);

  const value = useMemo(() => ({ state, signIn, signOut }), [state, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionApi {
  const ctx = useContext(SessionContext);
  if (!ctx) throw new Error("useSession outside SessionProvider");
  return ctx;
}

/** Only same-site paths are followed after sign-in (no open redirect through ?next=). */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/sign-in")) return "/";
  return next;
}
