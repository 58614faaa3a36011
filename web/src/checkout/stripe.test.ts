import { describe, expect, it } from "vitest";
import { authenticateCard, CardError, paymentMethodId, type CardElement, type StripeLike } from "./stripe";

const card = {} as CardElement;
function stripe(pm: unknown, token: unknown, confirm: () => Promise<unknown> = async () => undefined): StripeLike {
  return {
    elements: () => { throw new Error("unused"); },
    createPaymentMethod: async () => pm as never,
    createToken: async () => token as never,
    confirmCardPayment: confirm as StripeLike["confirmCardPayment"],
  };
}

describe("paymentMethodId", () => {
  it("uses the payment method that Stripe.js creates", async () => {
    expect(await paymentMethodId(stripe({ paymentMethod: { id: "pm_123" } }, {}), card)).toBe("pm_123");
  });

  it("falls back to the token's card id when createPaymentMethod answers nothing (localstripe)", async () => {
    expect(await paymentMethodId(stripe(undefined, { token: { id: "tok_1", card: { id: "card_9" } } }), card)).toBe("card_9");
  });

  it("a card error is shown in Stripe's words", async () => {
    await expect(paymentMethodId(stripe({ error: { message: "Your card number is incomplete." } }, {}), card))
      .rejects.toThrow(new CardError("Your card number is incomplete."));
    await expect(paymentMethodId(stripe(undefined, { error: { message: "Invalid card" } }), card))
      .rejects.toThrow("Invalid card");
  });
});

describe("authenticateCard", () => {
  it("confirms the PaymentIntent's client secret with Stripe.js and says nothing when it went through", async () => {
    const seen: string[] = [];
    const s = stripe(null, null, async (...args: unknown[]) => {
      seen.push(String(args[0]));
      return { paymentIntent: { id: "pi_1", status: "succeeded" } };
    });
    expect(await authenticateCard(s, "pi_1_secret_abc")).toBeNull();
    expect(seen).toEqual(["pi_1_secret_abc"]);
  });

  it("returns Stripe's words when the authentication failed (the payment's outcome comes from /complete)", async () => {
    const s = stripe(null, null, async () => ({ error: { message: "We are unable to authenticate your payment method." } }));
    expect(await authenticateCard(s, "pi_1_secret_abc")).toBe("We are unable to authenticate your payment method.");
    expect(await authenticateCard(stripe(null, null, async () => ({ error: {} })), "x")).toBe("The card's authentication failed.");
  });

  it("never throws, whatever Stripe.js does", async () => {
    const s = stripe(null, null, async () => { throw new Error("Stripe.js is not loaded"); });
    expect(await authenticateCard(s, "x")).toBe("Stripe.js is not loaded");
    expect(await authenticateCard(stripe(null, null, async () => { throw "odd"; }), "x"))
      .toBe("The card's authentication could not be started.");
  });
});
