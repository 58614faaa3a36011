// What the checkout does with the gateway's answer about a payment (POST /api/v1/payments, /complete,
// /cancel), and how the PayPal return page finds the payment it came back for. Pure functions: the
// pages only carry them out (navigate, redirect, open Stripe's 3-D Secure dialog, show a reason).
import type { Payment } from "../api/types";

export type Step =
  /** Paid, or settling within seconds (the receipt shows it and follows it). */
  | { kind: "receipt"; paymentId: string }
  /** PayPal: send the browser to PayPal's approval page. */
  | { kind: "redirect"; paymentId: string; url: string }
  /** A card that needs 3-D Secure: Stripe.js confirmCardPayment(clientSecret), then /complete. */
  | { kind: "authenticate"; paymentId: string; clientSecret: string }
  /** Nothing was charged and the orders are unpaid again; the retailer may try again. */
  | { kind: "failed"; paymentId: string; reason: string }
  /** The payment waits for something this page cannot do (e.g. a redirect to a non-web address). */
  | { kind: "stuck"; paymentId: string; message: string };

/** Only a web address may be followed: never javascript:, data: or a relative path. */
export function safeRedirectUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.toString() : null;
  } catch {
    return null;
  }
}

export function nextStep(p: Pick<Payment, "payment_id" | "status" | "next_action" | "failure_reason">): Step {
  const paymentId = p.payment_id;
  switch (p.status) {
    case "succeeded":
    case "processing":
    case "refunded":
      return { kind: "receipt", paymentId };
    case "failed":
      // Shown inside a sentence ("The payment was declined: <reason>. Nothing was charged…").
      return { kind: "failed", paymentId, reason: (p.failure_reason ?? "").trim().replace(/[.\s]+$/, "")
        || "the payment was declined" };
    case "requires_action": {
      const action = p.next_action;
      if (action?.type === "redirect") {
        const url = safeRedirectUrl(action.url);
        if (url) return { kind: "redirect", paymentId, url };
      } else if (action?.type === "authenticate_card" && action.client_secret) {
        return { kind: "authenticate", paymentId, clientSecret: action.client_secret };
      }
      return { kind: "stuck", paymentId, message: "The payment is waiting for a step this page cannot take. "
        + "Nothing has been charged yet; see the payment for its state." };
    }
    default:
      return { kind: "stuck", paymentId, message: `The payment is ${String(p.status)}.` };
  }
}

/** The aria-live text while a payment is under way. */
export type Phase = "paying" | "redirecting" | "authenticating" | "confirming";
export function phaseText(phase: Phase): string {
  switch (phase) {
    case "paying": return "Paying… please keep this page open.";
    case "redirecting": return "Payment pending: taking you to PayPal to approve it…";
    case "authenticating": return "Payment pending: confirm it with your bank (3-D Secure) in the dialog.";
    case "confirming": return "Payment pending: confirming the payment…";
  }
}

// --------------------------------------------------------------------------- the PayPal round trip

/** The PayPal payment this tab sent to PayPal (sessionStorage: per tab, gone when the tab closes). */
export interface PendingPayPal {
  payment_id: string;
  /** PayPal's order id: PayPal sends the browser back with ?token=<it>. */
  provider_reference: string | null;
  order_ids: string[];
  started_at: string;
}

export const PENDING_PAYPAL_KEY = "dropline.checkout.paypal";

type KeyValueStore = Pick<Storage, "getItem" | "setItem" | "removeItem">;

export function rememberPayPal(store: KeyValueStore, p: Pick<Payment, "payment_id" | "provider_reference" | "order_ids">,
  now: Date = new Date()): void {
  const pending: PendingPayPal = { payment_id: p.payment_id, provider_reference: p.provider_reference ?? null,
    order_ids: [...p.order_ids], started_at: now.toISOString() };
  try {
    store.setItem(PENDING_PAYPAL_KEY, JSON.stringify(pending));
  } catch {
    // Storage full or disabled: the return page then says it cannot tell which payment this was.
  }
}

export function recallPayPal(store: KeyValueStore): PendingPayPal | null {
  let raw: string | null = null;
  try {
    raw = store.getItem(PENDING_PAYPAL_KEY);
  } catch {
    return null;
  }
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<PendingPayPal>;
    if (typeof v.payment_id !== "string" || !v.payment_id) return null;
    return { payment_id: v.payment_id,
      provider_reference: typeof v.provider_reference === "string" ? v.provider_reference : null,
      order_ids: Array.isArray(v.order_ids) ? v.order_ids.filter((x): x is string => typeof x === "string") : [],
      started_at: typeof v.started_at === "string" ? v.started_at : "" };
  } catch {
    return null;
  }
}

export function forgetPayPal(store: KeyValueStore, paymentId: string): void {
  try {
    if (recallPayPal(store)?.payment_id === paymentId) store.removeItem(PENDING_PAYPAL_KEY);
  } catch {
    // nothing to clean up
  }
}

export type PayPalReturn =
  | { ok: true; action: "complete" | "cancel"; paymentId: string; orderIds: string[] }
  | { ok: false; problem: string; orderIds: string[] };

/**
 * The return page's address → what to do. PayPal sends the browser to our return_url
 * (/checkout/paypal/approved) or cancel_url (/checkout/paypal/cancelled) with
 * `?token=<PayPal order id>` (and `&PayerID=…` when approved); the payment is the one this tab
 * started, and the token must be its PayPal order.
 */
export function paypalReturn(outcome: string | undefined, search: URLSearchParams,
  pending: PendingPayPal | null): PayPalReturn {
  const orderIds = pending?.order_ids ?? [];
  if (outcome !== "approved" && outcome !== "cancelled") {
    return { ok: false, problem: "This is not an address PayPal sends you back to.", orderIds };
  }
  if (!pending) {
    return { ok: false, orderIds, problem: "This browser tab has no PayPal payment waiting for you to come back. "
      + "If you approved a payment at PayPal, it is completed automatically within a few minutes; "
      + "the orders show whether they are paid." };
  }
  const token = search.get("token");
  if (token && pending.provider_reference && token !== pending.provider_reference) {
    return { ok: false, orderIds, problem: "PayPal sent you back for a different payment than the one started "
      + "in this tab. Nothing more was done; the orders show whether they are paid." };
  }
  return { ok: true, action: outcome === "approved" ? "complete" : "cancel", paymentId: pending.payment_id, orderIds };
}

/** "/checkout?orders=a,b": where "Try again" goes. */
export function checkoutPath(orderIds: string[]): string {
  return `/checkout?orders=${orderIds.map(encodeURIComponent).join(",")}`;
}

/** The payments holding orders a quote refused (409 not_payable: orders in payment_pending carry the
 * payment's id), each once, at most five. */
export function heldBy(error: { code: string; details: Record<string, unknown> }): string[] {
  if (error.code !== "not_payable" || !Array.isArray(error.details.orders)) return [];
  const ids = (error.details.orders as unknown[])
    .map((o) => (o && typeof o === "object" ? (o as { status?: unknown; payment_id?: unknown }) : {}))
    .filter((o) => o.status === "payment_pending" && typeof o.payment_id === "string" && o.payment_id)
    .map((o) => o.payment_id as string);
  return [...new Set(ids)].slice(0, 5);
}
