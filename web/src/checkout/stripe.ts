// Stripe.js, loaded at runtime from the URL the gateway gives (GET /api/v1/checkout/config): the
// real js.stripe.com in production, localstripe's stand-in in tests and `make run`. The card is
// typed into Stripe's own element, never into a field of ours.

export interface CardElement {
  mount(el: HTMLElement): void;
  destroy(): void;
  on?(event: string, handler: (e?: { error?: { message?: string } }) => void): void;
}

interface StripeError { message?: string; code?: string; decline_code?: string }

export interface StripeLike {
  elements(): { create(type: "card", options?: object): CardElement };
  createPaymentMethod(data: { type: "card"; card: CardElement }):
    Promise<{ paymentMethod?: { id: string }; error?: StripeError } | undefined>;
  createToken(card: CardElement): Promise<{ token?: { id: string; card?: { id: string } }; error?: StripeError }>;
  /** 3-D Secure: Stripe shows the bank's challenge (localstripe: a "3D Secure" dialog with
   * "Complete authentication" / "Fail authentication") and confirms the PaymentIntent. */
  confirmCardPayment(clientSecret: string):
    Promise<{ paymentIntent?: { id: string; status?: string }; error?: StripeError } | undefined>;
}

declare global {
  interface Window { Stripe?: (publishableKey: string) => StripeLike }
}

const loading = new Map<string, Promise<void>>();

export function loadStripeJs(url: string): Promise<void> {
  let p = loading.get(url);
  if (!p) {
    p = new Promise<void>((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.async = true;
      script.onload = () => (window.Stripe ? resolve() : reject(new Error("Stripe.js loaded without Stripe")));
      script.onerror = () => {
        loading.delete(url);
        script.remove();
        reject(new Error("The card form could not be loaded. Check your connection and try again."));
      };
      document.head.appendChild(script);
    });
    loading.set(url, p);
  }
  return p;
}

export class CardError extends Error {}

/**
 * The id of a payment method for the card typed into the element.
 *
 * Real Stripe.js answers createPaymentMethod with {paymentMethod}. localstripe's stand-in
 * stripe.js implements createPaymentMethod as a no-op that resolves to undefined, so then we
 * create a token instead and use its card's id (a card_… id, which PaymentIntents accept as
 * payment_method). Only this function knows about that difference.
 */
export async function paymentMethodId(stripe: StripeLike, card: CardElement): Promise<string> {
  const result = await stripe.createPaymentMethod({ type: "card", card });
  if (result?.error) throw new CardError(result.error.message ?? "The card was not accepted.");
  if (result?.paymentMethod?.id) return result.paymentMethod.id;
  const { token, error } = await stripe.createToken(card);
  if (error) throw new CardError(error.message ?? "The card was not accepted.");
  const id = token?.card?.id ?? token?.id;
  if (!id) throw new CardError("The card could not be read. Check the card details and try again.");
  return id;
}

/**
 * Let the card holder authenticate (3-D Secure) the payment whose PaymentIntent has this client
 * secret. Never throws: whatever Stripe.js answers, the payment's outcome is what checkout finds at
 * Stripe afterwards (POST /payments/{id}/complete), so this only returns Stripe's words when the
 * authentication did not go through (null: it did, as far as Stripe.js says).
 */
export async function authenticateCard(stripe: StripeLike, clientSecret: string): Promise<string | null> {
  try {
    const result = await stripe.confirmCardPayment(clientSecret);
    if (result?.error) return result.error.message ?? "The card's authentication failed.";
    return null;
  } catch (e) {
    return e instanceof Error && e.message ? e.message : "The card's authentication could not be started.";
  }
}
