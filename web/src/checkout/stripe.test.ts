import { describe, expect, it } from "vitest";
import { CardError, paymentMethodId, type CardElement, type StripeLike } from "./stripe";

const card = {} as CardElement;
function stripe(pm: unknown, token: unknown): StripeLike {
  return {
    elements: () => { throw new Error("unused"); },
    createPaymentMethod: async () => pm as never,
    createToken: async () => token as never,
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
