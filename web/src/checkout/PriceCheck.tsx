import {
  Alert, Box, Checkbox, Chip, FormControlLabel, Paper, Stack, Table, TableBody, TableCell, TableContainer, TableHead,
  TableRow, Typography,
} from "@mui/material";
import { money } from "../format";
import { flaggedOrders, flagLabels, usd, type Guardrail, type PriceCheck as Check } from "./priceCheck";

/** The badges of one order's price check ("Loses money", "Above your max buy price", "Margin unknown"). */
export function PriceFlags({ guardrail }: { guardrail: Guardrail }) {
  return (
    <>
      {flagLabels(guardrail).map((label) => (
        <Chip key={label} size="small" color={label === "Margin unknown" ? "warning" : "error"} label={label} />
      ))}
    </>
  );
}

function paid(g: Guardrail): string {
  const local = money(g.revenue, g.store_currency);
  return g.store_currency === "USD" || !g.revenue_usd ? local : `${local} (${usd(g.revenue_usd)})`;
}

/** The checkout's price check: per order what the customer paid, what the supplier costs, the
 *  margin, and the flags; flagged orders are paid only after the retailer ticks the confirmation. */
export default function PriceCheck({ check, confirmed, onConfirmedChange, disabled = false }: {
  check: Check;
  confirmed: boolean;
  onConfirmedChange(confirmed: boolean): void;
  disabled?: boolean;
}) {
  const flagged = flaggedOrders(check);
  return (
    <Paper variant="outlined" sx={{ p: 2 }} component="section" aria-labelledby="price-check-title">
      <Stack spacing={1.5}>
        <Typography id="price-check-title" component="h2" sx={{ fontSize: 18, fontWeight: 600 }}>Price check</Typography>
        <TableContainer sx={{ overflowX: "auto" }}>
          <Table size="small" aria-label="Price check" sx={{ minWidth: 560 }}>
            <TableHead>
              <TableRow>
                <TableCell>Order</TableCell>
                <TableCell align="right">Customer paid</TableCell>
                <TableCell align="right">Cost (USD)</TableCell>
                <TableCell align="right">Margin (USD)</TableCell>
                <TableCell>Check</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {check.orders.map((g) => (
                <TableRow key={g.order_id}>
                  <TableCell component="th" scope="row">{g.order_number}</TableCell>
                  <TableCell align="right">{paid(g)}</TableCell>
                  <TableCell align="right">{usd(g.cost_usd)}</TableCell>
                  <TableCell align="right" sx={{ color: g.margin_usd?.startsWith("-") ? "error.main" : undefined }}>
                    {usd(g.margin_usd)}
                  </TableCell>
                  <TableCell>
                    <Stack direction="row" sx={{ gap: 0.5, flexWrap: "wrap" }}>
                      {g.flagged ? <PriceFlags guardrail={g} /> : <Chip size="small" color="success" variant="outlined" label="OK" />}
                    </Stack>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
        <Typography color="text.secondary" sx={{ fontSize: 13 }}>
          Customer paid: the order's item prices in your store, without the store's shipping charge and without tax
          included in the prices. Cost: what the supplier is paid (product cost, shipping fee and VAT), in USD.
          {check.max_buy_price_usd ? ` Your max buy price: ${usd(check.max_buy_price_usd)} per unit.` : ""}
        </Typography>
        {flagged.length > 0 && (
          <Alert severity="warning">
            {flagged.length === 1 ? "1 order is flagged" : `${flagged.length} orders are flagged`}. Check before you pay:
            <Box component="ul" sx={{ m: 0, mt: 0.5, pl: 2 }}>
              {flagged.map((g) => <li key={g.order_id}>{g.order_number}: {g.reasons.join(" ")}</li>)}
            </Box>
            <FormControlLabel sx={{ mt: 1 }} disabled={disabled}
              control={<Checkbox required checked={confirmed} onChange={(e) => onConfirmedChange(e.target.checked)} />}
              label="Pay the flagged orders anyway" />
          </Alert>
        )}
      </Stack>
    </Paper>
  );
}
