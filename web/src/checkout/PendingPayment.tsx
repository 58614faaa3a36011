// Orders held by a payment that waits for the retailer (left PayPal with the Back button, closed the
// tab during 3-D Secure): instead of waiting until checkout gives the payment up, the retailer can go
// back to PayPal or cancel that payment and pay again.
import { useState } from "react";
import { Alert, Button, Stack } from "@mui/material";
import { useQuery } from "@tanstack/react-query";
import { ApiError, client, errorMessage, unwrap } from "../api/client";
import type { Payment } from "../api/types";
import { heldBy, nextStep, rememberPayPal } from "./nextAction";
import { paymentAction } from "./paymentActions";

export default function PendingPayment({ error, onReleased }: { error: ApiError; onReleased(): void }) {
  const ids = heldBy(error);
  const [cancelling, setCancelling] = useState(false);
  const [cancelError, setCancelError] = useState<string | null>(null);
  const payments = useQuery({
    queryKey: ["holding-payments", ids],
    enabled: ids.length > 0,
    queryFn: ({ signal }) => Promise.all(ids.map((id) => unwrap<Payment>(
      client.GET("/api/v1/payments/{payment_id}", { params: { path: { payment_id: id } }, signal })))),
  });
  const waiting = (payments.data ?? []).filter((p) => p.status === "requires_action");
  if (waiting.length === 0) return null;

  async function cancel(paymentId: string) {
    setCancelling(true);
    setCancelError(null);
    try {
      await paymentAction(paymentId, "cancel");
      onReleased();
    } catch (e) {
      setCancelError(errorMessage(e));
    } finally {
      setCancelling(false);
    }
  }

  return (
    <>
      {waiting.map((p) => {
        const step = nextStep(p);
        const paypal = p.method === "paypal";
        return (
          <Alert key={p.payment_id} severity="info" role="status">
            Payment pending: a {paypal ? "PayPal payment" : "card payment"} of these orders waits for
            {paypal ? " your approval at PayPal" : " the card's 3-D Secure authentication"}. Nothing has been charged.
            <Stack direction="row" sx={{ gap: 1, mt: 1, flexWrap: "wrap" }}>
              {step.kind === "redirect" && (
                <Button variant="contained" size="small" disabled={cancelling} onClick={() => {
                  rememberPayPal(window.sessionStorage, p); // the return page finds it in this tab
                  window.location.assign(step.url);
                }}>Continue at PayPal</Button>
              )}
              <Button variant="outlined" size="small" disabled={cancelling} onClick={() => void cancel(p.payment_id)}>
                Cancel that payment
              </Button>
            </Stack>
          </Alert>
        );
      })}
      {cancelError && <Alert severity="error" role="alert">{cancelError}</Alert>}
    </>
  );
}
