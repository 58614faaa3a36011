// Where PayPal sends the retailer back: /checkout/paypal/approved?token=<PayPal order>&PayerID=… (the
// payment's return_url) or /checkout/paypal/cancelled?token=… (its cancel_url). The page completes or
// cancels the payment this tab started, then shows the receipt or, in words, why nothing was charged.
import { useEffect, useMemo, useState, type ReactNode } from "react";
import { Alert, Box, Breadcrumbs, Button, CircularProgress, Link, Stack, Typography } from "@mui/material";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link as RouterLink, useNavigate, useParams, useSearchParams } from "react-router-dom";
import ErrorAlert from "../components/ErrorAlert";
import { useTitle } from "../components/useTitle";
import { orderKeys } from "../orders/queries";
import { checkoutPath, forgetPayPal, nextStep, paypalReturn, recallPayPal } from "./nextAction";
import { paymentAction, retryable, type PaymentAction } from "./paymentActions";

function Frame({ children }: { children: ReactNode }) {
  return (
    <Stack spacing={2} sx={{ maxWidth: 760 }}>
      <Breadcrumbs aria-label="Breadcrumb">
        <Link component={RouterLink} to="/">All orders</Link>
        <Typography color="text.primary">PayPal</Typography>
      </Breadcrumbs>
      <Typography variant="h1" sx={{ fontSize: 26, fontWeight: 600 }}>PayPal payment</Typography>
      {children}
    </Stack>
  );
}

function WayBack({ orderIds, retry }: { orderIds: string[]; retry: boolean }) {
  return (
    <Stack direction="row" sx={{ gap: 1, flexWrap: "wrap" }}>
      <Button component={RouterLink} to="/?status=unpaid" variant={retry ? "outlined" : "contained"}>Back to Orders</Button>
      {retry && orderIds.length > 0 && (
        <Button component={RouterLink} to={checkoutPath(orderIds)} variant="contained">Try again</Button>
      )}
    </Stack>
  );
}

export default function PayPalReturnPage() {
  const { outcome } = useParams();
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  useTitle("PayPal payment");

  // Read once: the stored payment is forgotten after a definite answer.
  const plan = useMemo(() => paypalReturn(outcome, search, recallPayPal(window.sessionStorage)), [outcome, search]);
  const [action, setAction] = useState<PaymentAction | null>(plan.ok ? plan.action : null);
  const paymentId = plan.ok ? plan.paymentId : "";

  const result = useQuery({
    queryKey: ["paypal-return", paymentId, action],
    enabled: plan.ok && action !== null,
    queryFn: () => paymentAction(paymentId, action!),
    staleTime: Infinity,
    gcTime: 0,
    retry: (count, e) => retryable(e) && count < 2,
  });

  const payment = result.data;
  const step = payment ? nextStep(payment) : null;
  useEffect(() => {
    if (!payment) return;
    const settled = nextStep(payment);
    void queryClient.invalidateQueries({ queryKey: orderKeys.lists });
    if (settled.kind === "receipt" || settled.kind === "failed") forgetPayPal(window.sessionStorage, payment.payment_id);
    if (settled.kind === "receipt") navigate(`/payments/${encodeURIComponent(settled.paymentId)}`, { replace: true });
  }, [payment, navigate, queryClient]);

  if (!plan.ok) {
    return (
      <Frame>
        <Alert severity="warning" role="alert">{plan.problem}</Alert>
        <WayBack orderIds={plan.orderIds} retry={false} />
      </Frame>
    );
  }
  if (result.isError) {
    return (
      <Frame>
        <ErrorAlert error={result.error} onRetry={() => void result.refetch()} />
        <WayBack orderIds={plan.orderIds} retry={false} />
      </Frame>
    );
  }
  if (!payment || !step || step.kind === "receipt") {
    return (
      <Frame>
        <Stack direction="row" role="status" aria-live="polite" sx={{ gap: 1.5, alignItems: "center" }}>
          <CircularProgress size={22} aria-hidden />
          <Typography>
            {action === "cancel" ? "Payment pending: cancelling the PayPal payment…"
              : step?.kind === "receipt" ? "Paid. Opening the receipt…"
                : "Payment pending: confirming your PayPal payment…"}
          </Typography>
        </Stack>
      </Frame>
    );
  }
  if (step.kind === "failed") {
    const cancelled = action === "cancel" || /cancel/i.test(step.reason);
    return (
      <Frame>
        <Alert severity={cancelled ? "info" : "error"} role="alert">
          {cancelled ? "You cancelled the payment at PayPal." : `The PayPal payment did not go through: ${step.reason}.`}
          {" "}Nothing was charged and the orders are unpaid again.
        </Alert>
        <WayBack orderIds={payment.order_ids} retry />
      </Frame>
    );
  }
  // Still waiting for PayPal: the approval has not reached PayPal yet (or the page was opened by hand).
  return (
    <Frame>
      <Alert severity="info" role="status">
        Payment pending: PayPal has not confirmed your approval yet. Nothing has been charged.
      </Alert>
      <Box sx={{ display: "flex", gap: 1, flexWrap: "wrap" }}>
        <Button variant="contained" onClick={() => void result.refetch()} disabled={result.isFetching}>Check again</Button>
        {step.kind === "redirect" && <Button variant="outlined" href={step.url}>Continue at PayPal</Button>}
        <Button variant="outlined" color="error" onClick={() => setAction("cancel")} disabled={result.isFetching}>
          Cancel the payment
        </Button>
      </Box>
      <WayBack orderIds={payment.order_ids} retry={false} />
    </Frame>
  );
}
