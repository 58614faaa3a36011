import { useEffect, useRef, useState } from "react";
import {
  Alert, Box, Breadcrumbs, Button, CircularProgress, FormControl, FormControlLabel, FormLabel, Link, Paper,
  Radio, RadioGroup, Stack, Typography,
} from "@mui/material";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link as RouterLink, useNavigate, useSearchParams } from "react-router-dom";
import { ApiError, client, errorMessage, unwrap } from "../api/client";
import type { Payment, Quote } from "../api/types";
import ErrorAlert from "../components/ErrorAlert";
import { useTitle } from "../components/useTitle";
import { methodLabel, money, rateLine } from "../format";
import { orderKeys } from "../orders/queries";
import AmountsTable from "./AmountsTable";
import PriceCheck from "./PriceCheck";
import { payBlocked } from "./priceCheck";
import { nextStep, phaseText, rememberPayPal, type Phase } from "./nextAction";
import { paymentAction } from "./paymentActions";
import PendingPayment from "./PendingPayment";
import { authenticateCard, CardError, loadStripeJs, paymentMethodId, type CardElement, type StripeLike } from "./stripe";

function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function NotPayable({ error }: { error: ApiError }) {
  const orders = (error.details.orders as { order_number?: string; order_id: string; reason?: string; status?: string }[]) ?? [];
  return (
    <Alert severity="error" role="alert">
      {error.message}
      {orders.length > 0 && (
        <Box component="ul" sx={{ m: 0, mt: 1, pl: 2 }}>
          {orders.map((o) => <li key={o.order_id}>{o.order_number ?? o.order_id}: {o.reason ?? o.status}</li>)}
        </Box>
      )}
    </Alert>
  );
}

/** Stripe's card element, mounted into a div of ours once Stripe.js has loaded. */
function CardField({ onReady }: { onReady(v: { stripe: StripeLike; card: CardElement } | null): void }) {
  const host = useRef<HTMLDivElement>(null);
  const config = useQuery({
    queryKey: ["checkout-config"],
    queryFn: ({ signal }) => unwrap(client.GET("/api/v1/checkout/config", { signal })),
    staleTime: Infinity,
  });
  const [loadError, setLoadError] = useState<string | null>(null);

  useEffect(() => {
    if (!config.data || !host.current) return;
    let card: CardElement | null = null;
    let cancelled = false;
    const { stripe_js_url, stripe_publishable_key } = config.data;
    loadStripeJs(stripe_js_url)
      .then(() => {
        if (cancelled || !host.current || !window.Stripe) return;
        const stripe = window.Stripe(stripe_publishable_key);
        card = stripe.elements().create("card");
        card.mount(host.current);
        onReady({ stripe, card });
      })
      .catch((e) => !cancelled && setLoadError(errorMessage(e)));
    return () => {
      cancelled = true;
      onReady(null);
      card?.destroy();
    };
  }, [config.data, onReady]);

  if (config.isError) return <ErrorAlert error={config.error} onRetry={() => void config.refetch()} />;
  return (
    <Box>
      {loadError && <Alert severity="error" role="alert">{loadError}</Alert>}
      {/* Stripe's own card element lives here (in tests: localstripe's stand-in inputs). */}
      <Box ref={host} data-testid="card-element" aria-label="Card details" role="group"
        sx={{ p: 1.5, border: 1, borderColor: "divider", borderRadius: 1, minHeight: 44, bgcolor: "background.paper",
          "& input": { font: "inherit", p: 0.5, mr: 0.5, border: 1, borderColor: "grey.400", borderRadius: 0.5 } }} />
      {config.isPending && <Typography color="text.secondary" sx={{ fontSize: 14, mt: 1 }}>Loading the card form…</Typography>}
    </Box>
  );
}

export default function CheckoutPage() {
  const [params] = useSearchParams();
  const orderIds = (params.get("orders") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  useTitle("Checkout");

  const quote = useQuery({
    queryKey: ["quote", orderIds],
    enabled: orderIds.length > 0,
    queryFn: () => unwrap<Quote>(client.POST("/api/v1/checkout/quote", { body: { order_ids: orderIds } })),
    // Checkout may not have seen a brand-new order yet ("not_ready_yet"): ask again after a second.
    retry: (count, e) => e instanceof ApiError && e.code === "not_ready_yet" && count < 15,
    retryDelay: 1000,
    staleTime: 60_000,
  });

  const [method, setMethod] = useState<string>("");
  const [stripe, setStripe] = useState<{ stripe: StripeLike; card: CardElement } | null>(null);
  const [paying, setPaying] = useState(false);
  const [declined, setDeclined] = useState<string | null>(null);
  const [payError, setPayError] = useState<string | null>(null);
  const [confirmFlagged, setConfirmFlagged] = useState(false); // the price check's confirmation
  // One key per checkout attempt: a double click or a retry after a lost answer cannot pay twice.
  const attemptKey = useRef(newIdempotencyKey());
  // The card's payment method of this attempt: a retry of the same attempt sends the same one.
  const attemptCard = useRef<{ key: string; paymentMethod: string } | null>(null);
  const inFlight = useRef(false);
  const [phase, setPhase] = useState<Phase>("paying");

  // Back from PayPal with the browser's Back button (page restored from the back/forward cache):
  // the page may be used again; the same attempt key finds the same payment.
  useEffect(() => {
    const restored = (e: PageTransitionEvent) => {
      if (!e.persisted) return;
      inFlight.current = false;
      setPaying(false);
    };
    window.addEventListener("pageshow", restored);
    return () => window.removeEventListener("pageshow", restored);
  }, []);

  /** After the payment started (or was completed): the receipt, PayPal's approval page, or the
   * card's 3-D Secure then /complete. True when this page is being left. */
  async function carryOn(payment: Payment): Promise<boolean> {
    const step = nextStep(payment);
    switch (step.kind) {
      case "receipt":
        navigate(`/payments/${encodeURIComponent(step.paymentId)}`, { replace: true });
        return true;
      case "redirect":
        rememberPayPal(window.sessionStorage, payment);
        setPhase("redirecting");
        window.location.assign(step.url);
        return true;
      case "authenticate": {
        if (!stripe) {
          setPayError("The card form is still loading; press Pay again to authenticate the card.");
          return false;
        }
        setPhase("authenticating");
        const stripeSays = await authenticateCard(stripe.stripe, step.clientSecret);
        setPhase("confirming");
        const after = await paymentAction(step.paymentId, "complete");
        void queryClient.invalidateQueries({ queryKey: orderKeys.lists });
        if (after.status === "requires_action") { // Stripe still waits for the card holder
          setPayError(`${stripeSays ?? "The card's authentication was not completed."} Nothing has been charged; `
            + "press Pay to authenticate again.");
          return false;
        }
        return carryOn(after);
      }
      case "failed":
        attemptKey.current = newIdempotencyKey(); // the next try is a new attempt
        setDeclined(step.reason);
        return false;
      case "stuck":
        setPayError(step.message);
        return false;
    }
  }

  const methods = quote.data?.payment_methods ?? [];
  useEffect(() => {
    if (!method && methods.length) setMethod(methods.includes("card") ? "card" : methods[0]);
  }, [method, methods]);

  async function pay() {
    if (inFlight.current || !quote.data) return;
    inFlight.current = true;
    setPaying(true);
    setPhase("paying");
    setDeclined(null);
    setPayError(null);
    let leaving = false;
    try {
      let payment_method: string | null = null;
      if (method === "card") {
        if (!stripe) throw new CardError("The card form is still loading.");
        const same = attemptCard.current?.key === attemptKey.current ? attemptCard.current.paymentMethod : null;
        payment_method = same ?? await paymentMethodId(stripe.stripe, stripe.card);
        attemptCard.current = { key: attemptKey.current, paymentMethod: payment_method };
      }
      const { data, error, response } = await client.POST("/api/v1/payments", {
        params: { header: { "Idempotency-Key": attemptKey.current } },
        body: { order_ids: quote.data.orders.map((o) => o.order_id), method: method as "card" | "paypal", payment_method,
          confirm_flagged: confirmFlagged },
      });
      void queryClient.invalidateQueries({ queryKey: orderKeys.lists });
      if (response.status === 201 && data) {
        leaving = await carryOn(data as Payment);
        return;
      }
      if (response.status === 402) {
        const p = error as unknown as Payment;
        attemptKey.current = newIdempotencyKey(); // the next try is a new attempt
        const step = p?.payment_id ? nextStep(p) : null;
        setDeclined(step?.kind === "failed" ? step.reason : "the card was declined");
        return;
      }
      const err = new ApiError(response.status, error);
      if (err.code === "price_check_failed") void quote.refetch(); // show the flags the server found
      // A definite answer ends this attempt; after a lost or failed answer the same key retries safely.
      if (response.status >= 400 && response.status < 500) attemptKey.current = newIdempotencyKey();
      setPayError(err.message);
    } catch (e) {
      setPayError(e instanceof CardError ? e.message : errorMessage(e instanceof ApiError ? e : new ApiError(0, {})));
    } finally {
      if (!leaving) {
        inFlight.current = false;
        setPaying(false);
      }
    }
  }

  if (orderIds.length === 0) {
    return <Alert severity="info">No orders to pay. <Link component={RouterLink} to="/">Back to Orders</Link></Alert>;
  }

  const q = quote.data;
  const cur = q?.supplier.currency ?? "";
  const charge = q ? money(q.charge.amount, "USD") : "";
  const blocked = payBlocked(q?.price_check, confirmFlagged);

  return (
    <Stack spacing={2} sx={{ maxWidth: 960 }}>
      <Breadcrumbs aria-label="Breadcrumb">
        <Link component={RouterLink} to="/">All orders</Link>
        <Typography color="text.primary">Checkout</Typography>
      </Breadcrumbs>
      <Typography variant="h1" sx={{ fontSize: 26, fontWeight: 600 }}>
        Checkout{q ? ` — ${q.supplier.name}` : ""}
      </Typography>

      {quote.isPending && <Stack direction="row" sx={{ gap: 1, alignItems: "center" }}><CircularProgress size={20} aria-label="Loading" /> Preparing the checkout…</Stack>}
      {quote.isError && (quote.error instanceof ApiError && quote.error.code === "not_payable"
        ? <><NotPayable error={quote.error} /><PendingPayment error={quote.error} onReleased={() => void quote.refetch()} /></>
        : <ErrorAlert error={quote.error} onRetry={() => void quote.refetch()} />)}

      {q && (
        <>
          <AmountsTable label="Orders to pay" orders={q.orders} total={q.total} currency={cur}
            totalLabel={`Total (${q.orders.length} order${q.orders.length === 1 ? "" : "s"})`} />

          <PriceCheck check={q.price_check} confirmed={confirmFlagged} onConfirmedChange={setConfirmFlagged} disabled={paying} />

          <Paper variant="outlined" sx={{ p: 2 }}>
            <Typography sx={{ fontSize: 20, fontWeight: 600 }}>To be charged: {charge} USD</Typography>
            <Typography color="text.secondary">{rateLine(q.fx)}</Typography>
          </Paper>

          <Paper variant="outlined" sx={{ p: 2 }}>
            <Stack spacing={2}>
              <FormControl>
                <FormLabel id="method-label">Payment method</FormLabel>
                <RadioGroup row aria-labelledby="method-label" value={method} onChange={(e) => { setMethod(e.target.value); setPayError(null); setDeclined(null); }}>
                  {methods.map((m) => <FormControlLabel key={m} value={m} control={<Radio />} label={methodLabel(m)} disabled={paying} />)}
                </RadioGroup>
              </FormControl>
              {methods.length === 0 && <Alert severity="warning">This supplier accepts no payment method for auto-orders.</Alert>}

              {method === "card" && <CardField onReady={setStripe} />}

              {declined && (
                <Alert severity="error" role="alert">
                  The payment was declined: {declined}. Nothing was charged and the orders are unpaid again; you can try again.
                </Alert>
              )}
              {payError && <Alert severity="error" role="alert">{payError}</Alert>}
              <Box aria-live="polite" sx={{ minHeight: 0 }}>{paying ? phaseText(phase) : ""}</Box>

              {method === "card" && (
                <Button variant="contained" size="large" sx={{ alignSelf: "flex-start" }} disabled={paying || !stripe || blocked} onClick={() => void pay()}>
                  {paying ? "Paying…" : `Pay ${charge}`}
                </Button>
              )}
              {method === "paypal" && (
                <Button variant="contained" size="large" sx={{ alignSelf: "flex-start" }} disabled={paying || blocked} onClick={() => void pay()}>
                  {paying ? "Paying…" : `Pay ${charge} with PayPal`}
                </Button>
              )}
            </Stack>
          </Paper>
        </>
      )}
    </Stack>
  );
}
