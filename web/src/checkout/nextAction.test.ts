import { describe, expect, it } from "vitest";
import type { Payment } from "../api/types";
import {
  checkoutPath, forgetPayPal, heldBy, nextStep, PENDING_PAYPAL_KEY, paypalReturn, phaseText, recallPayPal, rememberPayPal,
  safeRedirectUrl, type PendingPayPal,
} from "./nextAction";

type P = Pick<Payment, "payment_id" | "status" | "next_action" | "failure_reason">;
const base: P = { payment_id: "pay-1", status: "succeeded", next_action: null, failure_reason: null };

function memoryStorage(initial: Record<string, string> = {}) {
  const data = new Map(Object.entries(initial));
  return {
    data,
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
    removeItem: (k: string) => void data.delete(k),
  };
}

describe("nextStep", () => {
  it("a paid, settling or refunded payment shows its receipt", () => {
    for (const status of ["succeeded", "processing", "refunded"] as const) {
      expect(nextStep({ ...base, status })).toEqual({ kind: "receipt", paymentId: "pay-1" });
    }
  });

  it("PayPal: the browser goes to the approval page", () => {
    const url = "http://127.0.0.1:8109/checkoutnow?token=5O190127TN364715T";
    expect(nextStep({ ...base, status: "requires_action", next_action: { type: "redirect", url } }))
      .toEqual({ kind: "redirect", paymentId: "pay-1", url });
  });

  it("a 3-D Secure card: Stripe.js authenticates the client secret", () => {
    expect(nextStep({ ...base, status: "requires_action",
      next_action: { type: "authenticate_card", client_secret: "pi_1_secret_x" } }))
      .toEqual({ kind: "authenticate", paymentId: "pay-1", clientSecret: "pi_1_secret_x" });
  });

  it("a failed payment says why (or a plain default)", () => {
    expect(nextStep({ ...base, status: "failed", failure_reason: "you cancelled the payment; nothing was charged" }))
      .toEqual({ kind: "failed", paymentId: "pay-1", reason: "you cancelled the payment; nothing was charged" });
    expect(nextStep({ ...base, status: "failed" })).toEqual({ kind: "failed", paymentId: "pay-1",
      reason: "the payment was declined" });
    expect(nextStep({ ...base, status: "failed", failure_reason: "The provided PaymentMethod has failed authentication. " }))
      .toMatchObject({ reason: "The provided PaymentMethod has failed authentication" });
  });

  it("an action this page cannot take is said in words, never followed", () => {
    for (const next_action of [null, { type: "redirect" as const, url: "javascript:alert(1)" },
      { type: "redirect" as const, url: null }, { type: "authenticate_card" as const, client_secret: "" }]) {
      const step = nextStep({ ...base, status: "requires_action", next_action });
      expect(step.kind).toBe("stuck");
      expect(step.kind === "stuck" && step.message).toMatch(/Nothing has been charged/);
    }
  });
});

describe("safeRedirectUrl", () => {
  it("keeps web addresses only", () => {
    expect(safeRedirectUrl("https://www.paypal.com/checkoutnow?token=X")).toBe("https://www.paypal.com/checkoutnow?token=X");
    expect(safeRedirectUrl("http://127.0.0.1:8109/approve?token=X")).toBe("http://127.0.0.1:8109/approve?token=X");
    for (const bad of ["javascript:alert(1)", "data:text/html,hi", "/relative", "", null, undefined, "not a url"]) {
      expect(safeRedirectUrl(bad)).toBeNull();
    }
  });
});

describe("phaseText", () => {
  it("says the payment is pending while waiting for PayPal or the bank", () => {
    expect(phaseText("paying")).toMatch(/^Paying…/);
    for (const phase of ["redirecting", "authenticating", "confirming"] as const) {
      expect(phaseText(phase)).toMatch(/^Payment pending/);
    }
    expect(phaseText("redirecting")).toContain("PayPal");
    expect(phaseText("authenticating")).toContain("3-D Secure");
  });
});

describe("the PayPal round trip", () => {
  const payment = { payment_id: "pay-9", provider_reference: "5O190127TN364715T", order_ids: ["o-1", "o-2"] };
  const pending: PendingPayPal = { payment_id: "pay-9", provider_reference: "5O190127TN364715T",
    order_ids: ["o-1", "o-2"], started_at: "2026-12-02T09:00:00.000Z" };

  it("remembers the payment this tab sends to PayPal, and forgets only that one", () => {
    const store = memoryStorage();
    rememberPayPal(store, payment, new Date("2026-12-02T09:00:00Z"));
    expect(recallPayPal(store)).toEqual(pending);
    forgetPayPal(store, "another-payment");
    expect(recallPayPal(store)).toEqual(pending);
    forgetPayPal(store, "pay-9");
    expect(recallPayPal(store)).toBeNull();
  });

  it("storage that is broken or holds junk is no payment", () => {
    expect(recallPayPal(memoryStorage({ [PENDING_PAYPAL_KEY]: "{not json" }))).toBeNull();
    expect(recallPayPal(memoryStorage({ [PENDING_PAYPAL_KEY]: JSON.stringify({ payment_id: 7 }) }))).toBeNull();
    const throwing = { getItem: () => { throw new Error("denied"); }, setItem: () => { throw new Error("full"); },
      removeItem: () => { throw new Error("denied"); } };
    expect(recallPayPal(throwing)).toBeNull();
    expect(() => rememberPayPal(throwing, payment)).not.toThrow();
    expect(() => forgetPayPal(throwing, "pay-9")).not.toThrow();
  });

  it("approved at PayPal (?token=<order>&PayerID=…): complete the payment this tab started", () => {
    expect(paypalReturn("approved", new URLSearchParams("token=5O190127TN364715T&PayerID=QYR5Z8XDVJNXQ"), pending))
      .toEqual({ ok: true, action: "complete", paymentId: "pay-9", orderIds: ["o-1", "o-2"] });
  });

  it("cancelled at PayPal: cancel it", () => {
    expect(paypalReturn("cancelled", new URLSearchParams("token=5O190127TN364715T"), pending))
      .toEqual({ ok: true, action: "cancel", paymentId: "pay-9", orderIds: ["o-1", "o-2"] });
  });

  it("without PayPal's token the tab's payment is still the one (checkout asks PayPal anyway)", () => {
    expect(paypalReturn("approved", new URLSearchParams(""), pending)).toMatchObject({ ok: true, paymentId: "pay-9" });
  });

  it("another PayPal order's token, no payment in this tab, or a made-up address: nothing is done", () => {
    const other = paypalReturn("approved", new URLSearchParams("token=OTHER"), pending);
    expect(other).toMatchObject({ ok: false, orderIds: ["o-1", "o-2"] });
    expect(!other.ok && other.problem).toMatch(/different payment/);
    const none = paypalReturn("approved", new URLSearchParams("token=X"), null);
    expect(!none.ok && none.problem).toMatch(/no PayPal payment waiting/);
    const odd = paypalReturn("pwned", new URLSearchParams("token=5O190127TN364715T"), pending);
    expect(!odd.ok && odd.problem).toMatch(/not an address PayPal sends you back to/);
    expect(paypalReturn(undefined, new URLSearchParams(), pending).ok).toBe(false);
  });

  it("'Try again' goes back to the checkout of the same orders", () => {
    expect(checkoutPath(["o-1", "o-2"])).toBe("/checkout?orders=o-1,o-2");
  });
});

describe("heldBy", () => {
  it("names the payments that hold orders a quote refused, once each", () => {
    const details = { orders: [
      { order_id: "o-1", status: "payment_pending", payment_id: "pay-1" },
      { order_id: "o-2", status: "payment_pending", payment_id: "pay-1" },
      { order_id: "o-3", status: "paid" },
      { order_id: "o-4", status: "payment_pending", payment_id: "pay-2" },
    ] };
    expect(heldBy({ code: "not_payable", details })).toEqual(["pay-1", "pay-2"]);
  });

  it("nothing for other refusals or odd details", () => {
    expect(heldBy({ code: "mixed_suppliers", details: { orders: [{ status: "payment_pending", payment_id: "p" }] } })).toEqual([]);
    expect(heldBy({ code: "not_payable", details: {} })).toEqual([]);
    expect(heldBy({ code: "not_payable", details: { orders: [null, 7, { status: "payment_pending" }] } })).toEqual([]);
  });
});
