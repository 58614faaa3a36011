import { useCallback, useEffect, useMemo, useState } from "react";
import {
  Box, Button, Checkbox, Chip, Dialog, DialogActions, DialogContent, DialogTitle, FormControlLabel,
  LinearProgress, List, ListItemButton, ListItemText, Paper, Stack, Table, TableBody, TableCell,
  TableContainer, TableHead, TablePagination, TableRow, Typography, Link,
} from "@mui/material";
import OpenInNewIcon from "@mui/icons-material/OpenInNew";
import DownloadIcon from "@mui/icons-material/Download";
import { Link as RouterLink, useNavigate, useSearchParams } from "react-router-dom";
import type { OrderSummary } from "../api/types";
import ErrorAlert from "../components/ErrorAlert";
import { useTitle } from "../components/useTitle";
import { localDateTime, moneyWithCode, platformLabel, shortDateTime } from "../format";
import { exportCsvUrl, filtersFromParams, filtersToParams, PAGE_SIZES, type OrderFilters } from "./filters";
import OrdersFilters from "./OrdersFilters";
import { useOrderList, useOverview } from "./queries";
import AlertChips from "./AlertChips";
import { overviewLinks } from "./alerts";
import { canPayNow, describeSkipped, planPayment, remainingAfterPaying, type SupplierGroup } from "./selection";
import { selection, useSelection } from "./selectionStore";
import StatusChip from "./StatusChip";
import { visuallyHidden } from "../components/visuallyHidden";
import { PriceFlags } from "../checkout/PriceCheck";
import { figuresLine, type Guardrail } from "../checkout/priceCheck";
import { usePriceChecks } from "./usePriceChecks";

export function checkoutPath(group: SupplierGroup): string {
  return `/checkout?orders=${group.order_ids.map(encodeURIComponent).join(",")}`;
}

function unmatchedText(o: OrderSummary): string | null {
  if (o.status !== "unmatched" && !o.unmatched_line_count) return null;
  if (o.problem) return o.problem;
  const n = o.unmatched_line_count;
  return n === 1 ? "1 line matches no listing" : `${n} lines match no listing`;
}

export default function OrdersPage() {
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => filtersFromParams(params), [params]);
  const navigate = useNavigate();
  const list = useOrderList(filters);
  const priceChecks = usePriceChecks(list.dataUpdatedAt);
  const alertCounts = overviewLinks(useOverview(list.dataUpdatedAt));
  const selected = useSelection();
  const [choosing, setChoosing] = useState(false);
  useTitle("Orders");

  const update = useCallback((patch: Partial<OrderFilters>) => {
    setParams((prev) => {
      const current = filtersFromParams(prev);
      const paging = "page" in patch || "page_size" in patch;
      return filtersToParams({ ...current, ...patch, page: paging ? (patch.page ?? 0) : 0 });
    });
  }, [setParams]);

  const rows = list.data?.orders ?? [];
  // Rows on screen are the freshest copy of a selected order.
  useEffect(() => {
    for (const o of rows) if (selected.has(o.order_id)) selection.toggle(o, true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [list.data]);

  // A bookmarked page past the end (fewer orders now): show the last page instead of nothing.
  const total = list.data?.total ?? 0;
  useEffect(() => {
    if (list.data && total > 0 && filters.page * filters.page_size >= total) {
      update({ page: Math.ceil(total / filters.page_size) - 1 });
    }
  }, [list.data, total, filters.page, filters.page_size, update]);

  const plan = useMemo(() => planPayment([...selected.values()]), [selected]);
  const onPage = rows.filter((o) => selected.has(o.order_id)).length;
  const allOnPage = rows.length > 0 && onPage === rows.length;

  function payNow() {
    if (plan.kind === "one_supplier") pay(plan.group);
    else if (plan.kind === "choose_supplier") setChoosing(true);
  }

  function pay(group: SupplierGroup) {
    setChoosing(false);
    // The orders of this payment leave the selection; the others stay selected for later.
    selection.keepOnly(remainingAfterPaying([...selected.keys()], group));
    navigate(checkoutPath(group));
  }

  const skippedText = plan.kind !== "empty" ? describeSkipped(plan.skipped) : "";
  const payHint = plan.kind === "empty"
    ? "Select unpaid orders of one supplier to pay them."
    : plan.kind === "one_supplier"
      ? `${plan.group.order_ids.length} order${plan.group.order_ids.length === 1 ? "" : "s"} of ${plan.group.name} to pay.`
      : plan.kind === "choose_supplier"
        ? `The selection holds orders of ${plan.groups.length} suppliers; one payment pays one supplier.`
        : "Nothing selected can be paid.";

  return (
    <Stack spacing={2}>
      <Stack direction="row" sx={{ alignItems: "center", gap: 1.5, flexWrap: "wrap" }}>
        <Typography variant="h1" sx={{ fontSize: 26, fontWeight: 600 }}>Orders</Typography>
        {alertCounts.length > 0 && (
          <Box component="nav" aria-label="Alert counts" sx={{ display: "flex", gap: 1 }}>
            {alertCounts.map((c) => (
              <Button key={c.flag} size="small" variant={filters.flag === c.flag ? "contained" : "outlined"}
                color={c.flag === "late" ? "warning" : "error"} aria-pressed={filters.flag === c.flag}
                onClick={() => update({ flag: filters.flag === c.flag ? "" : c.flag })}>
                {c.text}
              </Button>
            ))}
          </Box>
        )}
      </Stack>
      <OrdersFilters filters={filters} onChange={update} />

      <Paper variant="outlined" sx={{ p: 1.5, display: "flex", flexWrap: "wrap", gap: 2, alignItems: "center" }}>
        <FormControlLabel
          label="Select all on this page for bulk payment"
          control={
            <Checkbox checked={allOnPage} indeterminate={onPage > 0 && !allOnPage} disabled={rows.length === 0}
              onChange={(e) => selection.setMany(rows, e.target.checked)} />
          }
        />
        <Button variant="contained" disabled={!canPayNow(plan)} onClick={payNow} aria-describedby="pay-now-hint">
          Pay now
        </Button>
        <Box id="pay-now-hint" sx={{ fontSize: 14 }}>
          <Typography component="span" sx={{ fontSize: 14 }} color="text.secondary">
            {selected.size > 0 && `${selected.size} selected. `}{payHint}
          </Typography>
          {skippedText && (
            <Typography component="span" sx={{ fontSize: 14, display: "block" }} color="warning.dark">
              {skippedText}
            </Typography>
          )}
        </Box>
        {selected.size > 0 && <Button size="small" onClick={() => selection.clear()}>Clear selection</Button>}
        <Box sx={{ flexGrow: 1 }} />
        <Button variant="outlined" component="a" href={exportCsvUrl(filters)} download startIcon={<DownloadIcon />}>
          Export CSV
        </Button>
      </Paper>

      {list.isError && <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />}

      <Paper variant="outlined">
        {list.isFetching && <LinearProgress aria-label="Loading orders" sx={{ height: 2 }} />}
        <TableContainer sx={{ overflowX: "auto" }}>
          <Table size="small" aria-label="Orders" sx={{ minWidth: 1100, "& th": { whiteSpace: "nowrap" }, "& td, & th": { px: 1 } }}>
            <TableHead>
              <TableRow>
                <TableCell padding="checkbox"><Box component="span" sx={visuallyHidden}>Select</Box></TableCell>
                <TableCell>Dropline order</TableCell>
                <TableCell>Store order</TableCell>
                <TableCell>Store</TableCell>
                <TableCell>Supplier</TableCell>
                <TableCell>Customer</TableCell>
                <TableCell align="right">Items</TableCell>
                <TableCell align="right">Cost</TableCell>
                <TableCell>Dropline status</TableCell>
                <TableCell>Created</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {rows.map((o) => <OrderRow key={o.order_id} order={o} checked={selected.has(o.order_id)}
                guardrail={o.status === "unpaid" ? priceChecks?.get(o.order_id) : undefined} />)}
              {list.isSuccess && rows.length === 0 && (
                <TableRow>
                  <TableCell colSpan={10} sx={{ py: 4, textAlign: "center" }}>
                    No orders match these filters.
                  </TableCell>
                </TableRow>
              )}
            </TableBody>
          </Table>
        </TableContainer>
        <TablePagination
          component="div"
          count={list.data?.total ?? 0}
          page={total > 0 && filters.page * filters.page_size >= total ? Math.ceil(total / filters.page_size) - 1 : filters.page}
          rowsPerPage={filters.page_size}
          rowsPerPageOptions={PAGE_SIZES}
          onPageChange={(_e, page) => update({ page })}
          onRowsPerPageChange={(e) => update({ page_size: Number(e.target.value), page: 0 })}
          sx={{ "& .MuiTablePagination-toolbar": { flexWrap: "wrap", px: 1 } }}
        />
      </Paper>

      <Dialog open={choosing} onClose={() => setChoosing(false)} aria-labelledby="choose-supplier-title">
        <DialogTitle id="choose-supplier-title">Choose the supplier to pay</DialogTitle>
        <DialogContent>
          <Typography sx={{ mb: 1 }}>
            One payment pays one supplier. The orders of the other suppliers stay selected.
          </Typography>
          <List aria-label="Suppliers">
            {plan.kind === "choose_supplier" && plan.groups.map((g) => (
              <ListItemButton key={g.supplier_id} onClick={() => pay(g)} aria-label={g.name}
                aria-describedby={`pay-count-${g.supplier_id}`}>
                <ListItemText primary={g.name}
                  secondary={`${g.order_ids.length} unpaid order${g.order_ids.length === 1 ? "" : "s"}`}
                  slotProps={{ secondary: { id: `pay-count-${g.supplier_id}` } }} />
              </ListItemButton>
            ))}
          </List>
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setChoosing(false)}>Cancel</Button>
        </DialogActions>
      </Dialog>
    </Stack>
  );
}


function OrderRow({ order: o, checked, guardrail }: { order: OrderSummary; checked: boolean; guardrail?: Guardrail }) {
  const unmatched = unmatchedText(o);
  const nonAuto = o.status === "non_auto_order" || (o.supplier && !o.supplier.auto_order);
  return (
    <TableRow hover selected={checked} data-order-id={o.order_id}>
      <TableCell padding="checkbox">
        <Checkbox checked={checked} onChange={(e) => selection.toggle(o, e.target.checked)}
          slotProps={{ input: { "aria-label": `Select order ${o.order_number ?? o.order_id}` } }} />
      </TableCell>
      <TableCell>
        <Link component={RouterLink} to={`/orders/${encodeURIComponent(o.order_id)}`} sx={{ fontWeight: 600 }}>
          {o.order_number ?? o.order_id}
        </Link>
      </TableCell>
      <TableCell sx={{ whiteSpace: "nowrap" }}>{o.platform_order_number ?? "—"}</TableCell>
      <TableCell>
        {o.store ? <>{o.store.shop}<Typography component="span" color="text.secondary" sx={{ fontSize: 12, display: "block" }}>{platformLabel(o.store.platform)}</Typography></> : "—"}
      </TableCell>
      <TableCell>{o.supplier?.name ?? "—"}</TableCell>
      <TableCell sx={{ whiteSpace: "nowrap" }}>{o.customer_name ?? "—"}</TableCell>
      <TableCell align="right">{o.item_count}</TableCell>
      <TableCell align="right" sx={{ whiteSpace: "nowrap" }}>
        {o.cost ? moneyWithCode(o.cost.total, o.cost.currency) : "—"}
        {o.usd_total && (!o.cost || o.cost.currency !== "USD") && (
          <Typography component="span" color="text.secondary" sx={{ fontSize: 12, display: "block" }}>
            {moneyWithCode(o.usd_total, "USD")}
          </Typography>
        )}
        {guardrail?.flagged && (
          <Stack spacing={0.5} sx={{ alignItems: "flex-end", mt: 0.5 }}>
            <PriceFlags guardrail={guardrail} />
            <Typography component="span" color="text.secondary" sx={{ fontSize: 12 }}>{figuresLine(guardrail)}</Typography>
          </Stack>
        )}
      </TableCell>
      <TableCell>
        <Stack spacing={0.5} sx={{ alignItems: "flex-start" }}>
          <StatusChip status={o.status} />
          <AlertChips order={o} />
          {nonAuto && o.status !== "non_auto_order" && <Chip size="small" variant="outlined" label="Non auto-order" />}
          {nonAuto && o.supplier?.website_url && (
            <Button size="small" variant="outlined" component="a" href={o.supplier.website_url} target="_blank"
              rel="noopener noreferrer" endIcon={<OpenInNewIcon fontSize="small" />} sx={{ whiteSpace: "nowrap" }}>
              Order on supplier's website
            </Button>
          )}
          {unmatched && <Typography sx={{ fontSize: 12 }} color="error.main">{unmatched}</Typography>}
          {o.status === "failed" && o.problem && <Typography sx={{ fontSize: 12 }} color="error.main">{o.problem}</Typography>}
        </Stack>
      </TableCell>
      <TableCell sx={{ whiteSpace: "nowrap" }}><time dateTime={o.created_at} title={localDateTime(o.created_at, true)}>{shortDateTime(o.created_at)}</time></TableCell>
    </TableRow>
  );
}

