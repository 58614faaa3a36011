import {
  Alert, Box, Breadcrumbs, CircularProgress, Link, Paper, Stack, Table, TableBody, TableCell, TableContainer,
  TableHead, TableRow, Typography,
} from "@mui/material";
import { useQuery } from "@tanstack/react-query";
import { Link as RouterLink, useParams } from "react-router-dom";
import { client, unwrap } from "../api/client";
import type { Payment, PaymentRefund } from "../api/types";
import ErrorAlert from "../components/ErrorAlert";
import { useTitle } from "../components/useTitle";
import { localDateTime, methodLabel, money } from "../format";
import AmountsTable from "./AmountsTable";
import { refundNotice, refundStatusLabel, refundSummary } from "./refunds";

/** A bulk payment is refunded per order: one row per refunded order, with why and how much. */
function RefundsTable({ payment }: { payment: Payment }) {
  const refunds: PaymentRefund[] = payment.refunds ?? [];
  const numbers = new Map(payment.orders.map((o) => [o.order_id, o.order_number]));
  return (
    <Paper variant="outlined" component="section" aria-label="Refunds">
      <Typography variant="h2" sx={{ fontSize: 18, fontWeight: 600, p: 2, pb: 0 }}>Refunds</Typography>
      <TableContainer sx={{ overflowX: "auto" }}>
        <Table size="small" aria-label="Refunded orders" sx={{ minWidth: 640 }}>
          <TableHead>
            <TableRow>
              <TableCell>Order</TableCell>
              <TableCell>Reason</TableCell>
              <TableCell>Status</TableCell>
              <TableCell align="right">Refunded ({payment.supplier.currency})</TableCell>
              <TableCell align="right">Refunded (USD)</TableCell>
              <TableCell>Time</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {refunds.map((r) => (
              <TableRow key={r.refund_id}>
                <TableCell>
                  {r.order_id
                    ? <Link component={RouterLink} to={`/orders/${encodeURIComponent(r.order_id)}`}>{numbers.get(r.order_id) ?? r.order_id}</Link>
                    : "Whole payment"}
                </TableCell>
                <TableCell>{r.reason}</TableCell>
                <TableCell>{refundStatusLabel(r.status)}{r.status === "failed" && r.failure_reason ? `: ${r.failure_reason}` : ""}</TableCell>
                <TableCell align="right">{money(r.amount_supplier_currency, r.currency)}</TableCell>
                <TableCell align="right">{money(r.amount_usd, "USD")}</TableCell>
                <TableCell>{localDateTime(r.created_at, true)}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </TableContainer>
    </Paper>
  );
}

export default function ReceiptPage() {
  const { paymentId = "" } = useParams();
  useTitle("Receipt");
  const payment = useQuery({
    queryKey: ["payment", paymentId],
    queryFn: ({ signal }) =>
      unwrap<Payment>(client.GET("/api/v1/payments/{payment_id}", { params: { path: { payment_id: paymentId } }, signal })),
    // A payment still processing settles within seconds: look again until it has.
    // One waiting for PayPal or 3-D Secure is looked at now and then (the retailer may finish elsewhere).
    refetchInterval: (q) => (q.state.data?.status === "processing" ? 1000
      : q.state.data?.status === "requires_action" ? 5000 : false),
  });

  if (payment.isPending) return <CircularProgress aria-label="Loading receipt" />;
  if (payment.isError) return <ErrorAlert error={payment.error} onRetry={() => void payment.refetch()} />;
  const p = payment.data;
  const cur = p.supplier.currency;
  const refunds = p.refunds ?? [];
  const refunded = refundSummary(p.charge.amount, refunds);

  return (
    <Stack spacing={2} sx={{ maxWidth: 960 }}>
      <Breadcrumbs aria-label="Breadcrumb">
        <Link component={RouterLink} to="/">All orders</Link>
        <Typography color="text.primary">Receipt</Typography>
      </Breadcrumbs>
      <Typography variant="h1" sx={{ fontSize: 26, fontWeight: 600 }}>Receipt</Typography>
      {p.status === "succeeded" && <Alert severity="success">Paid {money(p.charge.amount, "USD")} to {p.supplier.name}. The orders go to the supplier now.</Alert>}
      {p.status === "processing" && <Alert severity="info">The payment is being processed…</Alert>}
      {p.status === "failed" && <Alert severity="error">The payment failed: {p.failure_reason ?? "declined"}.</Alert>}
      {p.status === "requires_action" && (
        <Alert severity="info">
          Payment pending: it waits for {p.method === "paypal" ? "your approval at PayPal" : "the card's 3-D Secure authentication"}.
          {" "}Nothing has been charged yet; an unfinished payment is released after a while and the orders are unpaid again.
        </Alert>
      )}
      {p.status === "refunded" && (
        <Alert severity="info">
          The money came in after this checkout had been given up, and its orders had been paid or cancelled meanwhile,
          so all of it ({money(p.charge.amount, "USD")}) was given back.
        </Alert>
      )}
      {refunded && <Alert severity="info">{refundNotice(refunded, p.method)}</Alert>}

      <Paper variant="outlined" sx={{ p: 2 }}>
        <Box component="dl" sx={{ m: 0, display: "grid", gridTemplateColumns: "max-content 1fr", columnGap: 2, rowGap: 0.5, "& dt": { color: "text.secondary" }, "& dd": { m: 0 } }}>
          <dt>Payment</dt><dd>{p.payment_id}</dd>
          <dt>Status</dt><dd>{p.status}</dd>
          <dt>Method</dt><dd>{methodLabel(p.method)}</dd>
          <dt>Supplier</dt><dd>{p.supplier.name}</dd>
          <dt>Charged</dt><dd>{money(p.charge.amount, "USD")} USD</dd>
          {refunded && <><dt>Refunded</dt><dd>{money(refunded.refunded, "USD")} USD</dd></>}
          {refunded && <><dt>Net charged</dt><dd>{money(refunded.net, "USD")} USD</dd></>}
          <dt>Rate</dt><dd>1 {p.fx.from_currency} = {p.fx.rate} {p.fx.to_currency}</dd>
          <dt>Rate date</dt><dd>{p.fx.rate_date}</dd>
          <dt>Source</dt><dd>{p.fx.source}</dd>
          <dt>Time</dt><dd>{localDateTime(p.completed_at ?? p.created_at, true)}</dd>
        </Box>
      </Paper>

      <AmountsTable label="Paid orders" orders={p.orders} total={p.total} currency={cur} totalLabel="Total" linkOrders />
      {refunds.length > 0 && <RefundsTable payment={p} />}
    </Stack>
  );
}
