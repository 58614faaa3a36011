import { Link, Paper, Table, TableBody, TableCell, TableContainer, TableFooter, TableHead, TableRow } from "@mui/material";
import { Link as RouterLink } from "react-router-dom";
import type { Quote } from "../api/types";
import { money } from "../format";

/** Per order and in total: product cost, shipping fee, VAT and total in the supplier's currency, and
 *  the USD total — the same table on the checkout page and on the receipt. */
export default function AmountsTable({ label, orders, total, currency, totalLabel, linkOrders = false }: {
  label: string;
  orders: Quote["orders"];
  total: Quote["total"];
  currency: string;
  totalLabel: string;
  linkOrders?: boolean;
}) {
  const cur = currency;
  return (
    <Paper variant="outlined">
      <TableContainer sx={{ overflowX: "auto" }}>
        <Table size="small" aria-label={label} sx={{ minWidth: 640 }}>
          <TableHead>
            <TableRow>
              <TableCell>Order</TableCell>
              <TableCell align="right">Product cost</TableCell>
              <TableCell align="right">Shipping fee</TableCell>
              <TableCell align="right">VAT</TableCell>
              <TableCell align="right">Total ({cur})</TableCell>
              <TableCell align="right">Total (USD)</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {orders.map((o) => (
              <TableRow key={o.order_id}>
                <TableCell>
                  {linkOrders
                    ? <Link component={RouterLink} to={`/orders/${encodeURIComponent(o.order_id)}`}>{o.order_number}</Link>
                    : o.order_number}
                </TableCell>
                <TableCell align="right">{money(o.supplier_currency.product_cost, cur)}</TableCell>
                <TableCell align="right">{money(o.supplier_currency.shipping, cur)}</TableCell>
                <TableCell align="right">{money(o.supplier_currency.vat, cur)}</TableCell>
                <TableCell align="right">{money(o.supplier_currency.total, cur)}</TableCell>
                <TableCell align="right">{money(o.usd.total, "USD")}</TableCell>
              </TableRow>
            ))}
          </TableBody>
          <TableFooter>
            <TableRow sx={{ "& td": { fontWeight: 700, color: "text.primary", fontSize: 14 } }}>
              <TableCell>{totalLabel}</TableCell>
              <TableCell align="right">{money(total.supplier_currency.product_cost, cur)}</TableCell>
              <TableCell align="right">{money(total.supplier_currency.shipping, cur)}</TableCell>
              <TableCell align="right">{money(total.supplier_currency.vat, cur)}</TableCell>
              <TableCell align="right">{money(total.supplier_currency.total, cur)}</TableCell>
              <TableCell align="right">{money(total.usd.total, "USD")}</TableCell>
            </TableRow>
          </TableFooter>
        </Table>
      </TableContainer>
    </Paper>
  );
}
