// The retailer's action on a started payment: POST /api/v1/payments/{id}/complete (back from PayPal,
// or Stripe.js finished 3-D Secure) and /cancel (cancelled at PayPal). Both are safe to repeat: the
// gateway answers the payment as it is now, so a lost answer is simply asked for again.
import { ApiError, client, unwrap } from "../api/client";
import type { Payment } from "../api/types";

export type PaymentAction = "complete" | "cancel";

/** Network errors and 503s (checkout restarting) are retried; every other answer is final. */
export function retryable(e: unknown): boolean {
  return e instanceof ApiError && (e.status === 0 || e.status === 502 || e.status === 503);
}

export async function paymentAction(paymentId: string, action: PaymentAction,
  { attempts = 4, delayMs = 1000 }: { attempts?: number; delayMs?: number } = {}): Promise<Payment> {
  for (let attempt = 1; ; attempt++) {
    try {
      const params = { path: { payment_id: paymentId } };
      return await unwrap<Payment>(action === "complete"
        ? client.POST("/api/v1/payments/{payment_id}/complete", { params })
        : client.POST("/api/v1/payments/{payment_id}/cancel", { params }));
    } catch (e) {
      if (!retryable(e) || attempt >= attempts) throw e;
      await new Promise((r) => setTimeout(r, delayMs * attempt));
    }
  }
}
