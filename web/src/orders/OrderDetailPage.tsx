import { useState, type ReactNode } from "react";
import {
  Alert, Box, Breadcrumbs, Button, Chip, Grid, IconButton, Link, Paper, Snackbar, Stack, Table, TableBody,
  TableCell, TableContainer, TableHead, TableRow, Tooltip, Typography, CircularProgress,
} from "@mui/material";
import ContentCopyIcon from "@mui/icons-material/ContentCopy";
import DoneAllIcon from "@mui/icons-material/DoneAll";
import OpenInNewIcon from "@mui/icons-material/OpenInNew";
import { Link as RouterLink, useParams } from "react-router-dom";
import type { OrderDetail } from "../api/types";
import ErrorAlert from "../components/ErrorAlert";
import { useTitle } from "../components/useTitle";
import { localDateTime, methodLabel, money, moneyWithCode, platformLabel, rateLine } from "../format";
import AddTrackingDialog from "./AddTrackingDialog";
import { canCancel } from "./cancel";
import CancelOrderDialog from "./CancelOrderDialog";
import CorrectTrackingDialog from "./CorrectTrackingDialog";
import { canCorrect, correctedBy, isLive } from "./shipments";
import { useOrder } from "./queries";
import StatusChip from "./StatusChip";
import AlertChips from "./AlertChips";
import { visuallyHidden } from "../components/visuallyHidden";
import { refundAmountLine, refundDestination } from "../checkout/refunds";

function Section({ title, children, action }: { title: string; children: ReactNode; action?: ReactNode }) {
  return (
    <Paper variant="outlined" component="section" aria-label={title} sx={{ p: 2 }}>
      <Stack direction="row" sx={{ alignItems: "center", mb: 1, gap: 1 }}>
        <Typography variant="h2" sx={{ fontSize: 18, fontWeight: 600, flexGrow: 1 }}>{title}</Typography>
        {action}
      </Stack>
      {children}
    </Paper>
  );
}

export function addressLines(o: OrderDetail): string[] {
  const a = o.shipping_address;
  if (!a) return [];
  const cityLine = [a.zip, a.city].filter(Boolean).join(" ");
  return [a.name, a.company, a.address1, a.address2, cityLine, a.province, a.country ?? a.country_code, a.phone]
    .filter((x): x is string => !!x && x.trim() !== "");
}

export default function OrderDetailPage() {
  const { orderId = "" } = useParams();
  const order = useOrder(orderId);
  const [tracking, setTracking] = useState(false);
  const [correcting, setCorrecting] = useState<{ tracking_id: string; tracking_number: string } | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const [copied, setCopied] = useState<string | null>(null);
  useTitle(order.data ? `Order ${order.data.order_number ?? order.data.order_id}` : "Order");

  if (order.isPending) return <CircularProgress aria-label="Loading order" />;
  if (order.isError) {
    return (
      <Stack spacing={2}>
        <Breadcrumbs aria-label="Breadcrumb"><Link component={RouterLink} to="/">All orders</Link></Breadcrumbs>
        <ErrorAlert error={order.error} onRetry={() => void order.refetch()} />
      </Stack>
    );
  }
  const o = order.data;
  const nonAuto = o.status === "non_auto_order" || (o.supplier && !o.supplier.auto_order);
  const website = o.supplier_website_url ?? o.supplier?.website_url ?? null;
  const address = addressLines(o);
  const contact = [o.customer?.name, o.customer?.email, o.customer?.phone].filter(Boolean) as string[];
  const refunds = o.refunds ?? [];

  async function copy(text: string, what: string) {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(`${what} copied`);
    } catch {
      setCopied(`Could not copy; select the ${what.toLowerCase()} and copy it by hand`);
    }
  }

  const supplierLink = (label = "Order on supplier's website") => website && (
    <Button size="small" variant="outlined" component="a" href={website} target="_blank" rel="noopener noreferrer"
      endIcon={<OpenInNewIcon fontSize="small" />} sx={{ whiteSpace: "nowrap" }}>
      {label}
    </Button>
  );

  return (
    <Stack spacing={2}>
      <Breadcrumbs aria-label="Breadcrumb">
        <Link component={RouterLink} to="/">All orders</Link>
        <Typography color="text.primary">{o.order_number ?? o.order_id}</Typography>
      </Breadcrumbs>
      <Stack direction="row" sx={{ alignItems: "center", gap: 2, flexWrap: "wrap" }}>
        <Typography variant="h1" sx={{ fontSize: 26, fontWeight: 600 }}>Order {o.order_number ?? o.order_id}</Typography>
        <StatusChip status={o.status} />
        <AlertChips order={o} />
        {nonAuto && o.status !== "non_auto_order" && <Chip size="small" variant="outlined" label="Non auto-order" />}
        <Box sx={{ flexGrow: 1 }} />
        {canCancel(o.status) && (
          <Button variant="outlined" color="error" onClick={() => setCancelling(true)}>Cancel order</Button>
        )}
        {o.can_add_tracking && (
          <Tooltip title="Add tracking number">
            <IconButton aria-label="Add tracking number" color="primary" onClick={() => setTracking(true)}
              sx={{ border: 1, borderColor: "primary.main" }}>
              <DoneAllIcon />
            </IconButton>
          </Tooltip>
        )}
      </Stack>

      {refunds.length > 0 && (
        <Alert severity="info">
          Refunded {refundAmountLine({ usd: refunds[0].usd_amounts.total, supplier: refunds[0].supplier_currency_amounts.total, currency: refunds[0].currency })}
          {" "}to {refundDestination(refunds[0].method)}: {refunds[0].reason}
        </Alert>
      )}
      {o.frozen && o.status !== "refunded" && (
        <Alert severity="info">
          This order is paid and can no longer be changed. To change anything, contact the supplier
          {o.supplier ? ` (${o.supplier.name})` : ""}: changes go through the supplier.
        </Alert>
      )}
      {o.problem && <Alert severity={o.status === "failed" || o.status === "unmatched" ? "error" : "warning"}>{o.problem}</Alert>}

      <Grid container spacing={2}>
        <Grid size={{ xs: 12, md: 6 }}>
          <Section title="Order">
            <Box component="dl" sx={{ m: 0, display: "grid", gridTemplateColumns: "max-content 1fr", columnGap: 2, rowGap: 0.5, "& dt": { color: "text.secondary" }, "& dd": { m: 0 } }}>
              <dt>Store order</dt><dd>{o.platform_order_number ?? "—"}</dd>
              <dt>Store</dt><dd>{o.store ? `${o.store.shop} (${platformLabel(o.store.platform)})` : "—"}</dd>
              <dt>Supplier</dt><dd>{o.supplier ? `${o.supplier.name}${o.supplier.auto_order ? "" : " · Non auto-order"}` : "—"}</dd>
              <dt>Supplier order</dt><dd>{o.supplier_order_id ?? "—"}</dd>
              <dt>Shipping method</dt><dd>{o.shipping_method ?? "—"}</dd>
              <dt>Cost</dt><dd>{o.cost ? `${moneyWithCode(o.cost.total, o.cost.currency)} (products ${money(o.cost.product_cost, o.cost.currency)}, shipping ${money(o.cost.shipping, o.cost.currency)}, VAT ${money(o.cost.vat, o.cost.currency)})` : "—"}{o.usd_total ? ` · ${moneyWithCode(o.usd_total, "USD")}` : ""}</dd>
              <dt>Created</dt><dd>{localDateTime(o.created_at)}</dd>
            </Box>
          </Section>
        </Grid>
        <Grid size={{ xs: 12, md: 6 }}>
          <Section title="Ship to"
            action={address.length > 0 && (
              <Tooltip title="Copy shipping address">
                <IconButton aria-label="Copy shipping address" size="small"
                  onClick={() => void copy([...address, ...(o.customer?.email ? [o.customer.email] : [])].join("\n"), "Shipping address")}>
                  <ContentCopyIcon fontSize="small" />
                </IconButton>
              </Tooltip>
            )}>
            {address.length ? (
              <Box component="address" sx={{ fontStyle: "normal", whiteSpace: "pre-line" }}>{address.join("\n")}</Box>
            ) : <Typography color="text.secondary">No shipping address.</Typography>}
            {contact.length > 0 && (
              <Typography sx={{ mt: 1 }} color="text.secondary">Contact: {contact.join(" · ")}</Typography>
            )}
          </Section>
        </Grid>
      </Grid>

      <Section title="Lines">
        <TableContainer sx={{ overflowX: "auto" }}>
          <Table size="small" aria-label="Lines" sx={{ minWidth: 640 }}>
            <TableHead>
              <TableRow>
                <TableCell>SKU</TableCell><TableCell>Title</TableCell><TableCell align="right">Quantity</TableCell>
                <TableCell>Supplier SKU</TableCell><TableCell align="right">Unit cost</TableCell>
                {nonAuto && <TableCell><Box component="span" sx={visuallyHidden}>Supplier's website</Box></TableCell>}
              </TableRow>
            </TableHead>
            <TableBody>
              {o.lines.map((l) => (
                <TableRow key={l.line_id}>
                  <TableCell>{l.sku ?? "—"}</TableCell>
                  <TableCell>
                    {l.title ?? "—"}
                    {!l.matched && <Chip size="small" color="error" label="Unmatched" sx={{ ml: 1 }} />}
                  </TableCell>
                  <TableCell align="right">{l.quantity}</TableCell>
                  <TableCell>{l.supplier_sku ?? "—"}</TableCell>
                  <TableCell align="right">{l.unit_cost ? money(l.unit_cost, o.cost?.currency ?? o.supplier?.currency) : "—"}</TableCell>
                  {nonAuto && (
                    <TableCell>
                      <Stack direction="row" sx={{ gap: 1, alignItems: "center" }}>
                        {supplierLink()}
                        <Tooltip title="Copy SKU and title to search for">
                          <IconButton size="small" aria-label={`Copy ${l.supplier_sku ?? l.sku ?? "line"} to search for`}
                            onClick={() => void copy(`${l.supplier_sku ?? l.sku ?? ""} ${l.title ?? ""}`.trim(), "SKU and title")}>
                            <ContentCopyIcon fontSize="small" />
                          </IconButton>
                        </Tooltip>
                      </Stack>
                    </TableCell>
                  )}
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
        {nonAuto && o.search_hints.length > 0 && (
          <Typography sx={{ mt: 1, fontSize: 14 }} color="text.secondary">
            Search the supplier's website for: {o.search_hints.map((h) => `${h.sku ?? ""} ${h.title ?? ""} × ${h.quantity}`.trim()).join("; ")}
          </Typography>
        )}
      </Section>

      <Grid container spacing={2}>
        <Grid size={{ xs: 12, md: 6 }}>
          <Section title="Payment">
            {o.payment ? (
              <Stack spacing={0.5}>
                <Typography>
                  <Link component={RouterLink} to={`/payments/${encodeURIComponent(o.payment.payment_id)}`}>{o.payment.payment_id}</Link>
                  {" · "}{methodLabel(o.payment.method)}{o.payment.paid_at ? ` · ${localDateTime(o.payment.paid_at)}` : ""}
                </Typography>
                <Typography>
                  {moneyWithCode(o.payment.supplier_currency_amounts.total, o.payment.supplier_currency)}
                  {" = "}{moneyWithCode(o.payment.usd_amounts.total, "USD")}
                </Typography>
                <Typography color="text.secondary" sx={{ fontSize: 14 }}>{rateLine(o.payment.fx)}</Typography>
                {refunds.map((r) => (
                  <Box key={r.refund_id} sx={{ mt: 1, pt: 1, borderTop: 1, borderColor: "divider" }}>
                    <Typography>
                      <Box component="span" sx={{ fontWeight: 600 }}>Refunded</Box>
                      {" "}{refundAmountLine({ usd: r.usd_amounts.total, supplier: r.supplier_currency_amounts.total, currency: r.currency })}
                      {" · "}{methodLabel(r.method)}{" · "}{localDateTime(r.refunded_at)}
                    </Typography>
                    <Typography color="text.secondary" sx={{ fontSize: 14 }}>Reason: {r.reason}</Typography>
                    <Typography color="text.secondary" sx={{ fontSize: 14 }}>Refund {r.provider_reference} ({r.provider})</Typography>
                  </Box>
                ))}
              </Stack>
            ) : <Typography color="text.secondary">Not paid.</Typography>}
          </Section>
        </Grid>
        <Grid size={{ xs: 12, md: 6 }}>
          <Section title="Tracking">
            {o.tracking.length ? (
              <Stack spacing={1}>
                {o.tracking.map((t) => isLive(t) ? (
                  <Box key={t.tracking_id}>
                    <Stack direction="row" sx={{ alignItems: "baseline", gap: 1, flexWrap: "wrap" }}>
                      <Box sx={{ flex: 1 }}>
                        {t.tracking_url ? (
                          <Link href={t.tracking_url} target="_blank" rel="noopener noreferrer">{t.tracking_number}</Link>
                        ) : t.tracking_number}
                        {" · "}{t.carrier ?? "carrier unknown"}
                        {" · from the "}{t.source}
                        {" · "}{t.store_kept_number ? "recorded in Dropline only" : t.synced
                          ? `in the store${t.synced_at ? ` since ${localDateTime(t.synced_at)}` : ""}` : "not yet in the store"}
                      </Box>
                      {canCorrect(o.status, t) && (
                        <Button size="small" onClick={() => setCorrecting(t)}
                          aria-label={`Correct number ${t.tracking_number}`}>Correct number</Button>
                      )}
                    </Stack>
                    <Typography sx={{ fontSize: 14 }} color="text.secondary">
                      {t.lines ? t.lines.map((l) => `${l.quantity ?? ""} × ${l.title ?? l.sku ?? l.line_id}`).join(", ") : "Every line"}
                    </Typography>
                    {t.previous_tracking_number && (
                      <Typography sx={{ fontSize: 14 }} color="text.secondary">Corrects {t.previous_tracking_number}</Typography>
                    )}
                    {t.store_note && <Typography sx={{ fontSize: 14 }} color="warning.dark">{t.store_note}</Typography>}
                  </Box>
                ) : (
                  <Box key={t.tracking_id} sx={{ color: "text.secondary" }}>
                    <Box component="span" sx={visuallyHidden}>Wrong number </Box><Box component="del">{t.tracking_number}</Box>
                    {" · corrected"}{t.superseded_at ? ` ${localDateTime(t.superseded_at)}` : ""}
                    {t.changed_by ? ` by ${correctedBy(t.changed_by)}` : ""}
                    {t.change_reason && <Typography sx={{ fontSize: 14 }}>Why: {t.change_reason}</Typography>}
                  </Box>
                ))}
              </Stack>
            ) : <Typography color="text.secondary">No tracking number yet.</Typography>}
          </Section>
        </Grid>
      </Grid>

      <Section title="Timeline">
        <Box component="ol" sx={{ m: 0, pl: 0, listStyle: "none" }}>
          {o.timeline.map((t, i) => (
            <Box component="li" key={`${t.at}-${i}`} sx={{ display: "flex", gap: 2, py: 0.75, borderBottom: 1, borderColor: "divider", flexWrap: "wrap" }}>
              <Box component="time" dateTime={t.at} sx={{ minWidth: 190, color: "text.secondary" }}>{localDateTime(t.at, true)}</Box>
              {t.status && <StatusChip status={t.status} />}
              <Box sx={{ flex: 1, minWidth: 200 }}>{t.summary}</Box>
            </Box>
          ))}
        </Box>
      </Section>

      <CancelOrderDialog orderId={o.order_id} orderNumber={o.order_number ?? o.order_id} open={cancelling}
        onClose={() => setCancelling(false)}
        onCancelled={() => { setCancelling(false); setCopied("Order cancelled. It will not be paid."); }} />
      <CorrectTrackingDialog orderId={o.order_id} shipment={correcting} onClose={() => setCorrecting(null)}
        onCorrected={(n) => { setCorrecting(null); setCopied(`Tracking number corrected to ${n}`); }} />
      <AddTrackingDialog orderId={o.order_id} orderNumber={o.order_number ?? o.order_id} lines={o.lines}
        shipments={o.tracking} open={tracking} onClose={() => setTracking(false)} />
      <Snackbar open={!!copied} autoHideDuration={3000} onClose={() => setCopied(null)} message={copied ?? ""} />
    </Stack>
  );
}
